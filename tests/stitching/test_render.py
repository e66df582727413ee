"""Rendering helpers: the lattice-interpolated pixel maps agree with the exact mapping,
within the checked tolerance, and fall back to exact maps where they would not."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, grid_for
from dronepipe.stitching.render import TOL_PX, frame_lattice, pixel_maps
from tests.stitching.synthetic import FRAME, dem_ground, pose_at, small_camera

DIST = (-0.2, 0.05, 0.001, -0.001, 0.0)


@pytest.mark.parametrize("pose_kw", [dict(alt=60.0), dict(alt=40.0, yaw_deg=130.0, pitch_deg=-35.0)])
def test_lattice_maps_match_the_exact_mapping(pose_kw: dict) -> None:
    gf = geoframe("f", pose_at(0, 0, **pose_kw), small_camera(DIST), FRAME, max_off_nadir_deg=80.0)
    g = grid_for([gf], tile=64)
    grid = MosaicGrid(g.epsg, (g.origin_m[0] - 5, g.origin_m[1] + 5), g.gsd_m, g.width + 40,
                      g.height + 40, 64)
    win = PixelWindow(0, 0, grid.height, grid.width)
    u, v, c = pixel_maps(gf, grid, win)
    ue, ve, ce = gf.map_to_pixels(*grid.cell_centres(win))
    inside = np.isfinite(ue) & (ue > -0.5) & (ue < 159.5) & (ve > -0.5) & (ve < 127.5)
    assert inside.sum() > 5000
    assert np.isfinite(u[inside]).all()  # every cell the frame sees is mapped
    assert np.max(np.hypot(u - ue, v - ve)[inside]) < 0.05  # a twentieth of a pixel
    assert np.max(np.abs(c - ce)[inside]) < 1e-3  # the directness score
    assert np.isnan(u[np.isnan(ue)]).all()  # and nothing it does not see


@pytest.mark.parametrize(("dist", "kind"), [((0.0,) * 5, "thermal"), (DIST, "thermal"),
                                            (DIST, "rgb"), ((-0.45, 0.2, 0.0, 0.0, 0.0), "thermal")])
def test_the_lattice_error_is_checked_and_bounded(dist: tuple, kind: str) -> None:
    gf = geoframe("f", pose_at(0, 0, 60.0, yaw_deg=20.0), small_camera(dist), FRAME, kind=kind)
    grid = grid_for([gf], tile=64)
    win = PixelWindow(0, 0, grid.height, grid.width)
    lat = frame_lattice(gf, grid, win)
    u, v, c = pixel_maps(gf, grid, win)
    ue, ve, ce = gf.map_to_pixels(*grid.cell_centres(win))
    w, h = gf.camera.width, gf.camera.height
    with np.errstate(invalid="ignore"):
        seen = (ue >= -0.5) & (ue <= w - 0.5) & (ve >= -0.5) & (ve <= h - 0.5)
    assert np.isfinite(u[seen]).all() and np.isnan(u[~seen & np.isnan(ue)]).all()
    err = float(np.max(np.hypot(u - ue, v - ve)[seen]))
    # every cell (not only the probes) within the tolerance the lattice was checked to
    assert err <= TOL_PX + 2e-3 and (lat.exact or lat.err_px <= TOL_PX)
    # the directness score: 1/cos^2 is interpolated, whose error is about the same for
    # every frame (see test_mosaic for the frame choice); here 4.4 m lattice cells at 60 m
    assert np.max(np.abs(c - ce)[seen]) < 2e-3
    print(f"{dist[0]} {kind}: step {lat.step}, checked {lat.err_px:.4f} px, max {err:.4f} px")


def test_a_lattice_too_coarse_for_the_terrain_falls_back() -> None:
    # relief at 6 m wavelength
    ground = dem_ground(80.0, 0.5, lambda de, dn: 6.0 * np.sin(de) * np.cos(dn))
    gf = geoframe("f", pose_at(0, 0, 60.0), small_camera(DIST), FRAME, ground=ground)
    grid = grid_for([gf], tile=64)
    win = PixelWindow(0, 0, grid.height, grid.width)
    lat = frame_lattice(gf, grid, win)
    assert lat.exact and lat.err_px > TOL_PX
    u, v, _ = pixel_maps(gf, grid, win)
    ue, ve, _ = gf.map_to_pixels(*grid.cell_centres(win))
    seen = np.isfinite(u)
    assert seen.sum() > 2000 and np.max(np.hypot(u - ue, v - ve)[seen]) < 2e-3  # exact (float32)
