"""The truth beside a simulated flight (``OUT_DIR/truth/``).

- ``poses.json`` / ``poses.csv``: per frame and camera, the true exposure time, camera
  centre (grid easting/northing in the flight's UTM zone, height above take-off and
  MSL, WGS84 lat/lon), the rotation ``R_grid_from_cam`` (OpenCV camera axes to grid
  east-north-up), and the true vehicle and gimbal attitude (degrees; yaw against true
  north, gimbal in the earth frame);
- ``hotspots.geojson``: RFC 7946 points (WGS84 lon/lat) with ``class``, ``target``,
  ``temperature_c`` (maximum), ``mean_temperature_c``, ``area_m2``, ``easting_m``,
  ``northing_m``, ``epsg``, ``mgrs``, ``hidden``, ``seen_in_frames`` (thermal frames
  whose image holds the centre) and ``saturated`` (hotter than a TLinear camera reads);
- ``ortho_rgb.tif`` (uint8 RGB, JPEG-compressed) and ``temperature.tif`` (float32
  degrees C, the band-radiance mean over each cell converted back, rounded to 1/128 K):
  GeoTIFFs in the
  flight's UTM zone at ``truth_cell_m``; ``dem.tif`` (float32, metres above mean sea
  level, 1 m) where the world has terrain;
- ``flight.json``: the configuration, the flight's times and error realisation.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray

from dronepipe.geodesy import UtmFrame, mgrs_of
from dronepipe.sim.files import write_atomic, write_json
from dronepipe.sim.grid import RasterGrid
from dronepipe.sim.hotspots import TrueHotspot
from dronepipe.sim.render import TLINEAR_MAX_C
from dronepipe.sim.world import World

TEMP_STEPS_PER_K = 128  # truth temperatures are exact to 1/256 K


def _geotiff(path: Path, bands: NDArray, grid: RasterGrid, epsg: int, tags: dict[str, str],
             **profile: Any) -> None:
    arr = bands if bands.ndim == 3 else bands[None]
    tmp = path.with_name(path.name + ".tmp")
    prof = dict(driver="GTiff", width=grid.width, height=grid.height, count=arr.shape[0],
                dtype=arr.dtype, crs=f"EPSG:{epsg}", transform=grid.transform, tiled=True,
                blockxsize=256, blockysize=256, **profile)
    with rasterio.open(tmp, "w", **prof) as ds:
        ds.write(arr)
        ds.update_tags(**tags)
    os.replace(tmp, path)


def truth_rasters(world: World, cell_m: float) -> tuple[RasterGrid, NDArray[np.uint8], NDArray[np.float32]]:
    """The true orthophoto and temperature map at ``cell_m`` (a multiple of the world cell)."""
    f = int(round(cell_m / world.grid.cell_m))
    g = world.grid.coarsened(f)
    rgb = world.rgb[: g.height * f, : g.width * f]
    rad = world.radiance[: g.height * f, : g.width * f]
    if f > 1:
        rgb = cv2.resize(rgb, (g.width, g.height), interpolation=cv2.INTER_AREA)
        rad = cv2.resize(rad, (g.width, g.height), interpolation=cv2.INTER_AREA)
    return g, rgb, world.table.temperature(rad)


def write_truth_rasters(out: Path, world: World, cell_m: float) -> dict[str, str]:
    """ortho_rgb.tif, temperature.tif and (with terrain) dem.tif; returns their names."""
    g, rgb, temp = truth_rasters(world, cell_m)
    common = {"GSD_M": f"{cell_m:g}", "SOURCE": "dronepipe.sim truth"}
    _geotiff(out / "ortho_rgb.tif", np.moveaxis(rgb, -1, 0), g, world.epsg,
             {**common, "UNITS": "sRGB"}, compress="JPEG", photometric="YCBCR", jpeg_quality=92)
    quantised = (np.round(temp.astype(np.float64) * TEMP_STEPS_PER_K) / TEMP_STEPS_PER_K).astype(np.float32)
    _geotiff(out / "temperature.tif", quantised, g, world.epsg,
             {**common, "UNITS": "degrees Celsius",
              "NOTE": "band-radiance (8-14 um) mean per cell, as a camera at this GSD would read "
                      "it without saturation; rounded to 1/128 K (compresses to half)"},
             compress="DEFLATE", predictor=3, nodata=float("nan"))
    names = {"ortho_rgb": "ortho_rgb.tif", "temperature": "temperature.tif"}
    if world.dem is not None and world.dem_grid is not None:
        _geotiff(out / "dem.tif", world.dem.heights_m.astype(np.float32), world.dem_grid, world.epsg,
                 {"UNITS": "metres above mean sea level", "VERTICAL_DATUM": "MSL"},
                 compress="DEFLATE", predictor=3)
        names["dem"] = "dem.tif"
    return names


def hotspots_geojson(hot: Sequence[TrueHotspot], frame: UtmFrame,
                     seen: Sequence[int]) -> dict[str, Any]:
    """The true hot objects as an RFC 7946 FeatureCollection (WGS84 points)."""
    feats = []
    for h, n in zip(hot, seen, strict=True):
        lon, lat = frame.to_lonlat(h.easting_m, h.northing_m)
        feats.append({"type": "Feature", "id": h.id,
                      "geometry": {"type": "Point",
                                   "coordinates": [round(float(lon), 8), round(float(lat), 8)]},
                      "properties": {
                          "id": h.id, "class": h.cls, "target": h.target,
                          "temperature_c": round(h.max_temp_c, 2),
                          "mean_temperature_c": round(h.mean_temp_c, 2),
                          "area_m2": round(h.area_m2, 3),
                          "easting_m": round(h.easting_m, 3), "northing_m": round(h.northing_m, 3),
                          "epsg": frame.epsg, "mgrs": mgrs_of(float(lat), float(lon)),
                          "hidden": h.hidden, "seen_in_frames": int(n),
                          "saturated": h.max_temp_c > TLINEAR_MAX_C}})
    return {"type": "FeatureCollection", "features": feats}


def poses_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """CSV of flat per-frame-and-camera rows (columns from the first row)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def pose_record(cam_name: str, file: str, t_exposure_utc_s: float, centre_m: NDArray,
                r_grid_cam: NDArray, lat: float, lon: float, alt_msl_m: float,
                alt_rel_m: float, vehicle_rpy: Sequence[float], gimbal_rpy: Sequence[float]) -> dict[str, Any]:
    """One flat truth row for a frame of one camera (angles in degrees)."""
    rec: dict[str, Any] = {
        "camera": cam_name, "file": file, "t_exposure_utc_s": round(t_exposure_utc_s, 6),
        "easting_m": round(float(centre_m[0]), 4), "northing_m": round(float(centre_m[1]), 4),
        "alt_msl_m": round(alt_msl_m, 4), "alt_rel_m": round(alt_rel_m, 4),
        "lat_deg": round(lat, 9), "lon_deg": round(lon, 9)}
    for k, v in zip(("roll_deg", "pitch_deg", "yaw_deg"), vehicle_rpy, strict=True):
        rec["vehicle_" + k] = round(math.degrees(v), 5)
    for k, v in zip(("roll_deg", "pitch_deg", "yaw_deg"), gimbal_rpy, strict=True):
        rec["gimbal_" + k] = round(math.degrees(v), 5)
    for i in range(3):
        for j in range(3):
            rec[f"r{i}{j}"] = round(float(r_grid_cam[i, j]), 9)
    return rec


def write_truth_tables(out: Path, rows: Sequence[dict[str, Any]], extra: dict[str, Any]) -> None:
    """poses.csv and poses.json (rows plus the extra header fields)."""
    write_atomic(out / "poses.csv", poses_csv(rows))
    write_json(out / "poses.json", {**extra, "frames": list(rows)})
