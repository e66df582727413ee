"""Rendering helpers: the lattice-interpolated pixel maps agree with the exact mapping."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, grid_for
from dronepipe.stitching.render import pixel_maps
from tests.stitching.synthetic import FRAME, pose_at, small_camera

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


def test_small_windows_are_exact() -> None:
    gf = geoframe("f", pose_at(0, 0, 60.0), small_camera(DIST), FRAME)
    grid = grid_for([gf], tile=64)
    win = PixelWindow(40, 40, 10, 12)
    u, v, _ = pixel_maps(gf, grid, win)
    ue, ve, _ = gf.map_to_pixels(*grid.cell_centres(win))
    assert np.array_equal(u, ue) and np.array_equal(v, ve)
