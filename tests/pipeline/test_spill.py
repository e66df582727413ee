"""The frame cache's disk tier: frames the memory cache drops are written once and read
back instead of decoded, bit for bit and read-only; budget, failures and worker
processes; thermal counts pickle with their scale, not their table."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest

from dronepipe.pipeline.framecache import FrameCache, worker_cache
from dronepipe.pipeline.loader import FrameLoader, frame_id
from dronepipe.pipeline.spill import SPILL_DIR, SpillFolder, spill_for
from dronepipe.thermal import TIFF_SCALE_PRESETS, LinearCounts, decode_thermal
from dronepipe.thermal.tiff import celsius_table

DEMO = Path(__file__).resolve().parents[2] / "sample_data" / "demo"
MB = 2**20


def _frame(k: int, mb: float = 1.0) -> np.ndarray:
    return np.full(int(mb * MB), k % 251, np.uint8)


def _loads(cache: FrameCache, keys: str, calls: list[str], mb: float = 1.0) -> list[np.ndarray]:
    return [cache.get(k, lambda k=k: calls.append(k) or _frame(ord(k), mb), lambda a: a.nbytes)
            for k in keys]


def test_a_dropped_frame_is_read_back_not_decoded(tmp_path: Path) -> None:
    spill = SpillFolder(tmp_path / SPILL_DIR)
    cache = FrameCache(max_bytes=2 * MB, min_frames=2, spill=spill)
    calls: list[str] = []
    first = _loads(cache, "abc", calls)  # a is dropped for c
    again = _loads(cache, "a", calls)
    assert calls == ["a", "b", "c"], "a was decoded twice"
    assert np.array_equal(again[0], first[0]) and not again[0].flags.writeable
    s = cache.stats
    assert (s.misses, s.restored, s.dropped) == (3, 1, 2)  # reading a back dropped b
    assert spill.counts == {"written": 2, "read": 1}
    assert len(list(spill.folder.glob("*.pickle"))) == 2
    _loads(cache, "cab", calls)  # b back from disk; nothing is written twice
    assert calls == ["a", "b", "c"] and spill.counts["written"] == 3


def test_a_frame_too_big_to_keep_in_memory_is_not_written_either(tmp_path: Path) -> None:
    """A large RGB frame is decoded again rather than written (see framecache)."""
    spill = SpillFolder(tmp_path / SPILL_DIR)
    cache = FrameCache(max_bytes=4 * MB, min_frames=4, spill=spill)
    calls: list[str] = []
    _loads(cache, "bb", calls, mb=2.0)
    assert calls == ["b", "b"] and cache.stats.bytes == 0 and spill.counts["written"] == 0


def test_past_its_budget_frames_are_decoded_again(tmp_path: Path) -> None:
    spill = SpillFolder(tmp_path / SPILL_DIR, max_bytes=int(1.5 * MB))
    cache = FrameCache(max_bytes=1 * MB, min_frames=1, spill=spill)
    calls: list[str] = []
    _loads(cache, "abcab", calls)
    # a and b were written (the second past 1.5 MB), c never was; a and b come back
    assert spill.counts["written"] == 2 and calls == ["a", "b", "c"]
    _loads(cache, "dc", calls)
    assert calls == ["a", "b", "c", "d", "c"]


def test_a_folder_that_cannot_be_written_warns_once_and_the_run_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "blocked").write_text("a file where the folder's parent should be")
    spill = SpillFolder(tmp_path / "blocked" / SPILL_DIR)
    cache = FrameCache(max_bytes=1 * MB, min_frames=1, spill=spill)
    calls: list[str] = []
    with caplog.at_level(logging.WARNING, logger="dronepipe.pipeline.spill"):
        _loads(cache, "abcab", calls)
    assert calls == list("abcab")
    assert len([r for r in caplog.records if "no longer kept on disk" in r.message]) == 1


def test_an_unreadable_file_is_decoded_again(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    spill = SpillFolder(tmp_path / SPILL_DIR)
    cache = FrameCache(max_bytes=1 * MB, min_frames=1, spill=spill)
    calls: list[str] = []
    _loads(cache, "ab", calls)
    for f in spill.folder.glob("*.pickle"):
        f.write_bytes(b"truncated")
    with caplog.at_level(logging.WARNING, logger="dronepipe.pipeline.spill"):
        got = _loads(cache, "a", calls)
    assert calls == ["a", "b", "a"] and got[0][0] == ord("a") % 251
    assert any("unreadable decoded frame" in r.message for r in caplog.records)


def test_an_output_folder_that_cannot_be_made_means_no_spill(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the output folder should be")
    assert spill_for(tmp_path / "file" / "out") is None


def test_a_file_holding_another_key_is_not_taken_for_the_frame(tmp_path: Path) -> None:
    from dronepipe.pipeline import spill as spill_mod

    spill = SpillFolder(tmp_path / SPILL_DIR)
    spill.put("a", _frame(1))
    (spill.folder / spill_mod._name("a")).replace(spill.folder / spill_mod._name("b"))
    assert spill.get("b") is None and spill.get("a") is None


def test_remove_deletes_only_its_own_folder(tmp_path: Path) -> None:
    spill = spill_for(tmp_path / "out" / "nested")
    assert spill is not None and spill.max_bytes > 0
    assert spill.folder == tmp_path / "out" / "nested" / SPILL_DIR and spill.folder.is_dir()
    cache = FrameCache(max_bytes=1 * MB, min_frames=1, spill=spill)
    _loads(cache, "ab", [])
    assert spill.folder.is_dir()
    spill.remove()
    assert not spill.folder.exists() and (tmp_path / "out" / "nested").is_dir()
    other = SpillFolder(tmp_path / "out")
    other.remove()
    assert (tmp_path / "out").is_dir()


def test_a_worker_process_shares_the_folder_while_it_is_there(tmp_path: Path) -> None:
    spill = spill_for(tmp_path)
    assert spill is not None and spill.folder.is_dir()  # made at the start of the run
    other = pickle.loads(pickle.dumps(FrameCache(spill=spill)))
    assert other.spill is not None and other.spill.folder == spill.folder
    assert other is worker_cache(1) and other.spill is None  # a run without one
    gone = SpillFolder(tmp_path / "no-such-run" / SPILL_DIR)
    assert pickle.loads(pickle.dumps(FrameCache(spill=gone))).spill is None
    assert pickle.loads(pickle.dumps(FrameCache())).spill is None  # not an earlier run's


def test_thermal_counts_pickle_with_their_scale_and_share_the_table() -> None:
    table = celsius_table(TIFF_SCALE_PRESETS["centikelvin"])
    counts = np.arange(512 * 640, dtype=np.uint16).reshape(512, 640)
    data = pickle.dumps(LinearCounts(counts, table), protocol=5)
    assert len(data) < counts.nbytes + 4096  # not the 256 kB table
    back = pickle.loads(data)
    assert back.table is table and np.array_equal(back.counts, counts)
    assert not back.counts.flags.writeable
    own = table.copy()
    back = pickle.loads(pickle.dumps(LinearCounts(counts, own), protocol=5))
    assert np.array_equal(back.table, own, equal_nan=True) and back.table is not table


def test_the_loader_gives_the_decoders_temperatures_from_disk(tmp_path: Path) -> None:
    from dronepipe.frames.discover import discover_frames

    frames = {frame_id(f): f for f in discover_frames([DEMO / "thermal"]).frames}
    fids = sorted(frames)[:4]
    cache = FrameCache(max_bytes=2 * MB, min_frames=1, spill=SpillFolder(tmp_path / SPILL_DIR))
    loader = FrameLoader(frames, cache=cache)
    for fid in fids + fids:
        got, want = loader.temperature(fid), decode_thermal(frames[fid].path)
        assert np.array_equal(got.celsius.view(np.uint32), want.celsius.view(np.uint32))
        assert (got.notes, got.meta, got.params) == (want.notes, want.meta, want.params)
        assert not got.celsius.flags.writeable
    assert cache.stats.misses == 4 and cache.stats.restored >= 2


def test_a_run_with_a_small_cache_decodes_each_frame_once_and_makes_the_same_mosaic(
        tmp_path: Path) -> None:
    """The sample flight's thermal frames through a 21 MB memory cache (33 frames as
    counts, at most 1/32 of it each, so that the 36 frames do not fit): with the spill
    folder every frame is decoded once and the mosaic is the one made without it; the
    folder is gone afterwards."""
    import rasterio

    from dronepipe.pipeline.config import ProcessConfig
    from dronepipe.pipeline.process import process

    runs = {}
    for spill in (True, False):
        out = tmp_path / f"spill-{spill}"
        cfg = ProcessConfig(flight=DEMO, out_dir=out, kinds=("thermal",), frame_cache_mb=21,
                            spill_frames=spill, scheduler="synchronous")
        process(cfg)
        with rasterio.open(out / "ortho_thermal.tif") as src:
            mosaic = src.read(1)
        doc = json.loads((out / "process.json").read_text())
        runs[spill] = (mosaic, doc["frame_cache"])
        assert not (out / SPILL_DIR).exists()
    assert np.array_equal(runs[True][0], runs[False][0], equal_nan=True)
    with_spill, without = runs[True][1], runs[False][1]
    assert with_spill["misses"] == 36 and with_spill["restored"] > 0 and with_spill["spilled"] > 0
    assert without["misses"] > 36 and without["restored"] == 0


def test_the_folder_is_removed_when_a_stage_fails(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Registration spills frames, then the mosaic stage fails: the error reaches the
    caller and no decoded frame is left in the output folder."""
    import importlib

    from dronepipe.errors import DronepipeError
    from dronepipe.pipeline.config import ProcessConfig

    process_module = importlib.import_module("dronepipe.pipeline.process")
    seen: list[bool] = []

    def failing(run: object) -> None:
        seen.append((tmp_path / "out" / SPILL_DIR).is_dir())
        raise DronepipeError("disk full")

    monkeypatch.setattr(process_module, "_mosaics", failing)
    cfg = ProcessConfig(flight=DEMO, out_dir=tmp_path / "out", kinds=("thermal",),
                        frame_cache_mb=21, scheduler="synchronous")
    with pytest.raises(DronepipeError, match="disk full"):
        process_module.process(cfg)
    assert seen == [True] and not (tmp_path / "out" / SPILL_DIR).exists()
