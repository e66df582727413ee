"""A small simulated truth, and 'processed results' made from it: the truth itself,
or copies displaced by known amounts (until ``dronepipe process`` exists)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from dronepipe.geodesy import UtmFrame
from dronepipe.sim import ErrorConfig, HotspotCounts, SimConfig, simulate


@pytest.fixture(scope="session")
def truth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SimConfig(seed=21, frames=6, height_m=40.0, rgb=None, video_s=0.0, truth_cell_m=0.1,
                    errors=ErrorConfig.none(), hotspots=HotspotCounts(1, 3, 1, 1))
    return Path(simulate(cfg, tmp_path_factory.mktemp("evaltruth")).out_dir) / "truth"


def make_result(truth: Path, out: Path, shift_m: tuple[float, float] = (0.0, 0.0),
                hotspot_shift_m: tuple[float, float] | None = None, rgb: bool = True,
                thermal: bool = True, hotspots: bool = True,
                extra_detections: list[tuple[float, float]] = ()) -> Path:
    """Products as ``dronepipe process`` writes them, from the truth displaced by
    ``shift_m`` (east, north metres): ortho_rgb.tif (RGB + alpha), ortho_thermal.tif
    (float32 C, NaN nodata), hotspots.geojson (points with ``class``)."""
    out.mkdir(parents=True, exist_ok=True)
    dx, dy = shift_m
    pairs = [("ortho_rgb.tif", "ortho_rgb.tif", True)] if rgb else []
    pairs += [("temperature.tif", "ortho_thermal.tif", False)] if thermal else []
    for src, dst, is_rgb in pairs:
        with rasterio.open(truth / src) as ds:
            prof, data = ds.profile, ds.read()
        t = prof["transform"]
        prof["transform"] = Affine(t.a, t.b, t.c + dx, t.d, t.e, t.f + dy)
        if is_rgb:
            prof.update(count=4, compress="deflate", photometric="RGB")
            prof.pop("jpeg_quality", None)
            alpha = np.full((1, *data.shape[1:]), 255, np.uint8)
            alpha[:, :40, :] = 0                       # a strip without data
            data = np.concatenate([data, alpha])
        else:
            data[:, :40, :] = np.nan
        with rasterio.open(out / dst, "w", **prof) as ds:
            ds.write(data)
    if hotspots:
        hx, hy = hotspot_shift_m if hotspot_shift_m is not None else shift_m
        frame = UtmFrame(int(json.loads((truth / "flight.json").read_text())["epsg"]))
        feats = []
        for f in json.loads((truth / "hotspots.geojson").read_text())["features"]:
            p = f["properties"]
            lon, lat = frame.to_lonlat(p["easting_m"] + hx, p["northing_m"] + hy)
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                          "properties": {"class": p["class"]}})
        for e, n in extra_detections:
            lon, lat = frame.to_lonlat(e, n)
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                          "properties": {"class": "ember_nest"}})
        (out / "hotspots.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return out
