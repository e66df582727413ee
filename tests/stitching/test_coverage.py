"""Coverage plans: a batch tile draws only the frames that decide its pixels, and the
mosaic stays what drawing every frame gives - thermal: each pixel is the sample of the
frame that saw it most directly; RGB: at most ``max_contributors`` frames blend, with
weights ``w - w_(k+1)``; the coverage mask is what the frames see."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, grid_for
from dronepipe.stitching.mosaic import Mosaic
from tests.stitching.synthetic import DictLoader, origin_en, render, rgb, waves
from tests.stitching.test_mosaic import lawnmower


def whole(m: Mosaic) -> np.ndarray:
    return m.read_window(PixelWindow(0, 0, m.grid.height, m.grid.width))


def exact_views(grid: MosaicGrid, gfs: list[GeoFrame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame and grid cell, exactly: whether it sees the cell, its viewing cosine,
    and its feather weight."""
    e, n = grid.cell_centres(PixelWindow(0, 0, grid.height, grid.width))
    seen, cos, feather = [], [], []
    for gf in gfs:
        u, v, c = gf.map_to_pixels(e, n)
        w, h = gf.camera.width, gf.camera.height
        with np.errstate(invalid="ignore"):
            edge = np.minimum(np.minimum(u + 0.5, w - 0.5 - u), np.minimum(v + 0.5, h - 0.5 - v))
            s = edge >= 0
        seen.append(s)
        cos.append(np.where(s, c, -1.0))
        feather.append(np.where(s, np.maximum(edge, 0.5) / (0.5 * min(w, h)), 0.0))
    return np.array(seen), np.array(cos), np.array(feather)


@pytest.fixture(scope="module")
def flight() -> list[GeoFrame]:
    return lawnmower(18)


def test_thermal_pixels_are_the_most_direct_frames_samples(flight: list[GeoFrame]) -> None:
    grid = grid_for(flight, tile=64)
    ids = {gf.frame_id: np.full((128, 160), float(i), np.float32) for i, gf in enumerate(flight)}
    with Mosaic(grid, "thermal") as m:
        m.feed_many(flight, DictLoader(ids), scheduler="synchronous")
        out = whole(m)[0]
    seen, cos, _ = exact_views(grid, flight)
    covered = seen.any(axis=0)
    assert np.array_equal(np.isfinite(out), covered)  # the coverage mask: what frames see
    chosen = out[covered].astype(int)
    assert np.array_equal(out[covered], chosen)  # one frame's value, never a blend
    best = np.argmax(cos, axis=0)[covered]
    differ = chosen != best
    # the choice differs only on near-ties of the score (the lattice's 1/cos^2 error)
    c = cos[:, covered]
    gap = c[best, np.arange(best.size)] - c[chosen, np.arange(best.size)]
    assert differ.mean() < 2e-3 and (gap[differ] < 2e-4).all()


def test_dead_thermal_pixels_are_filled_by_the_frames_left_out(flight: list[GeoFrame]) -> None:
    grid = grid_for(flight, tile=64)
    e0, n0 = origin_en()
    frames = {gf.frame_id: render(gf, waves(e0, n0)) for gf in flight}
    rng = np.random.default_rng(3)
    for k in list(frames)[::2]:  # dead blocks where these frames decide most pixels
        f = frames[k].copy()
        r, c = rng.integers(20, 90), rng.integers(20, 120)
        f[r:r + 30, c:c + 30] = np.nan
        frames[k] = f
    with Mosaic(grid, "thermal") as m:
        for gf in flight:
            m.feed(gf, frames[gf.frame_id])
        ref = whole(m)
    with Mosaic(grid, "thermal") as m:
        m.feed_many(flight, DictLoader(frames), scheduler="synchronous")
        got = whole(m)
    assert np.isnan(got).sum() == np.isnan(ref).sum()
    assert np.array_equal(got, ref, equal_nan=True)


def colour_frames(gfs: list[GeoFrame], seed: int = 1) -> tuple[dict[str, np.ndarray], np.ndarray]:
    grey = np.random.default_rng(seed).integers(0, 256, len(gfs))
    frames = {gf.frame_id: rgb(np.full((128, 160), float(g)))
              for gf, g in zip(gfs, grey, strict=True)}
    return frames, grey


def test_rgb_blends_at_most_k_frames_with_faded_weights(flight: list[GeoFrame]) -> None:
    frames = [replace(gf, kind="rgb") for gf in flight]
    grid = grid_for(frames, tile=64)
    pixels, grey = colour_frames(frames)
    with Mosaic(grid, "rgb", max_contributors=4) as m:
        m.feed_many(frames, DictLoader(pixels), scheduler="synchronous")
        out = whole(m)
    seen, _, w = exact_views(grid, frames)
    covered = seen.any(axis=0)
    assert np.array_equal(out[3] == 255, covered)
    assert (seen.sum(axis=0) >= 5).mean() > 0.05  # the test flight overlaps enough to matter
    top = -np.sort(-w, axis=0)
    w5 = np.where(top[0] > top[4], top[4], 0.0)
    share = np.maximum(w - w5, 0.0)
    assert ((share > 0).sum(axis=0) <= 4).all()
    want = (share * grey[:, None, None]).sum(axis=0) / np.where(covered, share.sum(axis=0), 1.0)
    err = np.abs(out[0].astype(float) - want)[covered]
    assert np.percentile(err, 99.9) <= 1.0 and err.max() <= 3.0  # rounding; lattice at seams
    few = covered & (seen.sum(axis=0) <= 4)  # at most k frames: the plain feathered mean
    plain = (w * grey[:, None, None]).sum(axis=0) / np.where(few, w.sum(axis=0), 1.0)
    assert np.abs(out[0].astype(float) - plain)[few].max() <= 1.0


def test_rgb_contributors_counted_in_the_accumulators(flight: list[GeoFrame]) -> None:
    frames = [replace(gf, kind="rgb") for gf in flight]
    grid = grid_for(frames, tile=64)
    black = rgb(np.zeros((128, 160)))
    count = np.zeros((grid.tile_rows * 64, grid.tile_cols * 64), int)
    for gf in frames:  # one frame white at a time: where its blended share is > 0
        loader = DictLoader({g.frame_id: (rgb(np.full((128, 160), 255.0)) if g is gf else black)
                             for g in frames})
        with Mosaic(grid, "rgb", max_contributors=4) as m:
            m.feed_many(frames, loader, scheduler="synchronous")
            for t in m.store.touched:
                acc = m.store.read(t)
                count[t.row * 64:(t.row + 1) * 64, t.col * 64:(t.col + 1) * 64] += acc[0] > 0
    assert count.max() == 4 and (count[:grid.height, :grid.width] >= 1).mean() > 0.5


def test_rgb_without_a_limit_blends_every_frame_as_feeding_does(flight: list[GeoFrame]) -> None:
    frames = [replace(gf, kind="rgb") for gf in flight]
    grid = grid_for(frames, tile=64)
    pixels, _ = colour_frames(frames, seed=2)
    with Mosaic(grid, "rgb") as m:
        for gf in frames:
            m.feed(gf, pixels[gf.frame_id])
        ref = whole(m)
    with Mosaic(grid, "rgb", max_contributors=None) as m:
        m.feed_many(frames, DictLoader(pixels), scheduler="synchronous")
        assert np.array_equal(whole(m), ref)
    with Mosaic(grid, "rgb", max_contributors=4) as m:
        m.feed_many(frames, DictLoader(pixels), scheduler="synchronous")
        limited = whole(m)
    assert np.array_equal(limited[3], ref[3])  # the same coverage mask
    assert (limited[:3] != ref[:3]).any()  # and a different blend where > 4 frames overlap


def test_max_contributors_must_be_positive() -> None:
    grid = grid_for(lawnmower(2), tile=64)
    with pytest.raises(ValueError, match="max_contributors"):
        Mosaic(grid, "rgb", max_contributors=0)
