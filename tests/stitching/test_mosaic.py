"""Mosaic: frames land where the ground pattern is, thermal keeps one frame per pixel,
RGB feathers, memory stays bounded, and the live API sees every change."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio

from dronepipe.errors import DronepipeError
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, grid_for
from dronepipe.stitching.mosaic import Mosaic
from tests.stitching.synthetic import (FRAME, blob, dem_ground, origin_en, pose_at, render, rgb,
                                       small_camera, waves)

DIST = (-0.2, 0.05, 0.001, -0.001, 0.0)


def whole(m: Mosaic) -> np.ndarray:
    return m.read_window(PixelWindow(0, 0, m.grid.height, m.grid.width))


def centres(grid: MosaicGrid) -> tuple[np.ndarray, np.ndarray]:
    e, n = grid.cell_centres(PixelWindow(0, 0, grid.height, grid.width))
    return np.broadcast_to(e, (grid.height, grid.width)), np.broadcast_to(n, (grid.height, grid.width))


def padded_grid(gfs: list[GeoFrame], pad_px: int = 20, tile: int = 64) -> MosaicGrid:
    g = grid_for(gfs, tile=tile)
    o = (g.origin_m[0] - pad_px * g.gsd_m, g.origin_m[1] + pad_px * g.gsd_m)
    return MosaicGrid(g.epsg, o, g.gsd_m, g.width + 2 * pad_px, g.height + 2 * pad_px, tile)


def weighted_centre(grid: MosaicGrid, img: np.ndarray) -> np.ndarray:
    e, n = centres(grid)
    e, n = e - grid.origin_m[0], n - grid.origin_m[1]
    w = np.where(np.isfinite(img), img.astype(np.float64) - 20.0, 0.0)
    w = np.where(w > 0.05 * w.max(), w, 0.0)
    return np.array([(w * e).sum() / w.sum() + grid.origin_m[0],
                     (w * n).sum() / w.sum() + grid.origin_m[1]])


@pytest.mark.parametrize(("pose_kw", "dist"), [
    (dict(alt=60.0), (0.0,) * 5),
    (dict(alt=60.0, yaw_deg=30.0, pitch_deg=-62.0, roll_deg=3.0), DIST),
])
def test_thermal_mosaic_puts_the_pattern_where_it_is_on_the_ground(pose_kw: dict, dist: tuple) -> None:
    gf = geoframe("f", pose_at(0, 0, **pose_kw), small_camera(dist), FRAME)
    target = np.asarray(gf.pixels_to_map(80.0, 60.0)[:2])  # a point well inside the frame
    pattern = blob(*target, sigma_m=6 * gf.gsd_m)
    grid = padded_grid([gf])
    with Mosaic(grid, "thermal") as m:
        m.feed(gf, render(gf, pattern))
        out = whole(m)[0]
    # the hot spot's centre is where it is on the ground, to a small part of a pixel
    err_px = np.hypot(*(weighted_centre(grid, out) - target)) / grid.gsd_m
    assert err_px < 0.1
    seen = np.isfinite(out)
    e, n = centres(grid)
    truth = pattern(e, n)
    assert np.abs(out[seen] - truth[seen]).max() < 0.05 * 50  # bilinear of a 6 px wide spot
    # unseen ground is NaN: the padding around the footprint
    assert np.isnan(out[:5]).all() and np.isnan(out[:, -5:]).all()
    assert 0.2 < seen.mean() < 1.0


def test_smooth_pattern_from_an_oblique_distorted_frame() -> None:
    e0, n0 = origin_en()
    gf = geoframe("f", pose_at(0, 0, 60.0, yaw_deg=-20.0, pitch_deg=-70.0), small_camera(DIST), FRAME)
    pattern = waves(e0, n0, wavelength_m=40 * gf.gsd_m)
    grid = padded_grid([gf], pad_px=0)
    with Mosaic(grid, "thermal") as m:
        m.feed(gf, render(gf, pattern))
        out = whole(m)[0]
    e, n = centres(grid)
    seen = np.isfinite(out)
    err = out[seen] - pattern(e, n)[seen]
    assert np.sqrt(np.mean(err ** 2)) < 0.05  # degC, on a 20 degC range
    assert seen.sum() > 0.5 * 160 * 128


def in_image(u: np.ndarray, v: np.ndarray, w: int = 160, h: int = 128) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (u >= -0.5) & (u <= w - 0.5) & (v >= -0.5) & (v <= h - 0.5)


def two_frames(kind: str = "thermal", alt: float = 60.0, sep: float = 25.0) -> list[GeoFrame]:
    return [geoframe(f"f{i}", pose_at(sep * i, 0.0, alt, t=1.7e9 + i), small_camera(), FRAME, kind=kind)
            for i in range(2)]


def test_thermal_never_averages_across_frames_and_the_seam_is_sharp() -> None:
    gfs = two_frames()
    temps = (20.0, 30.0)
    grid = padded_grid(gfs)
    with Mosaic(grid, "thermal") as m:
        for gf, t in zip(gfs, temps, strict=True):
            m.feed(gf, np.full((128, 160), t, np.float32))
        out = whole(m)[0]
    seen = np.isfinite(out)
    assert set(np.unique(out[seen]).tolist()) == {20.0, 30.0}  # exactly one frame's values
    e, n = centres(grid)
    sees = [in_image(*gf.map_to_pixels(e, n)[:2]) for gf in gfs]
    assert (seen == (sees[0] | sees[1])).all()  # NaN exactly where no frame saw the ground
    mid = (gfs[0].pose.centre_m[0] + gfs[1].pose.centre_m[0]) / 2  # equal heights: the bisector
    both = sees[0] & sees[1]
    assert both.sum() > 1000
    west, east = e < mid - grid.gsd_m, e > mid + grid.gsd_m
    assert (out[both & west] == 20.0).all() and (out[both & east] == 30.0).all()
    assert (out[sees[0] & ~sees[1]] == 20.0).all() and (out[sees[1] & ~sees[0]] == 30.0).all()
    # sharp: along a row through the overlap the value switches once, with nothing between
    row = out[grid.height // 2][np.isfinite(out[grid.height // 2])]
    assert np.count_nonzero(np.diff(row)) == 1


def test_dead_thermal_pixels_are_filled_by_another_frame_and_points_can_be_sampled() -> None:
    gfs = two_frames(sep=10.0)
    grid = padded_grid(gfs)
    a = np.full((128, 160), 20.0, np.float32)
    a[40:90, 60:110] = np.nan  # dead pixels (or a decoder's invalid area) in the first frame
    with Mosaic(grid, "thermal") as m:
        m.feed(gfs[0], a)
        m.feed(gfs[1], np.full((128, 160), 30.0, np.float32))
        out = whole(m)[0]
        e, n = centres(grid)
        assert np.array_equal(m.sample(e, n)[0], out, equal_nan=True)
        far = m.sample(np.array([e[0, 0] - 100.0]), np.array([n[0, 0]]))
        assert far.shape == (1, 1) and np.isnan(far).all()
    hole = gfs[0].pixels_to_map(85.0, 65.0)  # seen by the first frame's dead pixels only
    col, row = grid.to_pixel(hole[0], hole[1])
    assert out[int(row), int(col)] == 30.0
    assert set(np.unique(out[np.isfinite(out)]).tolist()) == {20.0, 30.0}


def test_rgb_is_feathered_smoothly_across_the_overlap() -> None:
    gfs = two_frames("rgb")
    grid = padded_grid(gfs)
    with Mosaic(grid, "rgb") as m:
        for gf, g in zip(gfs, (100.0, 200.0), strict=True):
            m.feed(gf, rgb(np.full((128, 160), g)))
        out = whole(m)
    alpha = out[3]
    assert set(np.unique(alpha).tolist()) == {0, 255}
    assert (out[:3][:, alpha == 0] == 0).all()
    r = out[0].astype(float)
    assert (out[0] == out[1]).all() and (out[1] == out[2]).all()
    row = grid.height // 2
    vals = r[row][alpha[row] == 255]
    assert vals[0] == 100 and vals[-1] == 200
    assert (np.diff(vals) >= 0).all()  # west to east: from one frame to the other, monotonic
    assert np.abs(np.diff(vals)).max() <= 4  # no seam: 100 grey levels over ~60 px of overlap
    assert ((vals > 100) & (vals < 200)).sum() > 40


def test_correction_puts_a_misplaced_frame_back() -> None:
    true_gf = geoframe("f", pose_at(0, 0, 60.0, yaw_deg=12.0), small_camera(), FRAME)
    target = np.asarray(true_gf.pixels_to_map(70.0, 50.0)[:2])
    pattern = blob(*target, sigma_m=1.5)
    pixels = render(true_gf, pattern)
    # GNSS 2.5 m east and 1 m south of the truth
    wrong = geoframe("f", pose_at(2.5, -1.0, 60.0, yaw_deg=12.0), small_camera(), FRAME)
    grid = padded_grid([true_gf, wrong])
    for gf, want_err in ((wrong, (2.5, -1.0)), (wrong.with_correction(-2.5, 1.0), (0.0, 0.0))):
        with Mosaic(grid, "thermal") as m:
            m.feed(gf, pixels)
            got = weighted_centre(grid, whole(m)[0]) - target
        assert got == pytest.approx(want_err, abs=0.1 * grid.gsd_m)


def test_a_dem_ground_places_an_oblique_view_of_a_hill() -> None:
    ground = dem_ground(150.0, 0.5,
                        lambda de, dn: 20.0 * np.exp(-((de - 40) ** 2 + dn ** 2) / (2 * 30.0 ** 2)))
    # camera west of the hill looking east and down
    gf = geoframe("f", pose_at(-20.0, 0.0, 70.0, yaw_deg=90.0, pitch_deg=-50.0), small_camera(DIST),
                  FRAME, ground=ground)
    target = np.asarray(gf.pixels_to_map(80.0, 64.0)[:2])
    assert ground.height_at(*target) > 10.0  # on the hill
    pattern = blob(*target, sigma_m=1.5)
    pixels = render(gf, pattern)
    grid = padded_grid([gf])
    with Mosaic(grid, "thermal") as m:
        m.feed(gf, pixels)
        err = np.hypot(*(weighted_centre(grid, whole(m)[0]) - target))
    assert err < 0.15 * grid.gsd_m
    # the same frame on flat ground misses by metres: the DEM matters
    flat = geoframe("f", pose_at(-20.0, 0.0, 70.0, yaw_deg=90.0, pitch_deg=-50.0), small_camera(DIST),
                    FRAME)
    with Mosaic(padded_grid([flat]), "thermal") as m:
        m.feed(flat, pixels)
        assert np.hypot(*(weighted_centre(m.grid, whole(m)[0]) - target)) > 5.0


def lawnmower(n: int, kind: str = "thermal") -> list[GeoFrame]:
    out = []
    for i in range(n):
        line, k = divmod(i, 6)
        x = 15.0 * (k if line % 2 == 0 else 5 - k)
        out.append(geoframe(f"f{i:03d}", pose_at(x, -25.0 * line, 60.0, yaw_deg=90.0 * (line % 2),
                                                  t=1.7e9 + i), small_camera(), FRAME, kind=kind))
    return out


def test_tiles_in_memory_stay_bounded_while_feeding_many_frames() -> None:
    gfs = lawnmower(24)
    e0, n0 = origin_en()
    pattern = waves(e0, n0)
    grid = grid_for(gfs, tile=32)
    frames = {gf.frame_id: render(gf, pattern) for gf in gfs}
    results = []
    for cache in (3, 10_000):
        with Mosaic(grid, "thermal", cache_tiles=cache) as m:
            for gf in gfs:
                m.feed(gf, frames[gf.frame_id])
            results.append(whole(m))
            stats = (m.store.max_in_memory, m.store.spills, len(m.store.touched))
        if cache == 3:
            assert stats[0] <= 3 and stats[1] > 50 and stats[2] > 60
    assert np.array_equal(results[0], results[1], equal_nan=True)  # spilling loses nothing


def test_live_api_versions_changes_and_concurrent_reads(tmp_path: Path) -> None:
    gfs = lawnmower(8, "rgb")
    grid = grid_for(gfs, tile=64)
    errors: list[BaseException] = []
    stop = threading.Event()
    with Mosaic(grid, "rgb", cache_tiles=4) as m:
        def reader() -> None:
            try:
                while not stop.is_set():
                    block = m.read_window(PixelWindow(10, 10, 100, 150))
                    assert block.shape == (4, 100, 150) and block.dtype == np.uint8
            except BaseException as exc:
                errors.append(exc)
        th = threading.Thread(target=reader)
        th.start()
        v0 = m.version
        changed = m.feed(gfs[0], rgb(np.full((128, 160), 50.0)))
        v1, tiles = m.changes_since(v0)
        assert tiles == sorted(changed) and v1 > v0
        assert all(m.tile_version(t) > v0 for t in changed)
        for gf in gfs[1:]:
            m.feed(gf, rgb(np.full((128, 160), 150.0)))
        _, later = m.changes_since(v1)
        assert later and m.changes_since(m.version)[1] == []
        stop.set()
        th.join()
        assert not errors
        assert m.n_frames == 8
        before = whole(m)
        product = m.finish(tmp_path / "rgb.tif")
    with rasterio.open(product.path) as src:
        assert np.array_equal(src.read(), before)
        assert src.tags()["N_FRAMES"] == "8"
    assert product.tiles_with_data == len(m_tiles(grid, gfs))
    assert product.t_start_utc_s == 1.7e9 and product.t_end_utc_s == 1.7e9 + 7


def m_tiles(grid: MosaicGrid, gfs: list[GeoFrame]) -> set:
    from dronepipe.stitching.render import frame_windows
    return {t for gf in gfs for t, _ in frame_windows(grid, gf)}


def test_coarser_grid_shrinks_frames_without_aliasing() -> None:
    gf = geoframe("f", pose_at(0, 0, 60.0), small_camera(), FRAME)
    checker = (np.indices((128, 160)).sum(axis=0) % 2).astype(np.float32) * 10.0 + 20.0
    grid = grid_for([gf], gsd=4 * gf.gsd_m, tile=64)
    with Mosaic(grid, "thermal") as m:
        m.feed(gf, checker)
        out = whole(m)[0]
    inner = out[2:-2, 2:-2]
    assert np.isfinite(inner).all() and np.abs(inner - 25.0).max() < 0.5  # averaged within the frame


def test_wrong_kind_zone_or_pixel_shape_is_refused() -> None:
    gf = two_frames()[0]
    grid = grid_for([gf], tile=64)
    with Mosaic(grid, "rgb") as m, pytest.raises(DronepipeError, match="thermal"):
        m.feed(gf, np.zeros((128, 160), np.float32))
    with Mosaic(grid, "thermal") as m:
        with pytest.raises(ValueError, match="shape"):
            m.feed(gf, np.zeros((160, 128), np.float32))
        from dataclasses import replace
        with pytest.raises(DronepipeError, match="EPSG"):
            m.feed(replace(gf, epsg=32633), np.zeros((128, 160), np.float32))
    with pytest.raises(RuntimeError, match="prepare"):
        Mosaic(grid, "thermal").feed(gf, np.zeros((128, 160), np.float32))
