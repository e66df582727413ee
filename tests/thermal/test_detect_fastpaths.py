"""The detector's shortcuts give what the plain computations give, value for value:
sorted medians, regions from pixel lists, the vectorised peak test, reused scratch
arrays (per thread), and the early exits of the contextual test."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import ndimage

from dronepipe.thermal import background as bg
from dronepipe.thermal import detect as dt
from dronepipe.thermal.detect import Detection, DetectionConfig, detect_hotspots
from dronepipe.thermal.measure import FrameArrays, _crop, measure_context
from tests.thermal.scenes import add_disc, add_noise, background

SHAPE = (512, 640)
FIELDS = ("kind", "centroid_px", "max_c", "mean_c", "background_c", "contrast_c", "area_m2",
          "n_pixels", "touches_border", "radiometric", "unresolved")


def _scene(seed: int, gsd_m: float = 0.1, n: int = 6) -> np.ndarray:
    """Textured ground with discs around the thresholds (persons, anomalies, embers)."""
    rng = np.random.default_rng(seed)
    t = background(SHAPE, gsd_m, rng, lo_c=10.0, hi_c=36.0)
    for temp in rng.choice([33.0, 45.0, 57.9, 58.1, 90.0, 400.0], n):
        c = (rng.uniform(20, SHAPE[1] - 20), rng.uniform(20, SHAPE[0] - 20))
        t = add_disc(t, c, rng.uniform(0.2, 1.5), float(temp), gsd_m)
    return add_noise(t, rng)


def _same(a: list[Detection], b: list[Detection]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert [getattr(x, f) for f in FIELDS] == [getattr(y, f) for f in FIELDS]
        assert np.array_equal(x.contour_px, y.contour_px)
        assert np.array_equal(x.patch_c, y.patch_c)


@pytest.mark.parametrize("shape", [(12, 15, 144), (3, 4, 121), (2, 2, 4), (5, 9)])
def test_sorted_median_is_numpys_bit_for_bit(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(20.0, 3.0, shape).astype(np.float32)
    a[..., : shape[-1] // 3] = np.float32(20.1)  # ties
    assert np.array_equal(bg._median_last(a), np.median(a, axis=-1))
    assert bg._median_last(a).dtype == np.float32


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (2, 2), (12, 15), (40, 33)])
def test_block_grid_filters_are_ndimages_bit_for_bit(shape: tuple[int, int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The 3x3 median of the block levels and the 3x3 maximum of the block sigmas
    (OpenCV, so that no run imports scipy.ndimage) equal ``median_filter`` and
    ``grey_dilation`` with ``mode="nearest"``, ties included."""
    rng = np.random.default_rng(2)
    for k in range(20):
        grid = (rng.normal(20.0, 5.0, shape)).astype(np.float32)
        if k % 2:
            grid = np.round(grid)  # ties
        seen: list[np.ndarray] = []
        monkeypatch.setattr(bg, "_block_stats", lambda s, g=grid: (g, g))
        monkeypatch.setattr(bg, "_upsample", lambda g, out: seen.append(g) or out)
        t = np.zeros((shape[0] * 10, shape[1] * 10), np.float32)
        level, _ = bg._block_grids(t, 10.0, 4)  # type: ignore[misc]
        assert np.array_equal(level, ndimage.median_filter(grid, size=3, mode="nearest"))
        bg.local_background(t, 10.0, sigma_floor_c=-1e9, samples_per_side=4)
        assert np.array_equal(seen[-1], ndimage.grey_dilation(grid, size=(3, 3), mode="nearest"))


@pytest.mark.parametrize("case", ["plain", "nan", "all_nan", "one_block"])
def test_scratch_gives_the_fresh_arrays(case: str) -> None:
    t = _scene(3)
    block = {"one_block": 2000.0}.get(case, 40.0)
    if case == "nan":
        t[:, :100] = np.nan
    elif case == "all_nan":
        t[:] = np.nan
    scratch = bg.FrameScratch()
    fresh = bg.local_contrast(t, 40.0, block, 0.1)
    reused = bg.local_contrast(t, 40.0, block, 0.1, scratch)
    for a, b in zip(fresh, reused):
        assert np.array_equal(a, b, equal_nan=True) and b.dtype == np.float32
    level = bg.background_level(t, block, scratch=scratch)
    assert np.array_equal(level, bg.local_background(t, block)[0], equal_nan=True)
    again = bg.local_contrast(_scene(4), 40.0, block, 0.1, scratch)
    assert np.shares_memory(again[0], reused[0])  # the scratch's own array, reused


def test_scratch_gives_fresh_arrays_above_its_size() -> None:
    scratch = bg.FrameScratch(max_pixels=1000)
    a = scratch.array("x", (40, 40), np.float32)
    assert a is not scratch.array("x", (40, 40), np.float32)
    assert scratch.array("y", (10, 10), np.float32) is scratch.array("y", (10, 10), np.float32)


def test_regions_from_pixel_lists_match_find_objects() -> None:
    rng = np.random.default_rng(5)
    mask = (ndimage.gaussian_filter(rng.random(SHAPE), 3) > 0.53).astype(np.uint8)
    rg = dt._components(mask)
    assert rg.n > 20
    assert np.shares_memory(rg.labels, dt._thread_scratch().array("detect.labels", SHAPE,
                                                                  np.int32))
    labels = rg.labels
    boxes = [(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(labels)]
    assert rg.boxes == [(0, 0, 0, 0)] + boxes
    assert np.array_equal(rg.counts, np.bincount(labels.ravel(), minlength=rg.n) * (
        np.arange(rg.n) > 0))
    assert np.array_equal(labels.ravel()[rg.flat], rg.sorted_labels)
    assert np.all(np.diff(rg.sorted_labels) >= 0)
    for i in (1, rg.n // 2, rg.n - 1):  # raster order within a label
        assert np.all(np.diff(rg.flat[rg.sorted_labels == i]) > 0)
    empty = dt._components(np.zeros(SHAPE, np.uint8))
    assert empty.n == 1 and empty.boxes == [(0, 0, 0, 0)] and empty.flat.size == 0


@pytest.mark.parametrize("radiometric", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_regions_left_out_are_those_measure_context_rejects(seed: int, radiometric: bool) -> None:
    """``_worth_measuring`` is False only where ``measure_context`` gives None: the peak's
    contrast test (computed as there) or no class the peak and heat could reach."""
    cfg = DetectionConfig()
    rng = np.random.default_rng(10 + seed)
    t = background(SHAPE, 0.1, rng, lo_c=15.0, hi_c=20.0)
    for temp in (26.0, 26.0, 26.0, 33.0, 45.0, 90.0):  # warm spots too cool for a class
        c = (rng.uniform(20, SHAPE[1] - 20), rng.uniform(20, SHAPE[0] - 20))
        t = add_disc(t, c, rng.uniform(0.2, 0.6), temp, 0.1)
    t = add_noise(t, rng)
    contrast, sigma = bg.local_contrast(t, 40.0, 40.0, cfg.noise_floor_c)
    fr = FrameArrays(t, None, contrast, sigma, 0.1, radiometric, cfg)
    usable = dt._usable_mask(t, cfg.border_px)
    rg = dt._components(dt._above(fr, cfg.context_grow_k, cfg.context_grow_delta_c, usable))
    passes = dt._worth_measuring(fr, rg)
    first_test = np.zeros(rg.n, bool)
    for i in range(1, rg.n):
        box = rg.boxes[i]
        region = rg.labels[box[0]:box[1], box[2]:box[3]] == i
        cr = _crop(fr, box, region, contrast)
        pr, pc = cr.peak()
        peak_ex, sig = float(cr.excess[pr, pc]), float(sigma[cr.r0 + pr, cr.c0 + pc])
        first_test[i] = peak_ex >= max(cfg.context_k * sig, cfg.context_min_delta_c)
        if not passes[i]:
            assert measure_context(fr, box, region) is None
    assert not (passes & ~first_test).any()
    assert 0 < passes.sum() <= first_test.sum() < rg.n - 1
    if radiometric:
        assert passes.sum() < first_test.sum()  # the class bound leaves out more


def test_detections_do_not_share_the_scratch() -> None:
    a, b = _scene(20), _scene(21)
    first = detect_hotspots(a, 0.1)
    kept = [(d.patch_c.copy(), d.contour_px.copy()) for d in first]
    assert first
    detect_hotspots(b, 0.1)
    for d, (patch, contour) in zip(first, kept):
        assert np.array_equal(d.patch_c, patch) and np.array_equal(d.contour_px, contour)
    _same(first, detect_hotspots(a, 0.1))


def test_threads_each_get_their_own_scratch() -> None:
    frames = [_scene(30 + i) for i in range(6)]
    serial = [detect_hotspots(f, 0.1) for f in frames]
    found: dict[int, list[Detection]] = {}

    def work(i: int) -> None:
        for _ in range(3):
            found[i] = detect_hotspots(frames[i], 0.1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(frames))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, dets in enumerate(serial):
        _same(dets, found[i])


def _blob_frame(peak_c: float, ground_c: float = 20.0, seed: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = add_disc(np.full(SHAPE, ground_c, np.float32), (320.0, 256.0), 0.4, peak_c, 0.1)
    return add_noise(t, rng, 0.02)


def _without_shortcuts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every region goes to ``measure_context`` and no frame exits early."""
    monkeypatch.setattr(dt, "_any_seed", lambda fr, grow: True)
    monkeypatch.setattr(dt, "_worth_measuring", lambda fr, rg: np.ones(rg.n, bool))


@pytest.mark.parametrize(("peak_c", "kinds"), [
    (29.7, []), (30.3, ["person"]), (37.7, ["person"]), (38.3, []), (39.7, []),
    (40.3, ["anomaly"]), (57.7, ["anomaly"]), (58.3, ["ember"]), (147.7, ["ember"]),
    (148.3, ["fire"])])
def test_shortcuts_change_nothing_at_the_class_thresholds(
        peak_c: float, kinds: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Blobs just below and above each class threshold: the detector with its early
    exits gives what it gives without them, and the expected class."""
    t = _blob_frame(peak_c)
    fast = detect_hotspots(t, 0.1)
    assert [d.kind.value for d in fast] == kinds
    _without_shortcuts(monkeypatch)
    _same(fast, detect_hotspots(t, 0.1))


@pytest.mark.parametrize(("ground_c", "warm_c"), [(10.0, 29.7), (10.0, 30.3), (20.0, 50.0),
                                                  (35.0, 57.7)])
@pytest.mark.parametrize(("radius_m", "gsd_m"), [(0.08, 0.1), (0.2, 0.1), (0.3, 0.3),
                                                (0.45, 0.3)])
def test_heat_bound_changes_nothing_for_small_warm_spots(
        ground_c: float, warm_c: float, radius_m: float, gsd_m: float,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Spots of a few pixels, whose class rests on their heat (an unresolved ember nest)
    or on the person band: the heat bound leaves out no detection."""
    rng = np.random.default_rng(7)
    frames = [add_noise(add_disc(np.full(SHAPE, ground_c, np.float32), (300.5, 200.5),
                                 radius_m, warm_c, gsd_m), rng, 0.02) for _ in range(2)]
    fast = [detect_hotspots(t, gsd_m) for t in frames]
    _without_shortcuts(monkeypatch)
    for t, dets in zip(frames, fast):
        _same(dets, detect_hotspots(t, gsd_m))


def test_unresolved_ember_nest_found_with_the_heat_bound() -> None:
    """A 50 C spot of 0.6 m2 on 20 C ground seen at 0.3 m a pixel: too cool for the
    absolute test and for a person, yet the heat of an ember nest."""
    t = add_noise(add_disc(np.full(SHAPE, 20.0, np.float32), (300.5, 200.5), 0.45, 50.0, 0.3),
                  np.random.default_rng(8), 0.02)
    (d,) = detect_hotspots(t, 0.3)
    assert d.kind.value == "ember" and d.unresolved and d.max_c < 58.0


@pytest.mark.parametrize("excess_c", [3.7, 3.9, 4.1, 4.3])
@pytest.mark.parametrize("ground_c", [30.0, 36.5])
def test_shortcuts_change_nothing_at_the_contrast_threshold(
        excess_c: float, ground_c: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm blobs a little under and over ``context_min_delta_c`` (4 C) above the ground."""
    frames = [_blob_frame(ground_c + excess_c, ground_c, seed) for seed in range(3)]
    fast = [detect_hotspots(t, 0.1) for t in frames]
    _without_shortcuts(monkeypatch)
    for t, dets in zip(frames, fast):
        _same(dets, detect_hotspots(t, 0.1))


def test_shortcuts_change_nothing_on_busy_scenes(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [(_scene(50 + i, gsd, 12), gsd) for i, gsd in enumerate((0.05, 0.1, 0.2))]
    fast = [detect_hotspots(t, gsd) for t, gsd in frames]
    assert sum(len(d) for d in fast) > 5
    _without_shortcuts(monkeypatch)
    for (t, gsd), dets in zip(frames, fast):
        _same(dets, detect_hotspots(t, gsd))
