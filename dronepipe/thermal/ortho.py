"""Hotspots on a thermal orthomosaic (GeoTIFF, degrees C): ``detect_in_mosaic``.

The mosaic is read tile by tile (a large raster never sits in memory whole); each
tile is read with a halo of twice the context window so that the local background
and objects on tile seams are seen whole, and a detection belongs to the tile whose
core holds its centroid. All detections then go through the ``HotspotTracker`` as
one "frame" (one to one: each becomes a hotspot), which places them on the map and
numbers them, hottest class first. ``hotspots_from_ortho`` also writes the products.

The raster must be north-up in a projected grid in metres (the flight's UTM zone).
Tags written by ``outputs.cog`` are honoured: ``RADIOMETRIC`` (false: relative values
only) and ``TIME_START_UTC``/``TIME_END_UTC`` (the flight's time span).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.windows import Window

from dronepipe.errors import DronepipeError
from dronepipe.outputs.hotspot_products import HotspotProducts, write_hotspot_products
from dronepipe.outputs.report import ReportContext
from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.detection import Detection, DetectionConfig
from dronepipe.thermal.hotspot import Hotspot
from dronepipe.thermal.track import HotspotTracker, TrackerConfig, affine_pixel_to_map

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
Bounds = tuple[float, float, float, float]  # west, south, east, north (grid metres)


@dataclass(frozen=True, eq=False)
class MosaicHotspots:
    """The hotspots of one orthomosaic and what a report needs to show them.

    ``gsd_m``: pixel size (metres); ``bounds_m``: the raster's extent in grid ``epsg``;
    ``t_start_utc_s``/``t_end_utc_s``: the flight's span from the tags (or None);
    ``overview_c``: the mosaic downsampled (degrees C, NaN = no data) with
    ``overview_transform`` (its pixel corners to grid metres).
    """

    source: Path
    hotspots: tuple[Hotspot, ...]
    epsg: int
    gsd_m: float
    radiometric: bool
    bounds_m: Bounds
    t_start_utc_s: float | None
    t_end_utc_s: float | None
    overview_c: NDArray[np.float32]
    overview_transform: Affine
    n_tiles: int


@dataclass(frozen=True)
class _Raster:
    """What detection needs to know about the open raster."""

    epsg: int
    transform: Affine
    gsd_m: float
    width: int
    height: int
    radiometric: bool
    t_start_utc_s: float | None
    t_end_utc_s: float | None


def detect_in_mosaic(path: str | Path, config: DetectionConfig = DetectionConfig(), *,
                     radiometric: bool | None = None, position_sigma_m: float = 1.0,
                     tile_px: int = 2048, overview_px: int = 1600,
                     progress: Progress | None = None) -> MosaicHotspots:
    """Detect hotspots on a thermal orthomosaic GeoTIFF (band 1, degrees C).

    ``radiometric`` overrides the file's ``RADIOMETRIC`` tag (default: the tag, else
    True for float rasters); ``position_sigma_m`` is the mosaic's one-sigma placement
    error (metres); ``tile_px`` the tile side; ``overview_px`` the long side of the
    overview kept for reports; ``progress(stage, done, total)`` is told per tile.
    """
    path = Path(path)
    with _open(path) as src:
        info = _describe(src, path, radiometric)
        dets: list[Detection] = []
        windows = list(_tiles(info, tile_px, _halo_px(config, info.gsd_m)))
        for k, (win, core) in enumerate(windows):
            data = src.read(1, window=win, masked=True).astype(np.float32).filled(np.nan)
            dets += _in_core(detect_hotspots(data, info.gsd_m, info.radiometric, config),
                             win, core)
            if progress is not None:
                progress("hotspots", k + 1, len(windows))
        overview, ov_transform = read_overview(src, overview_px)
    dets.sort(key=lambda d: (-d.kind.precedence, -d.max_c))
    tracker = HotspotTracker(info.epsg, TrackerConfig(min_gate_m=0.0))
    tracker.update(path.name, None, dets, affine_pixel_to_map(info.transform), info.gsd_m,
                   position_sigma_m)
    t = info.transform
    bounds = (t.c, t.f + t.e * info.height, t.c + t.a * info.width, t.f)
    log.info("%s: %d hotspots in %d tiles", path, len(tracker), len(windows))
    return MosaicHotspots(path, tuple(tracker.hotspots()), info.epsg, info.gsd_m,
                          info.radiometric, bounds, info.t_start_utc_s, info.t_end_utc_s,
                          overview, ov_transform, len(windows))


def _open(path: Path) -> rasterio.DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DronepipeError(f"{path}: cannot be read as a raster ({exc})") from exc


def _describe(src: rasterio.DatasetReader, path: Path, radiometric: bool | None) -> _Raster:
    """Check the raster is a north-up projected grid in metres and read its tags."""
    crs, t = src.crs, src.transform
    if crs is None or not crs.is_projected or crs.to_epsg() is None:
        raise DronepipeError(f"{path}: needs a projected map grid with an EPSG code "
                             f"(the flight's UTM zone), found {crs}")
    if abs(t.b) > 1e-9 or abs(t.d) > 1e-9 or t.a <= 0 or t.e >= 0:
        raise DronepipeError(f"{path}: the raster must be north-up (no rotation)")
    tags = src.tags()
    if radiometric is None:
        flag = tags.get("RADIOMETRIC", "").strip().lower()
        radiometric = flag != "false" if flag else np.dtype(src.dtypes[0]).kind == "f"
    if not radiometric:
        log.warning("%s: non-radiometric (relative values only): contextual test only", path)
    return _Raster(int(crs.to_epsg()), t, math.sqrt(abs(t.a * t.e)), src.width, src.height,
                   bool(radiometric), _tag_time(tags, "TIME_START_UTC"),
                   _tag_time(tags, "TIME_END_UTC"))


def _tag_time(tags: dict[str, str], key: str) -> float | None:
    text = tags.get(key)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        log.warning("tag %s=%r is not an ISO 8601 time; ignored", key, text)
        return None


def _halo_px(config: DetectionConfig, gsd_m: float) -> int:
    return math.ceil(2.0 * config.context_window_m / gsd_m) + 16


def _tiles(info: _Raster, tile_px: int, halo: int) -> Iterator[tuple[Window, Window]]:
    """(read window with halo, core window) pairs covering the raster."""
    for r0 in range(0, info.height, tile_px):
        for c0 in range(0, info.width, tile_px):
            core = Window(c0, r0, min(tile_px, info.width - c0), min(tile_px, info.height - r0))
            wr0, wc0 = max(0, r0 - halo), max(0, c0 - halo)
            wr1 = min(info.height, r0 + core.height + halo)
            wc1 = min(info.width, c0 + core.width + halo)
            yield Window(wc0, wr0, wc1 - wc0, wr1 - wr0), core


def _in_core(dets: list[Detection], win: Window, core: Window) -> list[Detection]:
    """Detections whose centroid lies in the core, shifted to raster pixel coordinates."""
    out = []
    for d in dets:
        u, v = d.centroid_px[0] + win.col_off, d.centroid_px[1] + win.row_off
        if core.col_off - 0.5 <= u < core.col_off + core.width - 0.5 and \
                core.row_off - 0.5 <= v < core.row_off + core.height - 0.5:
            contour = d.contour_px + (win.col_off, win.row_off)
            contour.flags.writeable = False
            out.append(replace(d, centroid_px=(u, v), contour_px=contour))
    return out


def read_overview(src: rasterio.DatasetReader, side_px: int) -> tuple[NDArray[np.float32], Affine]:
    """The raster downsampled to at most ``side_px`` on its long side (average of valid
    pixels), and the transform of the downsampled pixels."""
    s = min(1.0, side_px / max(src.width, src.height))
    w, h = max(1, round(src.width * s)), max(1, round(src.height * s))
    data = src.read(1, out_shape=(h, w), masked=True, resampling=Resampling.average)
    arr = np.asarray(data.astype(np.float32).filled(np.nan), dtype=np.float32)
    arr.flags.writeable = False
    return arr, src.transform @ Affine.scale(src.width / w, src.height / h)


@dataclass(frozen=True, eq=False)
class OrthoHotspots:
    """What ``dronepipe hotspots`` did: the detection result and the files written."""

    mosaic: MosaicHotspots
    products: HotspotProducts


def hotspots_from_ortho(path: str | Path, out_dir: str | Path,
                        config: DetectionConfig = DetectionConfig(), *,
                        radiometric: bool | None = None, position_sigma_m: float = 1.0,
                        tile_px: int = 2048, progress: Progress | None = None) -> OrthoHotspots:
    """Detect hotspots on an orthomosaic and write the products into ``out_dir``
    (GeoJSON, CSV, KMZ, CoT, report.html; see ``outputs.hotspot_products``)."""
    path = Path(path)
    mosaic = detect_in_mosaic(path, config, radiometric=radiometric,
                              position_sigma_m=position_sigma_m, tile_px=tile_px,
                              progress=progress)
    ctx = ReportContext(
        source=path.name, radiometric=mosaic.radiometric, t_start_utc_s=mosaic.t_start_utc_s,
        t_end_utc_s=mosaic.t_end_utc_s, epsg=mosaic.epsg, bounds_m=mosaic.bounds_m,
        overview_c=mosaic.overview_c, overview_transform=mosaic.overview_transform,
        notes=((f"Detected on the orthomosaic ({mosaic.gsd_m:.2f} m per pixel); each hotspot "
                "counts one frame and has no time of its own."),))
    products = write_hotspot_products(out_dir, mosaic.hotspots, ctx,
                                      uid_prefix=f"dronepipe.{path.stem}")
    return OrthoHotspots(mosaic, products)
