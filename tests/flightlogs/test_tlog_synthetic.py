"""tlogs written with pymavlink's encoder: UTC from SYSTEM_TIME (not the ground-station
stamps), camera messages, MOUNT_STATUS and GIMBAL_DEVICE_ATTITUDE_STATUS, bad CRCs,
MAVLink 1, reboots."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import DronepipeWarning
from dronepipe.flightlogs import read_telemetry, read_telemetry_bytes
from tests.flightlogs import oracle, synth
from tests.flightlogs.synth import GCS_SKEW_S, UTC_OFFSET_S, Truth

ATT_BOOT = 10.0 + np.arange(400) * 0.1
CAM_BOOT = 10.0 + np.arange(50, 200, 10) * 0.2


def _read(data: bytes, name: str = "flight.tlog"):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        return read_telemetry_bytes(data, name)


@pytest.mark.parametrize("kw", [{}, {"mavlink1": True}, {"gimbal": "gdas", "bad_crc_every": 37}],
                         ids=["mavlink2", "mavlink1-mixed", "gdas-bad-crc"])
def test_counts_equal_pymavlink(tmp_path: Path, kw: dict[str, object]) -> None:
    path = tmp_path / "f.tlog"
    path.write_bytes(synth.tlog_flight(**kw))  # type: ignore[arg-type]
    counts, _ = oracle.tlog_messages(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        assert dict(read_telemetry(path).messages) == dict(counts)


def test_utc_comes_from_system_time_not_the_ground_station() -> None:
    tel = _read(synth.tlog_flight())
    assert tel.time_source == "autopilot"
    assert np.allclose(tel.attitude.t_utc_s, ATT_BOOT + UTC_OFFSET_S, atol=1e-6)
    assert tel.position.t_utc_s[0] == pytest.approx(10.6 + UTC_OFFSET_S, abs=1e-6)  # 3 without fix
    assert tel.stats.no_fix_positions == 3


@pytest.mark.filterwarnings("ignore:.*positions without a 3D GPS fix")
def test_ground_station_fallback_is_flagged_and_warned() -> None:
    with pytest.warns(DronepipeWarning, match="ground station"):
        tel = read_telemetry_bytes(synth.tlog_flight(system_time=False, camera=False), "f.tlog")
    assert tel.time_source == "ground_station"
    assert np.allclose(tel.attitude.t_utc_s, ATT_BOOT + UTC_OFFSET_S + GCS_SKEW_S, atol=1e-3)


def test_without_system_time_camera_utc_stamps_map_the_clock() -> None:
    tel = _read(synth.tlog_flight(system_time=False))
    assert tel.time_source == "autopilot"
    # paired with the boot time at arrival: off by the sending latency, here 0.1 s
    assert np.allclose(tel.attitude.t_utc_s, ATT_BOOT + UTC_OFFSET_S, atol=0.11)


def test_camera_events() -> None:
    tel = _read(synth.tlog_flight())
    by_source: dict[str, list] = {}
    for e in tel.camera_events:
        by_source.setdefault(e.source, []).append(e)
    assert sorted(by_source) == ["CAMERA_FEEDBACK", "CAMERA_IMAGE_CAPTURED", "CAMERA_TRIGGER"]
    for events in by_source.values():
        assert [e.image_index for e in events] == list(range(1, 16))
        assert np.allclose([e.t_utc_s for e in events], CAM_BOOT + UTC_OFFSET_S, atol=1e-6)
    assert all(e.pose is None for e in by_source["CAMERA_TRIGGER"])
    fb = by_source["CAMERA_FEEDBACK"][4].pose
    b = CAM_BOOT[4]
    assert fb is not None
    assert (fb.lat_deg, fb.alt_rel_m) == pytest.approx((float(Truth.lat(np.array(b))), float(Truth.rel(np.array(b)))), abs=1e-6)
    assert math.degrees(fb.yaw_rad) % 360 == pytest.approx(float(Truth.yaw_deg(np.array(b))), abs=1e-4)
    # MOUNT_STATUS: body-frame yaw 20 deg on top of the vehicle's yaw
    assert math.degrees(fb.gimbal_yaw_rad) % 360 == pytest.approx((float(Truth.yaw_deg(np.array(b))) + 20) % 360, abs=1e-3)
    cap = by_source["CAMERA_IMAGE_CAPTURED"][4].pose
    assert cap is not None and math.degrees(cap.gimbal_pitch_rad) == pytest.approx(-90.0)
    assert math.degrees(cap.gimbal_yaw_rad) % 360 == pytest.approx(float(Truth.yaw_deg(np.array(b))), abs=1e-4)


def test_mount_status_gimbal() -> None:
    tel = _read(synth.tlog_flight())
    g = tel.gimbal
    assert g is not None and g.source == "MOUNT_STATUS" and not g.yaw_is_earth.any()
    assert np.allclose(np.degrees(g.pitch_rad), -90.0) and np.allclose(np.degrees(g.yaw_rad), 20.0)
    pose = tel.pose_at(UTC_OFFSET_S + 33.3)
    assert math.degrees(pose.gimbal_pitch_rad) == pytest.approx(-90.0)


def test_gimbal_device_attitude_status_earth_frame_quaternion() -> None:
    tel = _read(synth.tlog_flight(gimbal="gdas"))
    g = tel.gimbal
    assert g is not None and g.source == "GIMBAL_DEVICE_ATTITUDE_STATUS" and g.yaw_is_earth.all()
    pose = tel.pose_at(UTC_OFFSET_S + 30.1)
    # from the gimbal's own component: stamped with the autopilot's boot time at arrival,
    # 0.1 s after the sample in this synthetic stream
    assert math.degrees(pose.gimbal_pitch_rad) == pytest.approx(-90 + 0.5 * 20.0, abs=1e-4)
    assert math.degrees(pose.gimbal_yaw_rad) == pytest.approx(20.0, abs=1e-4)
    assert pose.gimbal_roll_rad == pytest.approx(0.0, abs=1e-9)


def test_bad_crcs_are_counted_and_the_rest_kept() -> None:
    data = synth.tlog_flight(bad_crc_every=37)
    with pytest.warns(DronepipeWarning, match="frames with a bad CRC"):
        tel = read_telemetry_bytes(data, "f.tlog")
    good = _read(synth.tlog_flight())
    total = sum(good.messages.values())
    assert tel.stats.bad_crc == total // 37
    assert sum(tel.messages.values()) == total - total // 37


def test_reboot_starts_a_new_boot_session() -> None:
    tel = _read(synth.tlog_flight(reboot_at=30.0))
    assert tel.time_source == "autopilot"
    assert np.allclose(tel.attitude.t_utc_s, ATT_BOOT + UTC_OFFSET_S, atol=1e-6)


def test_gps_raw_int_positions_without_global_position_int() -> None:
    tel = _read(synth.tlog_flight(gpi=False))
    assert tel.position.source == "GPS_RAW_INT"
    boot = 10.0 + np.arange(3, 200) * 0.2
    assert np.allclose(tel.position.t_utc_s, boot + UTC_OFFSET_S, atol=1e-6)
    assert np.allclose(tel.position.lat_deg, np.round(Truth.lat(boot) * 1e7) / 1e7)
    assert np.allclose(tel.position.alt_rel_m, Truth.rel(boot) - 0.6, atol=1e-3)  # home: first 3D fix
    assert np.allclose(tel.position.hdop, 0.8) and np.all(tel.position.satellites == 12)
    assert np.allclose(tel.position.ground_speed_m_s, 5.0)
