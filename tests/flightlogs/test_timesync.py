"""Time sync on synthetic flights with known clocks: events, EXIF GPS, the files' own UTC."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dronepipe.flightlogs.records import CameraEvent, Pose
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.timesync import (
    estimate_offset_from_gps,
    match_events,
    sync_frames,
)
from dronepipe.flightlogs.tracks import AttitudeTrack, PositionTrack
from dronepipe.frames.metadata import FrameMeta
from dronepipe.frames.refs import FrameRef, Posed, Rejected

T0 = 1_777_622_400.0  # 2026-05-01 08:00 UTC
LAT0, LON0 = 49.4447, 7.7689
M_PER_DEG_LAT = 111_200.0


def _lawnmower(t: np.ndarray, speed: float = 5.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(east, north, yaw) of 200 m legs 40 m apart at ``speed``, with 8 s turns."""
    leg, turn = 200.0 / speed, 8.0
    k, s = np.divmod(t - T0, leg + turn)
    along = np.clip(s, 0, leg) * speed
    east = np.where(k % 2 == 0, along, 200.0 - along)
    north = 40.0 * k + np.clip(s - leg, 0, turn) / turn * 40.0
    yaw = np.where(s > leg, 0.0, np.where(k % 2 == 0, math.pi / 2, -math.pi / 2))
    return east, north, yaw


def _lonlat(east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (LON0 + east / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))), LAT0 + north / M_PER_DEG_LAT)


def _telemetry(duration: float = 600.0, events: tuple[CameraEvent, ...] = ()) -> Telemetry:
    t = T0 + np.arange(0.0, duration, 0.1)
    e, n, yaw = _lawnmower(t)
    lon, lat = _lonlat(e, n)
    k = t.size
    pos = PositionTrack(t, lat, lon, np.full(k, 315.0), np.full(k, 80.0), np.full(k, 5.0),
                        np.full(k, 3), np.full(k, 12), np.full(k, 0.8), source="GLOBAL_POSITION_INT")
    att = AttitudeTrack(t, np.zeros(k), np.zeros(k), yaw, source="ATTITUDE")
    return Telemetry("synthetic.tlog", "tlog", pos, att, camera_events=events)


def _frame(i: int, t_cam: float, lat: float | None = None, lon: float | None = None,
           resolution: float = 0.001) -> FrameRef:
    meta = FrameMeta(width=640, height=512, t_camera_s=t_cam, time_resolution_s=resolution,
                     lat_deg=lat, lon_deg=lon)
    return FrameRef(Path(f"T_{i:04d}.tiff"), "thermal", t_cam, 640, 512, meta)


def _triggers(rng: np.random.Generator, duration: float) -> np.ndarray:
    """Trigger times by distance (every ~12 m, irregular with speed and turns)."""
    t = T0 + 5.0 + np.cumsum(rng.uniform(2.0, 3.0, int(duration / 2.5)))
    return t[t < T0 + duration - 5.0]


def test_events_recover_offset_and_match_every_frame() -> None:
    rng = np.random.default_rng(4)
    trig = _triggers(rng, 600.0)
    e, n, yaw = _lawnmower(trig)
    lon, lat = _lonlat(e, n)
    events = tuple(CameraEvent(float(t), i, Pose(float(t), float(la), float(lo), 315.0, 80.0, 0.0, 0.0, float(y)),
                               "CAMERA_FEEDBACK") for i, (t, la, lo, y) in enumerate(zip(trig, lat, lon, yaw)))
    offset = -3600.0 * 2 + 0.85  # camera clock two hours ahead (local time) and 0.85 s off
    extra = {7, 55, 130}          # triggers whose photo was never written
    frames = [_frame(i, float(t) - offset + rng.normal(0, 0.003)) for i, t in enumerate(trig) if i not in extra]
    lost = {20, 90}               # photos whose trigger the autopilot did not log
    tel = _telemetry(events=tuple(ev for i, ev in enumerate(events) if i not in lost))
    result = sync_frames(frames, tel)
    rep = result.report
    assert rep.method == "camera-events"
    assert rep.offset_s == pytest.approx(offset, abs=0.003)
    assert rep.residual_median < 0.005 and rep.n_posed == len(frames)
    assert set(rep.unmatched_frames) == {"T_0020.tiff", "T_0090.tiff"}
    assert sorted(rep.unmatched_events) == pytest.approx(sorted(trig[list(extra)]))
    for r in result.results:
        assert isinstance(r, Posed)
        i = int(r.frame.name[2:6])
        if i in lost:
            assert "no trigger for this frame" in r.pose.source
            assert r.pose.t_utc_s == pytest.approx(trig[i], abs=0.01)
        else:
            assert r.pose.t_utc_s == trig[i] and "CAMERA_FEEDBACK #" in r.pose.source
            assert r.pose.lat_deg == pytest.approx(lat[i], abs=1e-12)


def test_event_alignment_with_whole_second_exif_times() -> None:
    rng = np.random.default_rng(5)
    trig = _triggers(rng, 400.0)
    offset = 12.6
    frames = np.floor(trig - offset)  # cameras truncate to the second
    m = match_events(frames, trig, resolution_s=1.0)
    assert m is not None and len(m.pairs) == trig.size and not m.unmatched_frames
    assert all(i == j for i, j in m.pairs)
    assert m.offset_s == pytest.approx(offset, abs=0.3)


def test_regular_triggers_are_told_apart_by_positions() -> None:
    trig = T0 + 10.0 + 2.0 * np.arange(100)  # perfectly periodic: time alone is ambiguous
    f = np.delete(trig, [0, 1]) - 30.0
    e, n, _ = _lawnmower(trig)

    def cost(offset: float) -> float:  # distance between frame and event positions at this alignment
        q = f + offset
        j = np.clip(np.searchsorted(trig, q), 0, trig.size - 1)
        fe, fn, _ = _lawnmower(f + 30.0)
        return float(np.median(np.hypot(e[j] - fe, n[j] - fn)))

    m = match_events(f, trig, tie_break=cost)
    assert m.offset_s == pytest.approx(30.0, abs=1e-6)


def test_exif_gps_offset_within_a_tenth_of_a_second() -> None:
    rng = np.random.default_rng(6)
    tel = _telemetry()
    t_true = np.sort(rng.uniform(T0 + 20, T0 + 580, 40))
    e, n, _ = _lawnmower(t_true)
    lon, lat = _lonlat(e + rng.normal(0, 1.0, e.size), n + rng.normal(0, 1.0, n.size))
    offset = 3600.0 - 4.37
    frames = [_frame(i, float(t) - offset, float(la), float(lo)) for i, (t, la, lo) in enumerate(zip(t_true, lat, lon))]
    g = estimate_offset_from_gps([f.t_camera_s for f in frames], lat, lon, tel.position)
    assert g.offset_s == pytest.approx(offset, abs=0.1)
    assert g.sigma_s < 0.1 and np.median(g.residuals_m) < 2.0
    result = sync_frames(frames, tel)
    assert result.report.method == "exif-gps" and result.report.residual_unit == "m"
    assert result.report.offset_s == pytest.approx(offset, abs=0.1)
    assert all(isinstance(r, Posed) for r in result.results)


def test_file_utc_hand_offset_and_refusals() -> None:
    tel = _telemetry(duration=100.0)
    utc = [FrameRef(Path(f"u{i}.jpg"), "rgb", T0 + 10.0 * i, 100, 75,
                    FrameMeta(t_camera_s=T0 + 10.0 * i, utc_offset_s=7200.0)) for i in range(1, 4)]
    res = sync_frames(utc, tel)
    assert res.report.method == "file-utc" and res.report.offset_s == 0.0 and len(res.posed) == 3
    plain = [_frame(i, T0 + 10.0 * i - 5.0) for i in range(1, 12)]
    none = sync_frames(plain, tel)
    assert none.report.method == "none" and all("--time-offset" in r.reason for r in none.rejected)
    hand = sync_frames(plain, tel, time_offset_s=5.0)
    assert hand.report.method == "hand-offset"
    assert [r.ok for r in hand.results] == [True] * 9 + [False] * 2  # 100 s and 105 s are after the log
    assert "after the position track ends" in hand.results[-1].reason
    untimed = FrameRef(Path("x.jpg"), "rgb", None, 10, 10, FrameMeta())
    assert isinstance(sync_frames([untimed], tel).results[0], Rejected)


def test_pose_frames_with_and_without_a_log() -> None:
    from dronepipe.flightlogs.timesync import pose_frames

    tel = _telemetry(duration=100.0)
    xmp = FrameMeta(width=640, height=512, t_camera_s=T0 + 500.0, lat_deg=LAT0, lon_deg=LON0, alt_rel_m=80.0,
                    alt_abs_m=315.0, gimbal_roll_rad=0.0, gimbal_pitch_rad=-math.pi / 2, gimbal_yaw_rad=0.3)
    frames = [_frame(1, T0 + 10.0), FrameRef(Path("own.jpg"), "thermal", T0 + 500.0, 640, 512, xmp)]
    results, reports = pose_frames(frames, tel, time_offset_s=0.0)
    assert reports["thermal"].method == "hand-offset"
    assert results[0].ok and results[0].pose.t_utc_s == T0 + 10.0
    assert results[1].ok and "log could not place it" in results[1].pose.source  # 500 s is after the log
    alone, rep = pose_frames(frames)
    assert rep["exif"].method == "exif" and not alone[0].ok and alone[1].ok


def test_camera_feedback_read_from_a_tlog(tmp_path: Path) -> None:
    from dronepipe.flightlogs import read_telemetry
    from dronepipe.flightlogs.tlog_writer import TlogWriter

    rng = np.random.default_rng(8)
    boot = T0 - 100.0
    trig = _triggers(rng, 60.0)
    path = tmp_path / "flight.tlog"
    with TlogWriter(path) as w:
        m = w.mav
        for k in range(600):
            t = T0 + 0.1 * k
            ms = int((t - boot) * 1000)
            e, n, yaw = _lawnmower(np.array([t]))
            lon, lat = _lonlat(e, n)
            la, lo = int(lat[0] * 1e7), int(lon[0] * 1e7)
            if k % 10 == 0:
                w.write(m.heartbeat_encode(2, 3, 0, 0, 4), t)
                w.write(m.system_time_encode(int(t * 1e6), ms), t)
                w.write(m.gps_raw_int_encode(int(t * 1e6), 3, la, lo, 315000, 80, 80, 500, 0, 12), t)
            w.write(m.global_position_int_encode(ms, la, lo, 315000, 80000, 500, 0, 0, 0), t)
            w.write(m.attitude_encode(ms, 0.0, 0.0, float(yaw[0]), 0, 0, 0), t)
        for i, t in enumerate(trig):
            e, n, yaw = _lawnmower(np.array([t]))
            lon, lat = _lonlat(e, n)
            w.write(m.camera_feedback_encode(int(t * 1e6), 1, 0, i, int(lat[0] * 1e7), int(lon[0] * 1e7),
                                             315.0, 80.0, 0.0, 0.0, math.degrees(yaw[0]), 0.0, 0, i), t + 0.05)
    tel = read_telemetry(path)
    assert len(tel.camera_events) == trig.size
    frames = [_frame(i, float(t) + 0.85) for i, t in enumerate(trig)]  # the camera clock runs 0.85 s ahead
    result = sync_frames(frames, tel)
    assert result.report.method == "camera-events" and result.report.offset_s == pytest.approx(-0.85, abs=1e-3)
    assert [r.pose.t_utc_s for r in result.posed] == pytest.approx(list(trig), abs=1e-3)
    assert all("CAMERA_FEEDBACK" in r.pose.source for r in result.posed)
