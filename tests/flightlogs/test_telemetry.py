"""Telemetry.pose_at / poses_at on hand-made tracks: interpolation, slerp, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronepipe.errors import NoPoseError
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack

T0 = 1_700_000_000.0


def _telemetry(t_pos: np.ndarray, lon: np.ndarray | None = None, yaw: np.ndarray | None = None,
               gimbal: GimbalTrack | None = None) -> Telemetry:
    n = t_pos.size
    lon = np.full(n, 8.0) if lon is None else lon
    pos = PositionTrack(t_pos, 50.0 + np.arange(n) * 1e-4, lon, 100.0 + np.arange(n), 10.0 + np.arange(n),
                        np.full(n, 5.0), np.full(n, 3), np.full(n, 10), np.full(n, 0.9), source="test")
    yaw = np.zeros(n) if yaw is None else yaw
    att = AttitudeTrack(t_pos, np.zeros(n), np.zeros(n), yaw, source="test")
    return Telemetry("test.tlog", "tlog", pos, att, gimbal)


def test_linear_position_and_exact_samples() -> None:
    tel = _telemetry(T0 + np.arange(5.0))
    p = tel.pose_at(T0 + 1.25)
    assert (p.lat_deg, p.alt_msl_m, p.alt_rel_m) == pytest.approx((50.0 + 1.25e-4, 101.25, 11.25))
    exact = tel.pose_at(T0 + 3.0)
    assert (exact.lat_deg, exact.lon_deg, exact.alt_msl_m) == (tel.position.lat_deg[3], 8.0, 103.0)
    assert tel.pose_at(T0 + 4.0).alt_msl_m == 104.0   # the last sample itself is inside
    assert p.source == "tlog:interpolated"


def test_slerp_yaw_across_plus_minus_180() -> None:
    tel = _telemetry(T0 + np.arange(2.0), yaw=np.radians([170.0, -170.0]))
    assert math.degrees(tel.pose_at(T0 + 0.5).yaw_rad) == pytest.approx(-180.0, abs=1e-9) or \
        math.degrees(tel.pose_at(T0 + 0.5).yaw_rad) == pytest.approx(180.0, abs=1e-9)
    assert math.degrees(tel.pose_at(T0 + 0.25).yaw_rad) == pytest.approx(175.0, abs=1e-9)
    assert math.degrees(tel.pose_at(T0 + 0.75).yaw_rad) == pytest.approx(-175.0, abs=1e-9)


def test_longitude_across_the_antimeridian() -> None:
    tel = _telemetry(T0 + np.arange(2.0), lon=np.array([179.9, -179.9]))
    assert tel.pose_at(T0 + 0.25).lon_deg == pytest.approx(179.95)
    assert tel.pose_at(T0 + 0.75).lon_deg == pytest.approx(-179.95)


def test_refusals_say_why() -> None:
    tel = _telemetry(T0 + np.array([0.0, 1.0, 5.0, 6.0]))
    with pytest.raises(NoPoseError, match=r"before the position track starts \(2023-11-14T22:13:20.000Z\)"):
        tel.pose_at(T0 - 0.001)
    with pytest.raises(NoPoseError, match="after the position track ends"):
        tel.pose_at(T0 + 6.001)
    with pytest.raises(NoPoseError, match=r"in a 4.0 s gap of the position track \(no pose across gaps over 2 s\)"):
        tel.pose_at(T0 + 3.0)
    assert tel.pose_at(T0 + 3.0, max_gap_s=4.0).lat_deg == pytest.approx(50.0 + 1e-4 + 0.5e-4)
    with pytest.raises(NoPoseError, match="not a time"):
        tel.pose_at(float("nan"))
    assert tel.gaps() == [("position", T0 + 1.0, T0 + 5.0), ("attitude", T0 + 1.0, T0 + 5.0)]


def test_poses_at_matches_pose_at() -> None:
    tel = _telemetry(T0 + np.arange(10.0), yaw=np.linspace(-3, 3, 10))
    t = T0 + np.array([-1.0, 0.0, 0.3, 4.5, 9.0, 9.5])
    arr = tel.poses_at(t)
    assert arr.ok.tolist() == [False, True, True, True, True, False]
    for i in np.flatnonzero(arr.ok):
        assert arr.pose(int(i)) == tel.pose_at(float(t[i]))
    assert np.isnan(arr.lat_deg[0]) and arr.gimbal_pitch_rad is None
    with pytest.raises(NoPoseError):
        arr.pose(0)


def test_gimbal_body_frame_yaw_needs_vehicle_yaw() -> None:
    t = T0 + np.arange(4.0)
    g = GimbalTrack(t, np.zeros(4), np.full(4, -math.pi / 2), np.full(4, 0.5), np.zeros(4, bool),
                    np.full(4, 1.5), source="MOUNT_STATUS")
    tel = _telemetry(t, yaw=np.full(4, 1.0), gimbal=g)
    p = tel.pose_at(T0 + 1.5)
    assert (p.gimbal_pitch_rad, p.gimbal_yaw_rad) == pytest.approx((-math.pi / 2, 1.5))
    with pytest.raises(NoPoseError, match="after the gimbal track ends"):
        _telemetry(T0 + np.arange(6.0), gimbal=g).pose_at(T0 + 4.5)


def test_tracks_are_read_only_and_sorted() -> None:
    tel = _telemetry(T0 + np.arange(3.0))
    with pytest.raises(ValueError):
        tel.position.lat_deg[0] = 1.0
    shuffled = AttitudeTrack(np.array([2.0, 0.0, 1.0]), np.zeros(3), np.zeros(3), np.array([2.0, 0.0, 1.0]))
    assert shuffled.sorted().yaw_rad.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="different lengths"):
        AttitudeTrack(np.zeros(2), np.zeros(3), np.zeros(3), np.zeros(3))
