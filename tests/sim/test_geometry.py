"""Rendered frames agree with the truth geometry: a known ground point lands on the
pixel ``ground_to_pixels`` predicts from the true pose, and the RGB frames show the true
orthophoto where the pose says they look."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from PIL import Image
from scipy import ndimage

from dronepipe.sim.config import SimConfig
from dronepipe.sim.simulator import SimResult
from dronepipe.stitching.georef import (
    CameraPose,
    FlatGround,
    ground_to_pixels,
    pixels_to_ground,
)
from tests.sim.conftest import out


def _truth_pose(row: dict, height: str = "alt_rel_m") -> CameraPose:
    r = np.array([[row[f"r{i}{j}"] for j in range(3)] for i in range(3)])
    return CameraPose(np.array([row["easting_m"], row["northing_m"], row[height]]), r)


def _celsius(path: str) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64) / 100.0 - 273.15


def _blob_centroid(img: np.ndarray, u: float, v: float, radius: int) -> tuple[float, float] | None:
    """Centroid of the excess temperature over the surrounding ring, near (u, v)."""
    ui, vi = int(round(u)), int(round(v))
    r_out = radius + 6
    if not (r_out <= ui < img.shape[1] - r_out and r_out <= vi < img.shape[0] - r_out):
        return None
    win = img[vi - r_out:vi + r_out + 1, ui - r_out:ui + r_out + 1]
    yy, xx = np.mgrid[-r_out:r_out + 1, -r_out:r_out + 1]
    ring = np.hypot(xx, yy) > radius + 2
    excess = np.clip(win - np.median(win[ring]) - 5.0, 0.0, None)
    excess[np.hypot(xx, yy) > radius] = 0.0
    lab, _ = ndimage.label(excess > 0)
    keep = lab == lab[r_out, r_out] if lab[r_out, r_out] else excess > 0
    cy, cx = ndimage.center_of_mass(np.where(keep, excess, 0.0))
    return ui - r_out + cx, vi - r_out + cy


def _ground_height(root, e: float, n: float) -> float:
    """Ground height: the DEM's (MSL) where the flight has terrain, else 0 (take-off)."""
    if not (root / "truth/dem.tif").exists():
        return 0.0
    with rasterio.open(root / "truth/dem.tif") as ds:
        col, row = ~ds.transform @ (e, n)
        z = ds.read(1)
        c0, r0 = int(np.floor(col - 0.5)), int(np.floor(row - 0.5))
        fc, fr = col - 0.5 - c0, row - 0.5 - r0
        return float((z[r0, c0] * (1 - fc) + z[r0, c0 + 1] * fc) * (1 - fr)
                     + (z[r0 + 1, c0] * (1 - fc) + z[r0 + 1, c0 + 1] * fc) * fr)


@pytest.mark.parametrize("flight", ["exact_flight", "terrain_flight", "oblique_flight"])
def test_hot_objects_land_on_the_predicted_pixel(flight: str, request: pytest.FixtureRequest) -> None:
    cfg, res = request.getfixturevalue(flight)
    root = out(res)
    every = [f["properties"] for f in json.loads((root / "truth/hotspots.geojson").read_text())["features"]]
    hot = [h for h in every if h["class"] == "ember_nest" and all(  # clear of other hot objects
        np.hypot(h["easting_m"] - o["easting_m"], h["northing_m"] - o["northing_m"]) > 4.0
        for o in every if o is not h)]
    rows = [r for r in json.loads((root / "truth/poses.json").read_text())["frames"]
            if r["camera"] == "thermal"]
    cam = cfg.thermal.camera_model
    height = "alt_msl_m" if cfg.terrain else "alt_rel_m"
    errors = []
    for row in rows:
        img = _celsius(str(root / row["file"]))
        pose = _truth_pose(row, height)
        for h in hot:
            z = _ground_height(root, h["easting_m"], h["northing_m"])
            u, v = ground_to_pixels(pose, cam, np.array([h["easting_m"], h["northing_m"], z]))
            radius = int(np.ceil(np.sqrt(h["area_m2"] / np.pi) / 0.045)) + 3
            found = _blob_centroid(img, float(u), float(v), radius)
            if found is not None:
                errors.append(np.hypot(found[0] - float(u), found[1] - float(v)))
    assert len(errors) >= 4
    # sub-pixel with exact telemetry (ellipses rasterised on a 5 cm world, blurred by the optics)
    assert np.median(errors) < 0.2
    assert max(errors) < 1.0


def test_rgb_frames_show_the_true_orthophoto_where_the_pose_looks(
        exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    root = out(res)
    assert cfg.rgb is not None
    cam = cfg.rgb.camera_model
    row = next(r for r in json.loads((root / "truth/poses.json").read_text())["frames"]
               if r["camera"] == "rgb" and r["index"] == 3)
    img = np.asarray(Image.open(root / row["file"]).convert("L"), dtype=np.float64)
    u, v = np.meshgrid(np.arange(20, cam.width - 20, 3.0), np.arange(20, cam.height - 20, 3.0))
    pts = pixels_to_ground(_truth_pose(row), cam, u, v, FlatGround(0.0))
    with rasterio.open(root / "truth/ortho_rgb.tif") as ds:
        ortho = ds.read().mean(axis=0)
        rc = np.array([ds.index(e, n) for e, n in zip(pts[..., 0].ravel(), pts[..., 1].ravel())])
    truth_grey = ortho[rc[:, 0], rc[:, 1]]
    seen = img[v.astype(int).ravel(), u.astype(int).ravel()]
    assert np.corrcoef(truth_grey, seen)[0, 1] > 0.85
    # one pixel of misplacement would already lower it: compare with a shifted lookup
    shifted = img[v.astype(int).ravel(), (u + 6).astype(int).ravel()]
    assert np.corrcoef(truth_grey, seen)[0, 1] > np.corrcoef(truth_grey, shifted)[0, 1] + 0.1


def test_footprints_tile_the_survey_with_the_planned_overlap(
        exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    meta = json.loads((out(res) / "truth/flight.json").read_text())
    across = cfg.thermal.width / cfg.thermal.camera_model.fx * cfg.height_m
    along = cfg.thermal.height / cfg.thermal.camera_model.fy * cfg.height_m
    assert meta["trigger_dist_m"] == pytest.approx(along * (1 - cfg.forward_overlap), rel=1e-3)
    assert meta["line_spacing_m"] == pytest.approx(across * (1 - cfg.side_overlap), rel=1e-3)
    rows = [r for r in json.loads((out(res) / "truth/poses.json").read_text())["frames"]
            if r["camera"] == "thermal"]
    centres = np.array([(r["easting_m"], r["northing_m"]) for r in rows])
    steps = np.hypot(*np.diff(centres, axis=0).T)
    same_line = steps < 1.5 * meta["trigger_dist_m"]
    assert np.count_nonzero(same_line) >= 3
    # triggers are exactly one trigger distance apart; the camera centre moves a few cm
    # more or less with the vehicle's pitch (lever arm) while it accelerates on a line
    assert steps[same_line] == pytest.approx(meta["trigger_dist_m"], abs=0.05)
