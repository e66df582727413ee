"""Faults the live mode survives: telemetry gaps, 20 % MAVLink loss, a corrupt frame, a
video stream that drops and comes back, frames without telemetry, a mosaic that
cannot keep up. Each run checks that processing went on, no hotspot was lost and the
counters say what happened."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dronepipe.flightlogs import read_telemetry
from dronepipe.flightlogs.records import Pose
from dronepipe.stream.arrivals import Arrival
from dronepipe.stream.config import LiveConfig
from dronepipe.stream.mosaic_worker import MosaicJob, MosaicWorker
from dronepipe.stream.poses import FixedPoses
from dronepipe.stream.processor import LiveProcessor
from tests.stream.livesim import loopback_run, nearest_m, simulate_tiny, truth_targets

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_tiny(tmp_path_factory.getbasetemp() / "live_tiny_flight")


def _points(out: Path) -> list[dict]:
    feats = json.loads((out / "hotspots.geojson").read_text())["features"]
    return [f for f in feats if f["geometry"]["type"] == "Point"]


def test_loss_gap_and_corrupt_frame(flight: Path, tmp_path: Path) -> None:
    """20 % loss, a 2.4 s silence over three stills, still number 5 damaged."""
    run = loopback_run(flight, tmp_path, replay_options={
        "drop_telemetry": 0.2, "gaps": ((14.3, 2.4),), "corrupt_frames": (5,), "seed": 3})
    st = run.live.status
    assert run.replay.records_lost > 0.1 * (run.replay.records_sent + run.replay.records_lost)
    assert run.replay.records_in_gaps > 0
    assert st["telemetry_messages"] == run.replay.records_sent
    assert st["frames_corrupt"] == 1
    assert st["dropped_no_pose"] >= 1          # the stills inside the silence
    assert st["frames_processed"] >= 6         # the rest went on
    assert st["frames_processed"] + st["dropped_no_pose"] + 1 == st["frames_received"] == 12
    for t in truth_targets(flight, ("fire",)):
        assert nearest_m(t, _points(run.config.out_dir)) < 4.0
    assert (run.config.out_dir / "ortho_thermal.tif").is_file()


def test_video_drops_and_comes_back(flight: Path, tmp_path: Path) -> None:
    """The MJPEG server goes down for 0.3 s in the middle of the 2 s video; the live mode reconnects."""
    run = loopback_run(flight, tmp_path, video=True, speed=1.0, live_options={
        "reconnect_max_s": 0.25, "span_c": (0.0, 150.0)}, replay_options={"video_drops": ((3.2, 0.3),)})
    st = run.live.status
    assert run.replay.counts["video_drops"] == 1
    assert st["video_reconnects"] >= 1
    assert st["video_frames"] >= 30
    assert st["frames_detected"] == st["frames_processed"] >= 20
    # about 21 frames come before the drop, so frames numbered past 30 came after it
    names = {h["id"] for h in json.loads((run.config.out_dir / "process.json").read_text())["placed"]}
    last = max(int(n.split("#")[1]) for n in names)
    assert last >= 30, (last, st)
    prov = json.loads((run.config.out_dir / "process.json").read_text())
    assert prov["mosaics"]["thermal"]["radiometric"] is False


class _GrowingPoses(FixedPoses):
    """Telemetry that reaches only as far as the test lets it."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.until = -np.inf

    def covered_until(self) -> float:
        return min(self.until, self.telemetry.end_utc_s)

    def pose_at(self, t_utc_s: float) -> Pose:
        if t_utc_s > self.until:
            raise AssertionError("pose asked beyond the telemetry")
        return super().pose_at(t_utc_s)


def _stills(flight: Path) -> list[tuple[Path, float]]:
    from dronepipe.flightlogs.timesync import pose_frames
    from dronepipe.frames.discover import discover_frames

    tel = read_telemetry(flight / "flight.tlog")
    frames = discover_frames(flight / "thermal").frames
    results, _ = pose_frames(frames, tel)
    return [(f.path, r.pose.t_utc_s) for f, r in zip(frames, results, strict=True)]


def test_frames_wait_for_telemetry_then_drop(flight: Path, tmp_path: Path) -> None:
    tel = read_telemetry(flight / "flight.tlog")
    poses = _GrowingPoses(tel)
    stills = _stills(flight)
    cfg = LiveConfig(out_dir=tmp_path, cameras=flight / "cameras.toml", pose_timeout_s=1.0,
                     register=False, settle_s=0.0)
    proc = LiveProcessor(cfg, poses)
    try:
        for path, t in stills[:4]:
            proc.submit(Arrival(path.name, "thermal", time.time(), path=path, t_capture_utc_s=t))
        time.sleep(0.3)
        assert proc.status()["pending"] == 4 and proc.counters.get("frames_processed") == 0
        poses.until = stills[1][1] + 0.01          # telemetry now covers the first two
        _wait(lambda: proc.counters.get("frames_processed") == 2)
        _wait(lambda: proc.counters.get("dropped_no_pose") == 2, 3.0)   # the others time out
    finally:
        proc.close()
    assert proc.status()["pending"] == 0


def _wait(cond, timeout_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    t_end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < t_end, "condition not reached in time"
        time.sleep(0.02)


def test_mosaic_skips_under_load_but_every_frame_is_detected(
        flight: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real_feed = MosaicWorker._feed

    def slow_feed(self: MosaicWorker, job: MosaicJob) -> None:
        gate.wait(5.0)                              # the mosaic is stuck until released
        real_feed(self, job)

    monkeypatch.setattr(MosaicWorker, "_feed", slow_feed)
    tel = read_telemetry(flight / "flight.tlog")
    cfg = LiveConfig(out_dir=tmp_path, cameras=flight / "cameras.toml", keyframe_overlap=1.0,
                     mosaic_queue=1, register=False)
    proc = LiveProcessor(cfg, FixedPoses(tel))
    try:
        for path, t in _stills(flight):
            proc.submit(Arrival(path.name, "thermal", time.time(), path=path, t_capture_utc_s=t))
        _wait(lambda: proc.counters.get("frames_detected") == 12, 10.0)
        gate.set()
    finally:
        gate.set()
        proc.close()
    st = proc.status()
    assert st["frames_detected"] == st["frames_processed"] == 12
    assert st["mosaic_skipped"] > 0
    assert st["mosaic_taken"] + st["mosaic_skipped"] == st["keyframes"]
    assert st["hotspots"] >= 2
