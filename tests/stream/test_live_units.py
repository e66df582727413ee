"""Units of the live mode: keyframe selection, frame-time choice, the clock map, folder
watching (partial files ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dronepipe.stream.clockmap import ClockMap
from dronepipe.stream.folder import FolderScanner, is_candidate
from dronepipe.stream.frametime import FrameTimer
from dronepipe.stream.keyframes import KeyframeSelector, footprint_overlap

SQUARE = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])


def test_footprint_overlap() -> None:
    assert footprint_overlap(SQUARE, SQUARE) == pytest.approx(1.0)
    assert footprint_overlap(SQUARE + [5.0, 0.0], SQUARE) == pytest.approx(0.5)
    assert footprint_overlap(SQUARE + [20.0, 0.0], SQUARE) == 0.0
    assert footprint_overlap(SQUARE * 0.5, SQUARE) == pytest.approx(1.0)


def test_keyframes_by_overlap_and_no_hole_after_a_skip() -> None:
    sel = KeyframeSelector(0.7)
    assert sel.is_keyframe("thermal", SQUARE)
    sel.accept("thermal", SQUARE)
    assert not sel.is_keyframe("thermal", SQUARE + [2.0, 0.0])     # 80 % overlap
    assert sel.is_keyframe("thermal", SQUARE + [4.0, 0.0])         # 60 %
    # the mosaic skipped that keyframe (not accepted): the next frame is a candidate too
    assert sel.is_keyframe("thermal", SQUARE + [4.5, 0.0])
    sel.accept("thermal", SQUARE + [4.5, 0.0])
    assert not sel.is_keyframe("thermal", SQUARE + [5.0, 0.0])
    assert sel.is_keyframe("rgb", SQUARE)                          # kinds apart


def test_clock_map_follows_rate_and_restarts_on_a_clock_change() -> None:
    cm = ClockMap()
    assert cm.to_telemetry(100.0) is None
    for k in range(20):
        cm.add(1000.0 + k * 0.1, 5000.0 + k * 0.4)                 # a replay at 4x
    assert cm.rate == pytest.approx(4.0, rel=1e-6)
    assert cm.to_telemetry(1002.0) == pytest.approx(5008.0, abs=1e-6)
    cm.add(1002.0, 10.0)                                           # autopilot UTC arrives
    assert cm.to_telemetry(1002.0) == pytest.approx(10.0)


def _timer(tmp_events: np.ndarray, offset: float | None = None) -> FrameTimer:
    cm = ClockMap()
    cm.add(0.0, 1000.0)                                            # telemetry = wall + 1000
    return FrameTimer(cm, lambda: tmp_events, latency_s=0.2, time_offset_s=offset,
                      exif_tolerance_s=30.0, sync_wait_s=1.0)


def test_frame_time_choice() -> None:
    none = np.zeros(0)
    t = _timer(none)
    assert t.time_of(1234.5, 1.0, 50.0, 0.0).source == "source"
    got = t.time_of(None, None, 50.0, 0.0)
    assert got.source == "arrival" and got.t_utc_s == pytest.approx(1049.8)
    assert t.time_of(None, 1049.0, 50.0, 0.0).source == "exif"        # trusted: 0.8 s off
    assert t.time_of(None, 9_000.0, 50.0, 0.0).source == "arrival"    # a camera clock never set
    given = _timer(none, offset=0.85).time_of(None, 1049.85, 50.0, 0.0)
    assert given.t_utc_s == pytest.approx(1049.0) and "given" in given.source


def test_exif_time_waits_for_trigger_sync_then_uses_it() -> None:
    events = 1000.0 + np.arange(10) * 2.0 + np.array([0, 0.3, 0.1, 0.7, 0.2, 0, 0.5, 0.1, 0.4, 0])
    t = _timer(events)
    assert t.time_of(None, events[0] + 0.85, 5.0, 0.0) is None        # waits for the sync
    for e in events[:5]:
        t.sync.add_frame(e + 0.85)                                   # camera 0.85 s ahead
    got = t.time_of(None, events[3] + 0.85, 5.0, 0.0)
    assert got.source == "exif+trigger events"
    assert got.t_utc_s == pytest.approx(events[3], abs=0.01)
    lonely = _timer(events)
    assert lonely.time_of(None, 1001.0, 5.0, 2.0).source == "exif"    # waited long enough


def test_candidate_names() -> None:
    assert is_candidate("TH_0001.tiff") and is_candidate("a.JPG")
    for name in (".TH_0001.tiff.tmp", "TH_0001.tiff.tmp", "TH_0001.tiff.part", ".hidden.jpg",
                 "TH_0001.tmp.tiff", "notes.txt", "x.jpg~"):
        assert not is_candidate(name), name


def test_folder_takes_complete_files_only(tmp_path: Path) -> None:
    sc = FolderScanner(tmp_path, stable_s=0.1)
    (tmp_path / ".TH_1.tiff.tmp").write_bytes(b"x" * 100)              # being written
    growing = tmp_path / "TH_2.tiff"
    growing.write_bytes(b"x" * 10)
    assert sc.poll(now=10.0) == []                                   # first sight
    with growing.open("ab") as f:
        f.write(b"y" * 10)
    os.utime(growing, ns=(1, 2))
    assert sc.poll(now=10.2) == []                                   # changed: not yet
    assert [p.name for p, _, _ in sc.poll(now=10.4)] == ["TH_2.tiff"]
    os.replace(tmp_path / ".TH_1.tiff.tmp", tmp_path / "thermal_x.tiff")
    (tmp_path / "thermal").mkdir()
    (tmp_path / "thermal" / "TH_3.tiff").write_bytes(b"z" * 10)
    assert sc.poll(now=11.0) == []
    ready = sc.poll(now=11.2)
    assert sorted((p.name, k) for p, k, _ in ready) == [("TH_3.tiff", "thermal"),
                                                         ("thermal_x.tiff", None)]
    assert all(first == 11.0 for _, _, first in ready)
    assert sc.poll(now=12.0) == []                                   # taken once
