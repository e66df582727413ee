"""DataFlash logs written by our writer: values, UTC mapping, camera events, gimbal frames,
gaps, text form, several logs in one file."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import DronepipeWarning, NoPoseError
from dronepipe.flightlogs import read_telemetry, read_telemetry_bytes
from dronepipe.flightlogs.dataflash_binary import DataFlashBinary
from dronepipe.flightlogs.dataflash_writer import DataFlashWriter
from dronepipe.flightlogs.gpstime import gps_week_ms_to_utc_s
from tests.flightlogs import oracle, synth
from tests.flightlogs.synth import UTC_OFFSET_S, Truth


def _read(data: bytes, name: str = "flight.bin"):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        return read_telemetry_bytes(data, name)


@pytest.fixture(scope="module")
def flight_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("df") / "flight.bin"
    path.write_bytes(synth.dataflash_flight())
    return path


def test_pymavlink_reads_what_we_wrote(flight_bin: Path) -> None:
    counts, records = oracle.dataflash_messages(str(flight_bin))
    with pytest.warns(DronepipeWarning, match="5 positions without a 3D GPS fix"):
        tel = read_telemetry(flight_bin)
    assert dict(tel.messages) == dict(counts)
    assert counts["CAM"] == len(synth.cam_boot_times()) == 25 and counts["MNT"] == 300
    cam = records["CAM"][0]
    assert (cam["Img"], cam["Lat"], cam["Y"]) == (1, pytest.approx(float(Truth.lat(np.array(20.0))), abs=1e-7),
                                                 pytest.approx(20.0, abs=1e-5))


def test_utc_from_gps_week_and_ms(flight_bin: Path) -> None:
    tel = _read(flight_bin.read_bytes())
    assert tel.time_source == "autopilot"
    boot = 10.0 + np.arange(600) * 0.1
    boot = boot[~((boot > 40.0) & (boot < 44.0))]
    assert np.allclose(tel.attitude.t_utc_s, boot + UTC_OFFSET_S, atol=1e-6)
    assert tel.position.t_utc_s[0] == pytest.approx(11.0 + UTC_OFFSET_S, abs=1e-6)  # 5 no-fix dropped
    assert tel.stats.no_fix_positions == 5


def test_camera_events_times_and_poses(flight_bin: Path) -> None:
    tel = _read(flight_bin.read_bytes())
    cams = [e for e in tel.camera_events if e.source == "CAM"]
    trigs = [e for e in tel.camera_events if e.source == "TRIG"]
    boot = synth.cam_boot_times()
    assert [e.image_index for e in cams] == list(range(1, 26))
    assert np.allclose([e.t_utc_s for e in cams], boot + UTC_OFFSET_S, atol=1e-6)
    assert np.allclose([e.t_utc_s for e in trigs], boot - 0.05 + UTC_OFFSET_S, atol=1e-6)
    p = cams[3].pose
    assert p is not None
    assert p.lat_deg == pytest.approx(float(Truth.lat(boot[3])), abs=1e-7)
    assert p.alt_rel_m == pytest.approx(float(Truth.rel(boot[3])), abs=0.01)
    assert math.degrees(p.yaw_rad) % 360 == pytest.approx(float(Truth.yaw_deg(boot[3])), abs=1e-4)
    assert (math.degrees(p.roll_rad), math.degrees(p.pitch_rad)) == pytest.approx((1.0, -2.0))


def test_gimbal_earth_and_body_frame_yaw(flight_bin: Path) -> None:
    tel = _read(flight_bin.read_bytes())
    g = tel.gimbal
    assert g is not None and g.source == "MNT"
    boot = g.t_utc_s - UTC_OFFSET_S
    assert np.all(g.yaw_is_earth == (boot < 40.0))
    early = tel.pose_at(UTC_OFFSET_S + 20.1)
    assert math.degrees(early.gimbal_yaw_rad) == pytest.approx(20.0, abs=1e-6)
    assert math.degrees(early.gimbal_pitch_rad) == pytest.approx(-90 + 0.5 * 10.1, abs=1e-6)
    late = tel.pose_at(UTC_OFFSET_S + 50.0)   # body-frame 20 deg + vehicle yaw
    vehicle = float(Truth.yaw_deg(np.array(50.0)))
    assert math.degrees(late.gimbal_yaw_rad) % 360 == pytest.approx((vehicle + 20.0) % 360, abs=1e-3)


def test_old_mnt_layout_in_centidegrees_is_body_frame() -> None:
    tel = _read(synth.dataflash_flight(old_mnt=True))
    assert tel.gimbal is not None and not tel.gimbal.yaw_is_earth.any()
    pose = tel.pose_at(UTC_OFFSET_S + 30.0)
    assert math.degrees(pose.gimbal_pitch_rad) == pytest.approx(-90.0)
    assert math.degrees(pose.gimbal_yaw_rad) % 360 == pytest.approx(
        (float(Truth.yaw_deg(np.array(30.0))) + 20.0) % 360, abs=1e-3)


def test_pose_refuses_gaps_and_outside(flight_bin: Path) -> None:
    tel = _read(flight_bin.read_bytes())
    with pytest.raises(NoPoseError, match="gap of the attitude track"):
        tel.pose_at(UTC_OFFSET_S + 42.0)
    with pytest.raises(NoPoseError, match="before the position track starts"):
        tel.pose_at(UTC_OFFSET_S + 10.5)
    with pytest.raises(NoPoseError, match="after"):
        tel.pose_at(UTC_OFFSET_S + 75.0)
    # bridging the gap is allowed on request, but the body-frame gimbal yaw sampled
    # inside it cannot be turned into the earth frame: still no pose, and it says why
    with pytest.raises(NoPoseError, match="vehicle yaw"):
        tel.pose_at(UTC_OFFSET_S + 42.0, max_gap_s=5.0)


def test_yaw_interpolation_across_north(flight_bin: Path) -> None:
    tel = _read(flight_bin.read_bytes())
    for b in (18.05, 19.95, 20.05, 21.35):   # the sweep crosses 0/360 here
        yaw = math.degrees(tel.pose_at(UTC_OFFSET_S + b).yaw_rad) % 360
        truth = float(Truth.yaw_deg(np.array(b)))
        assert min(abs(yaw - truth), 360 - abs(yaw - truth)) < 0.05


def test_text_form_gives_the_same_telemetry(tmp_path: Path) -> None:
    binary, text = _read(synth.dataflash_flight()), _read(synth.dataflash_flight(text=True), "flight.log")
    assert text.log_format == "dataflash-text"
    assert dict(text.messages) == dict(binary.messages)
    (tmp_path / "flight.log").write_bytes(synth.dataflash_flight(text=True))
    assert dict(text.messages) == dict(oracle.dataflash_text_counts(str(tmp_path / "flight.log")))
    for name in ("t_utc_s", "lat_deg", "lon_deg", "alt_msl_m", "alt_rel_m", "hdop"):
        assert np.array_equal(getattr(text.position, name), getattr(binary.position, name)), name
    assert np.array_equal(text.attitude.yaw_rad, binary.attitude.yaw_rad)
    assert [repr(e) for e in text.camera_events] == [repr(e) for e in binary.camera_events]


def test_two_logs_in_one_file_are_two_boot_sessions() -> None:
    first = synth.dataflash_flight()
    with pytest.warns(DronepipeWarning):
        tel = read_telemetry_bytes(first + first, "twice.bin")
    # the same boot times twice, each mapped by its own GPS records to the same UTC
    assert len(tel.attitude) == 2 * 561
    assert np.allclose(tel.attitude.t_utc_s[::2] - UTC_OFFSET_S, tel.attitude.t_utc_s[1::2] - UTC_OFFSET_S)
    assert tel.messages["FMT"] == 2 * _read(first).messages["FMT"]


def test_leap_seconds_of_older_logs() -> None:
    assert gps_week_ms_to_utc_s(1762, 0) == pytest.approx(1381622400 - 16 + 0.0 + 0.0, abs=86400)
    # GPS week 1762 starts 2013-10-13 00:00:16 UTC - 16 s = 2013-10-13T00:00:00Z
    assert gps_week_ms_to_utc_s(1762, 16000) == 1381622400.0
    assert gps_week_ms_to_utc_s(1872, 17000) == 1448150400.0   # 2015-11-22, 17 s
    assert gps_week_ms_to_utc_s(2187, 18000) == 1638662400.0   # 2021-12-05, 18 s


def test_writer_refuses_values_the_field_cannot_hold(tmp_path: Path) -> None:
    with DataFlashWriter(tmp_path / "x.bin") as w, pytest.raises(ValueError, match="ATT.Yaw"):
        w.write("ATT", TimeUS=0, Roll=0.0, Pitch=0.0, Yaw=-10.0)


def test_writer_columns_round_trip_through_our_reader(tmp_path: Path) -> None:
    path = tmp_path / "cols.bin"
    lat = 49.0 + np.arange(1000) * 1e-6
    with DataFlashWriter(path) as w:
        w.define("XYZ", "QLfhZ", "TimeUS,Lat,F,H,Txt")
        w.write_columns("XYZ", {"TimeUS": np.arange(1000), "Lat": lat, "F": lat.astype(np.float32),
                                "H": -np.arange(1000), "Txt": ["a"] * 1000})
    t = DataFlashBinary(path.read_bytes()).table("XYZ")
    assert t is not None
    assert np.array_equal(t.columns["Lat"], np.round(lat / 1e-7) / (1 / 1e-7))
    assert np.array_equal(t.columns["H"], -np.arange(1000))
    assert list(t.columns["Txt"][:2]) == ["a", "a"]
