"""The decoded-frame cache: bounded in bytes, one decode per frame across threads,
read-only values, its own per worker process; the loader through it gives the same
pixels as without it."""

from __future__ import annotations

import pickle
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from dronepipe.frames.discover import discover_frames
from dronepipe.pipeline.framecache import FrameCache, worker_cache
from dronepipe.pipeline.loader import FrameLoader, PackedTemperature, frame_id, pack
from dronepipe.thermal import TIFF_SCALE_PRESETS, LinearCounts, TemperatureImage, decode_thermal
from dronepipe.thermal.tiff import celsius_table, counts_to_celsius

DEMO = Path(__file__).resolve().parents[2] / "sample_data" / "demo"


def _array(mb: float) -> np.ndarray:
    return np.zeros(int(mb * 2**20), np.uint8)


def test_holds_at_most_max_bytes_dropping_the_least_recently_used() -> None:
    cache = FrameCache(max_bytes=3 * 2**20, min_frames=3)
    for key in "abc":
        cache.get(key, lambda: _array(1), lambda a: a.nbytes)
    cache.get("a", lambda: _array(1), lambda a: a.nbytes)  # a is now the most recent
    cache.get("d", lambda: _array(1), lambda a: a.nbytes)  # drops b
    s = cache.stats
    assert (s.hits, s.misses, s.dropped, s.bytes) == (1, 4, 1, 3 * 2**20)
    calls: list[str] = []
    cache.get("b", lambda: calls.append("b") or _array(1), lambda a: a.nbytes)
    cache.get("a", lambda: calls.append("a") or _array(1), lambda a: a.nbytes)
    assert calls == ["b"]


def test_a_frame_over_the_share_of_one_in_min_frames_is_returned_not_kept() -> None:
    cache = FrameCache(max_bytes=64 * 2**20, min_frames=64)
    big = cache.get("big", lambda: _array(1.5), lambda a: a.nbytes)
    assert big.nbytes == int(1.5 * 2**20) and cache.stats.bytes == 0
    cache.get("small", lambda: _array(1), lambda a: a.nbytes)
    assert cache.stats.bytes == 2**20


def test_threads_asking_for_the_same_frame_decode_it_once() -> None:
    cache = FrameCache()
    decodes: list[int] = []

    def slow() -> np.ndarray:
        decodes.append(1)
        time.sleep(0.1)
        return _array(0.1)

    got: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("f", slow, lambda a: a.nbytes)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(decodes) == 1 and len(got) == 4 and all(g is got[0] for g in got)
    assert cache.stats.waits >= 1


def test_a_failed_decode_is_not_kept_and_raises_for_every_caller() -> None:
    cache = FrameCache()

    def bad() -> np.ndarray:
        raise OSError("truncated")

    for _ in range(2):
        with pytest.raises(OSError, match="truncated"):
            cache.get("f", bad, lambda a: a.nbytes)
    assert cache.stats.misses == 2 and cache.stats.bytes == 0


def test_pickled_into_another_process_it_becomes_that_process_cache() -> None:
    cache = FrameCache(max_bytes=5 * 2**20)
    other = pickle.loads(pickle.dumps(cache))
    assert other is worker_cache(1) and other is not cache
    assert other.max_bytes >= 5 * 2**20


@pytest.fixture(scope="module")
def demo_frames() -> dict[str, object]:
    found = discover_frames([DEMO / "thermal", DEMO / "rgb"])
    return {frame_id(f): f for f in found.frames}


def test_the_loader_through_the_cache_gives_the_same_pixels_read_only(demo_frames: dict) -> None:
    plain = FrameLoader(demo_frames)
    cached = FrameLoader(demo_frames, cache=FrameCache())
    for fid in ("thermal/TH_0001.tiff", "rgb/RGB_0001.jpg"):
        a, b = plain(fid), cached(fid)
        assert np.array_equal(a, b, equal_nan=True) and a.dtype == b.dtype
        assert not b.flags.writeable and not cached(fid).flags.writeable
    assert cached("rgb/RGB_0001.jpg") is cached("rgb/RGB_0001.jpg")
    assert cached.cache is not None and cached.cache.stats.misses == 2


def test_a_thermal_frame_is_cached_as_its_counts_and_comes_back_bit_identical(
        demo_frames: dict) -> None:
    """The cache holds a 16-bit thermal frame in 2 bytes a pixel; a hit gives the
    decoder's degrees C bit for bit (NaN where a count is 0), metadata and notes too."""
    fid = "thermal/TH_0001.tiff"
    want = decode_thermal(demo_frames[fid].path)
    cached = FrameLoader(demo_frames, cache=FrameCache())
    first, hit = cached.temperature(fid), cached.temperature(fid)
    assert cached.cache is not None and cached.cache.stats.misses == 1
    assert cached.cache.stats.bytes == want.celsius.size * 2 + 1024
    for got in (first, hit):
        assert got.celsius.dtype == np.float32 and not got.celsius.flags.writeable
        assert np.array_equal(got.celsius.view(np.uint32), want.celsius.view(np.uint32))
        assert (got.notes, got.meta, got.params, got.source) == \
            (want.notes, want.meta, want.params, want.source)
        assert got.linear is None and want.linear is None


def test_packing_counts_with_a_zero_gives_nan_back() -> None:
    counts = np.array([[0, 29315], [27315, 65535]], np.uint16)
    table = celsius_table(TIFF_SCALE_PRESETS["centikelvin"])
    image = TemperatureImage(counts_to_celsius(counts, TIFF_SCALE_PRESETS["centikelvin"]), True,
                             Path("x.tif"), "tiff", linear=LinearCounts(counts, table))
    packed = pack(image)
    assert isinstance(packed, PackedTemperature) and packed.nbytes == 8 + 1024
    back = packed.unpack().celsius
    assert np.isnan(back[0, 0]) and back[0, 1] == np.float32(20.0)
    assert np.array_equal(back, image.celsius, equal_nan=True)
    plain = replace(image, linear=None)
    assert pack(plain) is plain


def test_a_rewritten_file_is_decoded_again(demo_frames: dict, tmp_path: Path) -> None:
    src = demo_frames["rgb/RGB_0001.jpg"]
    path = tmp_path / "RGB_0001.jpg"
    img = cv2.imread(str(src.path))
    cv2.imwrite(str(path), img)
    loader = FrameLoader({"rgb/x": replace(src, path=path)}, cache=FrameCache())
    first = loader("rgb/x")
    cv2.imwrite(str(path), 255 - img)
    time.sleep(0.01)
    path.touch()
    assert not np.array_equal(loader("rgb/x"), first)


def test_a_detecting_loader_gives_the_loaders_pixels_detects_once_and_pickles_plain(
        demo_frames: dict) -> None:
    from types import SimpleNamespace

    from dronepipe.pipeline.hotspots import EarlyDetections, detect
    from dronepipe.thermal.detection import DetectionConfig

    loader = FrameLoader(demo_frames, cache=FrameCache())
    fid = "thermal/TH_0001.tiff"
    gf = SimpleNamespace(frame_id=fid, gsd_m=0.1)
    early = EarlyDetections([gf], DetectionConfig())  # type: ignore[list-item]
    tapped = early.tap(loader)
    assert np.array_equal(tapped(fid), loader(fid), equal_nan=True)
    assert np.array_equal(tapped("rgb/RGB_0001.jpg"), loader("rgb/RGB_0001.jpg"))
    assert len(early) == 1 and not early.wants(fid)
    want = detect(gf, loader.temperature(fid), DetectionConfig())  # type: ignore[arg-type]
    got = early.pop(fid)
    assert got is not None and [d.centroid_px for d in got] == [d.centroid_px for d in want]
    assert early.pop(fid) is None and len(early) == 0
    assert isinstance(pickle.loads(pickle.dumps(tapped)), FrameLoader)
    full = EarlyDetections([gf], DetectionConfig(), max_bytes=0)  # type: ignore[list-item]
    full.tap(loader)(fid)
    assert len(full) == 0 and full.pop(fid) is None
