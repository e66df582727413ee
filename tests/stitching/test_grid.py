"""MosaicGrid: extent, snapping, transform, tiles, and which tiles a footprint touches."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.errors import DronepipeError
from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, TileIndex, grid_for, intersect
from tests.stitching.synthetic import FRAME, pose_at, small_camera


def frames() -> list:
    return [geoframe(f"f{i}", pose_at(20.0 * i, 5.0 * i, 100.0 + 5 * i, yaw_deg=15 * i),
                     small_camera(), FRAME) for i in range(4)]


def test_grid_covers_every_footprint_at_the_median_gsd_snapped() -> None:
    gfs = frames()
    g = grid_for(gfs, tile=64)
    assert g.gsd_m == pytest.approx(float(np.median([f.gsd_m for f in gfs])))
    assert g.origin_m[0] / g.gsd_m == pytest.approx(round(g.origin_m[0] / g.gsd_m), abs=1e-6)
    assert g.origin_m[1] / g.gsd_m == pytest.approx(round(g.origin_m[1] / g.gsd_m), abs=1e-6)
    w, s, e, n = g.bounds_m
    for f in gfs:
        fw, fs, fe, fn = f.bounds_m
        assert w <= fw and s <= fs and e >= fe and n >= fn
    assert e - w < (max(f.bounds_m[2] for f in gfs) - min(f.bounds_m[0] for f in gfs)) + 2 * g.gsd_m
    assert g.epsg == FRAME.epsg


def test_chosen_gsd_transform_and_tiles() -> None:
    g = grid_for(frames(), gsd=0.5, tile=64)
    assert g.gsd_m == 0.5
    t = g.transform
    assert (t.a, t.e, t.c, t.f) == (0.5, -0.5, g.origin_m[0], g.origin_m[1])
    assert g.tile_rows == -(-g.height // 64) and g.tile_cols == -(-g.width // 64)
    tiles = list(g.tiles())
    assert len(tiles) == g.tile_rows * g.tile_cols and tiles[0] == TileIndex(0, 0)
    last = g.tile_window(tiles[-1])
    assert last.row0 + last.height == g.height and last.col0 + last.width == g.width
    e, n = g.cell_centres(PixelWindow(0, 0, 1, 1))
    assert (float(e[0, 0]), float(n[0, 0])) == (g.origin_m[0] + 0.25, g.origin_m[1] - 0.25)


def inside(poly: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over points."""
    res = np.zeros(x.shape, bool)
    xs, ys = poly[:, 0], poly[:, 1]
    for i in range(len(poly)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        cross = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        res ^= cross & (x < xi)
    return res


def test_tiles_touching_is_a_superset_of_the_exact_cover() -> None:
    g = MosaicGrid(32632, (0.0, 1000.0), 1.0, 1000, 1000, tile=100)
    rng = np.random.default_rng(3)
    x, y = np.meshgrid(np.arange(0.5, 1000, 1.0), np.arange(0.5, 1000, 1.0))
    for _ in range(20):
        c = rng.uniform(100, 900, 2)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        r = rng.uniform(5, 150, 7)
        poly = np.stack([c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)], -1)
        got = set(g.tiles_touching(poly))
        ins = inside(poly, x, y)
        rows = ((1000 - y[ins]) // 100).astype(int)
        cols = (x[ins] // 100).astype(int)
        exact = set(zip(rows.tolist(), cols.tolist(), strict=True))
        assert exact <= set(got)
        assert len(got) <= len(exact) + 2 * int(np.sqrt(len(exact))) + 8  # not much more
    # a small square inside one tile, and one across a tile corner
    assert g.tiles_touching([[110, 890], [120, 890], [120, 880], [110, 880]]) == [TileIndex(1, 1)]
    corner = g.tiles_touching([[195, 805], [205, 805], [205, 795], [195, 795]])
    assert set(corner) == {TileIndex(1, 1), TileIndex(1, 2), TileIndex(2, 1), TileIndex(2, 2)}
    assert g.tiles_touching([[5000, 5000], [5001, 5000], [5001, 5001]]) == []


def test_different_zones_and_huge_areas_are_refused() -> None:
    gfs = frames()
    from dataclasses import replace
    with pytest.raises(DronepipeError, match="zones"):
        grid_for([gfs[0], replace(gfs[1], epsg=32633)])
    with pytest.raises(DronepipeError, match="too large"):
        grid_for(gfs, gsd=0.001, max_pixels=1e8)
    with pytest.raises(DronepipeError):
        grid_for([])


def test_window_intersection() -> None:
    assert intersect(PixelWindow(0, 0, 10, 10), PixelWindow(5, 8, 10, 10)) == PixelWindow(5, 8, 5, 2)
    assert intersect(PixelWindow(0, 0, 10, 10), PixelWindow(10, 0, 5, 5)) is None
