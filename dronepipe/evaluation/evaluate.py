"""``evaluate(result_dir, truth_dir)``: how good is a processed flight, by the truth?

Products read from ``result_dir`` (as ``dronepipe process`` writes them; each optional):
``ortho_rgb.tif`` (uint8 RGB with alpha), ``ortho_thermal.tif`` (float32 degrees C,
NaN where no frame saw the ground), ``hotspots.geojson`` (RFC 7946 points with a
``class`` property). Truth read from ``truth_dir`` (a simulated flight's ``truth/``, or
the flight folder holding it): ``ortho_rgb.tif``, ``temperature.tif``,
``hotspots.geojson``.

- ``mosaic_rmse_m``: robust RMSE of the displacement of the RGB mosaic (the thermal one
  where there is no RGB) against the true orthophoto, over windows registered on a
  lattice (``registration.py``); per mosaic also the number of windows used, the median
  displacement, its 90th percentile, the RMSE about the median (the spread: what the
  block's shape gets wrong, whatever its position) and, where the truth records the
  flight's realised mean GNSS error at the exposures (a simulated ``flight.json``), the
  RMSE after removing that mean (what is left once the one error that no processing can
  remove without ground control is taken out);
- ``temperature_mae_c``: median absolute temperature error of the thermal mosaic on
  0.5 m cells away from hot objects and edges, after undoing the measured displacement
  (``temperature.py``);
- hotspot recall, precision, position error (median, 90th percentile) and false
  alarms per hectare of the thermal mosaic's covered area, matched one to one within
  ``match_radius_m`` (``hotspots.py``); ``recall_target_set``: the recall of the
  targets issue 5 sets the figure for (``target_class`` of at least ``target_min_area_m2``
  at ``target_min_c`` and more: ember nests of 0.25 m2 at 60 C).

A product or truth file that is missing gives ``None`` for its numbers.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from dronepipe.errors import DronepipeError
from dronepipe.evaluation.hotspots import (
    HotspotScore,
    match,
    read_points,
    subset_recall,
)
from dronepipe.evaluation.rasters import common_grid, raster_info, read_band, read_grey
from dronepipe.evaluation.registration import Displacements, register_windows
from dronepipe.evaluation.temperature import TemperatureError, temperature_error
from dronepipe.geodesy import UtmFrame

log = logging.getLogger(__name__)
THERMAL_CLIP_C = (-20.0, 60.0)   # hot objects would dominate a registration window


@dataclass(frozen=True)
class EvalConfig:
    """``match_radius_m``: hotspot matching distance. ``registration_cell_m``: grid of the
    mosaic registration (default: the coarser of mosaic and truth). ``window_px`` and
    ``step_px``: registration windows. ``temperature_cell_m``, ``hotspot_exclusion_m``,
    ``edge_k_per_m``: temperature comparison (see ``temperature.py``). ``min_area_m2``:
    true targets smaller than this do not count for recall. ``target_class``,
    ``target_min_area_m2`` (m2), ``target_min_c`` (degrees C): the target set of
    ``recall_target_set``."""

    match_radius_m: float = 5.0
    registration_cell_m: float | None = None
    window_px: int = 48
    step_px: int = 32
    temperature_cell_m: float = 0.5
    hotspot_exclusion_m: float = 3.0
    edge_k_per_m: float = 4.0
    min_area_m2: float = 0.0
    target_class: str = "ember_nest"
    target_min_area_m2: float = 0.25
    target_min_c: float = 60.0


@dataclass(frozen=True)
class Evaluation:
    """The headline numbers (None where a product or the truth is missing) and details."""

    mosaic_rmse_m: float | None
    temperature_mae_c: float | None
    hotspot_recall: float | None
    hotspot_precision: float | None
    hotspot_error_p50_m: float | None
    hotspot_error_p90_m: float | None
    false_alarms_per_ha: float | None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """One flat JSON-ready object: the headline keys first, then the details."""
        head = {k: getattr(self, k) for k in (
            "mosaic_rmse_m", "temperature_mae_c", "hotspot_recall", "hotspot_precision",
            "hotspot_error_p50_m", "hotspot_error_p90_m", "false_alarms_per_ha")}
        return {**head, **self.details}


def _truth_dir(path: Path) -> Path:
    if (path / "truth").is_dir() and not (path / "hotspots.geojson").exists():
        return path / "truth"
    return path


def _file(folder: Path, name: str) -> Path | None:
    p = folder / name
    return p if p.is_file() else None


def _frame(truth: Path) -> UtmFrame | None:
    meta = _file(truth, "flight.json")
    if meta is not None:
        return UtmFrame(int(json.loads(meta.read_text(encoding="utf-8"))["epsg"]))
    for name in ("temperature.tif", "ortho_rgb.tif"):
        p = _file(truth, name)
        if p is not None:
            epsg = raster_info(p).crs.to_epsg()
            if epsg:
                return UtmFrame(int(epsg))
    return None


def mosaic_displacement(product: Path, truth: Path, cfg: EvalConfig, thermal: bool) -> Displacements | None:
    """Window displacements of a mosaic against its truth raster (None: no overlap)."""
    p, t = raster_info(product), raster_info(truth)
    cell = cfg.registration_cell_m or max(p.cell_m, t.cell_m)
    grid = common_grid(p, t, cell, t.crs)
    if grid is None:
        log.warning("%s does not overlap %s", product, truth)
        return None
    if thermal:
        a = np.clip(read_band(truth, 1, grid), *THERMAL_CLIP_C)
        b = np.clip(read_band(product, 1, grid), *THERMAL_CLIP_C)
    else:
        a, b = read_grey(truth, grid), read_grey(product, grid)
    return register_windows(a, b, cell, cfg.window_px, cfg.step_px)


def _summary(d: Displacements | None, gnss_mean_m: tuple[float, float] | None) -> dict[str, Any]:
    if d is None:
        return {"rmse_m": None, "points": 0, "tried": 0, "median_shift_m": None, "p90_m": None,
                "rmse_about_median_m": None, "rmse_minus_gnss_mean_m": None}
    med = d.median_m()
    return {"rmse_m": _r(d.rmse_m()), "points": d.points, "tried": d.tried,
            "median_shift_m": None if med is None else [_r(med[0]), _r(med[1])],
            "p90_m": _r(d.quantile_m(0.9)),
            "rmse_about_median_m": _r(d.rmse_m(med)) if med is not None else None,
            "rmse_minus_gnss_mean_m": _r(d.rmse_m(gnss_mean_m)) if gnss_mean_m else None}


def gnss_mean_m(truth: Path) -> tuple[float, float] | None:
    """The flight's realised mean GNSS error (east, north metres) at the exposures, where
    the truth records it (a simulated flight's ``flight.json``)."""
    meta = _file(truth, "flight.json")
    if meta is None:
        return None
    try:
        enu = json.loads(meta.read_text(encoding="utf-8"))["errors_realised"][
            "gnss_mean_at_exposures_enu_m"]
        return float(enu[0]), float(enu[1])
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def _r(v: float | None, nd: int = 4) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), nd) + 0.0


def covered_area_ha(thermal: Path | None, rgb: Path | None) -> float | None:
    """Area (ha) where the thermal mosaic has data (else where the RGB one has)."""
    for path, is_thermal in ((thermal, True), (rgb, False)):
        if path is None:
            continue
        with rasterio.open(path) as ds:
            cell = abs(ds.transform.a * ds.transform.e)
            if is_thermal:
                valid = np.isfinite(ds.read(1))
            else:
                valid = ds.read(4) > 0 if ds.count >= 4 else ds.read_masks(1) > 0
        return float(np.count_nonzero(valid)) * cell / 1e4
    return None


def evaluate(result_dir: Path | str, truth_dir: Path | str,
             config: EvalConfig = EvalConfig()) -> Evaluation:
    """Compare the products in ``result_dir`` with the truth (see the module docstring)."""
    res, truth = Path(result_dir), _truth_dir(Path(truth_dir))
    if not truth.is_dir():
        raise DronepipeError(f"{truth}: no truth folder")
    rgb, thermal = _file(res, "ortho_rgb.tif"), _file(res, "ortho_thermal.tif")
    t_rgb, t_temp = _file(truth, "ortho_rgb.tif"), _file(truth, "temperature.tif")
    d_rgb = mosaic_displacement(rgb, t_rgb, config, False) if rgb and t_rgb else None
    d_th = mosaic_displacement(thermal, t_temp, config, True) if thermal and t_temp else None
    frame = _frame(truth)
    t_hot, hot = _file(truth, "hotspots.geojson"), []
    if t_hot is not None and frame is not None:
        hot = read_points(t_hot, frame)
    temp = TemperatureError(None, None, 0)
    if thermal and t_temp:
        shift = next((d.median_m() for d in (d_th, d_rgb) if d is not None and d.points), None)
        grid = common_grid(raster_info(thermal), raster_info(t_temp), raster_info(t_temp).cell_m,
                           raster_info(t_temp).crs)
        if grid is not None:
            temp = temperature_error(thermal, t_temp, grid, config.temperature_cell_m,
                                     [(h.easting_m, h.northing_m, h.area_m2) for h in hot],
                                     shift or (0.0, 0.0), config.hotspot_exclusion_m,
                                     config.edge_k_per_m)
    score, area = _hotspots(res, hot, t_hot, frame, config, thermal, rgb)
    main = d_rgb if d_rgb is not None and d_rgb.points else d_th
    gnss = gnss_mean_m(truth)
    details = {"mosaic_points": main.points if main is not None else 0,
               "mosaic_rgb": _summary(d_rgb, gnss), "mosaic_thermal": _summary(d_th, gnss),
               "gnss_mean_m": None if gnss is None else [_r(gnss[0]), _r(gnss[1])],
               "temperature_bias_c": _r(temp.bias_c), "temperature_cells": temp.cells,
               "covered_area_ha": _r(area), "match_radius_m": config.match_radius_m}
    if score is not None:
        details.update({"hotspots_true": score.true_targets, "hotspots_detected": score.detections,
                        "hotspots_matched": score.matched_targets,
                        "false_alarms": score.false_alarms,
                        "hotspot_recall_by_class": {k: _r(v) for k, v in score.recall_by_class.items()}})
        hit, total = subset_recall(hot, score, config.target_class, config.target_min_area_m2,
                                   config.target_min_c)
        details.update({"recall_target_set": _r(hit / total) if total else None,
                        "target_set": {"class": config.target_class,
                                       "min_area_m2": config.target_min_area_m2,
                                       "min_c": config.target_min_c, "true": total,
                                       "matched": hit}})
    far = (score.false_alarms / area if score is not None and area else None)
    return Evaluation(
        _r(main.rmse_m()) if main is not None else None, _r(temp.mae_c),
        _r(score.recall) if score else None, _r(score.precision) if score else None,
        _r(score.error_quantile_m(0.5)) if score else None,
        _r(score.error_quantile_m(0.9)) if score else None, _r(far), details)


def _hotspots(res: Path, hot: list, t_hot: Path | None, frame: UtmFrame | None, cfg: EvalConfig,
              thermal: Path | None, rgb: Path | None) -> tuple[HotspotScore | None, float | None]:
    area = covered_area_ha(thermal, rgb)
    found = _file(res, "hotspots.geojson")
    if found is None or t_hot is None or frame is None:
        return None, area
    return match(hot, read_points(found, frame), cfg.match_radius_m, cfg.min_area_m2), area
