"""Tile arithmetic, the lattice reprojection, the colour span and the tile cache."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.lru import BytesLRU
from dronepipe.stream.thermal_span import ThermalSpan, robust_range, rounded_out
from dronepipe.stream.tile_reproject import exact_pixels_to_grid, lattice_to_grid, pixels_to_grid
from dronepipe.stream.tiles import TileRenderer, covered_tiles
from dronepipe.stream.webmercator import TileXYZ, bounds_lonlat, lat_of, lon_of, tile_of, valid_tile
from tests.stitching.synthetic import FRAME, KL
from tests.stream.fakeview import FakeView, feed, grid_around


def test_tile_of_inverts_lon_lat_of() -> None:
    for z in (0, 5, 12, 19, 24):
        x, y = tile_of(*KL, z)
        assert float(lon_of(x, z)) == pytest.approx(KL[0], abs=1e-9)
        assert float(lat_of(y, z)) == pytest.approx(KL[1], abs=1e-9)
    w, s, e, n = bounds_lonlat(TileXYZ(0, 0, 0))
    assert (w, e) == (-180.0, 180.0) and n == pytest.approx(85.0511288) and s == pytest.approx(-n)
    assert valid_tile(TileXYZ(3, 7, 0)) and not valid_tile(TileXYZ(3, 8, 0))
    assert not valid_tile(TileXYZ(25, 0, 0)) and not valid_tile(TileXYZ(2, -1, 0))


@pytest.mark.parametrize("z", [12, 16, 18, 21])
def test_lattice_reprojection_matches_proj(z: int) -> None:
    x, y = tile_of(*KL, z)
    t = TileXYZ(z, int(x), int(y))
    e, n = pixels_to_grid(*lattice_to_grid(t, FRAME.epsg))
    ex, nx = exact_pixels_to_grid(t, FRAME.epsg)
    assert np.abs(e - ex).max() < 5e-3 and np.abs(n - nx).max() < 5e-3   # metres
    assert np.abs(e[0, 0] - ex[0, 0]) < 1e-6 and np.abs(n[-1, -1] - nx[-1, -1]) < 1e-6


def test_covered_tiles() -> None:
    g = grid_around(half_m=60.0, gsd_m=0.25, tile=128)    # 480 px, 4 x 4 tiles
    e0, n0 = g.origin_m
    assert covered_tiles(g, np.array([[e0 - 50, e0 - 10]]), np.array([[n0, n0]])) is None
    assert covered_tiles(g, np.array([[e0 + 1, e0 + 2]]), np.array([[n0 - 1, n0 - 2]])) == [(0, 0)]
    whole = covered_tiles(g, np.array([[e0 - 9, e0 + 999]]), np.array([[n0 + 9, n0 - 999]]))
    assert whole is not None and len(whole) == 16


def test_span_rounding_and_robust_range() -> None:
    assert rounded_out(21.3, 238.0, 5.0) == (20.0, 240.0)
    assert rounded_out(20.0, 20.0, 5.0) == (20.0, 25.0)
    assert robust_range(np.full((4, 4), np.nan, np.float32)) is None
    vals = np.linspace(0, 100, 1001).astype(np.float32)
    lo, hi = robust_range(vals) or (0, 0)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(99.8)
    with pytest.raises(ValueError):
        ThermalSpan((50.0, 10.0))


def test_adaptive_span_follows_the_mosaic_and_fixed_span_does_not() -> None:
    now = [0.0]
    with Mosaic(grid_around(), "thermal") as m:
        adaptive = ThermalSpan(clock=lambda: now[0], interval_s=1.0)
        fixed = ThermalSpan((0.0, 150.0))
        assert adaptive.current(m) == (0.0, 100.0)   # nothing seen yet: the default
        feed(m, 0.0, 0.0, 0)
        assert adaptive.current(m) == (0.0, 100.0)   # not due yet
        now[0] = 1.5
        lo, hi = adaptive.current(m)
        assert lo <= 20.0 and hi >= 200.0 and lo % 5 == 0 and hi % 5 == 0
        assert fixed.current(m) == (0.0, 150.0)


def test_renderer_caches_by_mosaic_version() -> None:
    view = FakeView()
    with Mosaic(grid_around(), "thermal") as m:
        feed(m, 0.0, 0.0, 0)
        view.set_mosaic(m)
        r = TileRenderer(view, ThermalSpan((0.0, 300.0)), cache_bytes=1 << 20)
        x, y = tile_of(*KL, 19)
        t = TileXYZ(19, int(x), int(y))
        first = r.render("thermal", t)
        again = r.render("thermal", t)
        assert first is not None and again is not None and first.etag == again.etag
        assert r.cache.hits == 1 and r.cache.misses == 1
        feed(m, 2.0, 0.0, 1)
        changed = r.render("thermal", t)
        assert changed is not None and changed.etag != first.etag
        assert r.render("rgb", t) is None and r.render("other", t) is None


def test_bytes_lru_is_bounded() -> None:
    c = BytesLRU(100)
    for i in range(10):
        c.put(i, bytes(30))
    assert c.size_bytes <= 100 and len(c) == 3
    assert c.get(9) is not None and c.get(0) is None
    c.put("big", bytes(101))
    assert c.get("big") is None
