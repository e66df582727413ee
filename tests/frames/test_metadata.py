"""FrameMeta from real DJI/FLIR files (checked against ExifTool's dumps) and from files we write."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dronepipe.errors import DronepipeError
from dronepipe.frames.metadata import (
    parse_exif_datetime,
    parse_utc_offset,
    parse_xmp,
    read_frame_meta,
)
from tests.conftest import realdata_files

DUMPED = [p for p in realdata_files("thermal/**/*.exiftool.txt")
          if p.with_suffix("").with_suffix(".jpg").exists() or p.with_suffix("").with_suffix(".JPG").exists()]
ANGLES = {"Gimbal Roll Degree": "gimbal_roll_rad", "Gimbal Pitch Degree": "gimbal_pitch_rad",
          "Gimbal Yaw Degree": "gimbal_yaw_rad", "Flight Roll Degree": "flight_roll_rad",
          "Flight Pitch Degree": "flight_pitch_rad", "Flight Yaw Degree": "flight_yaw_rad"}


def _dump(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


def _image_of(dump: Path) -> Path:
    stem = dump.with_suffix("").with_suffix("")
    return next(p for p in (stem.with_suffix(".jpg"), stem.with_suffix(".JPG")) if p.exists())


@pytest.mark.parametrize("dump", DUMPED, ids=lambda p: p.parent.name + "/" + p.name)
def test_dji_xmp_angles_and_heights_equal_exiftool(dump: Path) -> None:
    tags = _dump(dump)
    meta = read_frame_meta(_image_of(dump))
    if not meta.xmp and "Gimbal Pitch Degree" in tags:
        pytest.skip("the stored copy lost the XMP that ExifTool saw (M3T: stripped)")
    assert meta.make == tags["Make"]
    assert meta.width == int(tags["Image Width"]) and meta.height == int(tags["Image Height"])
    for key, name in ANGLES.items():
        if key in tags:
            assert math.degrees(getattr(meta, name)) == pytest.approx(float(tags[key]), abs=1e-6), key
    if "Relative Altitude" in tags:
        assert meta.alt_rel_m == pytest.approx(float(tags["Relative Altitude"]))
        assert meta.alt_abs_m == pytest.approx(float(tags["Absolute Altitude"]))


def test_real_rjpegs_with_gimbal_angles_were_found(realdata: Path) -> None:
    found = [d for d in DUMPED if "Gimbal Pitch Degree" in _dump(d)]
    assert len(found) >= 3  # H20T, XT S, H20N, XT2 (the stored M3T lost its XMP)


def test_dji_sdk_groundtruth_pose_fields(realdata: Path) -> None:
    meta = read_frame_meta(realdata / "thermal/dji_sdk_groundtruth/test.jpg")
    assert (meta.make, meta.model) == ("DJI", "ZH20T")
    assert meta.lat_deg == pytest.approx(-2.0741144, abs=1e-7)
    assert meta.lon_deg == pytest.approx(-79.8471591, abs=1e-7)
    assert meta.alt_rel_m == pytest.approx(15.774) and meta.alt_abs_m == pytest.approx(64.803)
    assert math.degrees(meta.gimbal_pitch_rad) == pytest.approx(-60.5)
    assert math.degrees(meta.gimbal_yaw_rad) == pytest.approx(95.1)
    # XMP CreateDate 2023-04-19T14:16:52-05:00 pins the zone of the EXIF time
    assert meta.utc_offset_s == -5 * 3600
    assert meta.t_camera_s == pytest.approx(1681931812.0)  # 2023-04-19 19:16:52 UTC
    assert meta.embedded_thermal == "DJI APP3" and meta.image_source == "InfraredCamera"


def test_toledo_exif(realdata: Path) -> None:
    meta = read_frame_meta(realdata / "mapping/odm_toledo_2015/images/DJI_0061.JPG")
    assert (meta.make, meta.model) == ("DJI", "FC350")
    assert (meta.width, meta.height) == (2400, 1800)  # the stored pixels, not EXIF's stale 1800x2400
    assert meta.lat_deg == pytest.approx(41 + 32 / 60 + 54.9462 / 3600)
    assert meta.lon_deg == pytest.approx(-(83 + 41 / 60 + 55.1356 / 3600))
    assert meta.gps_alt_m == pytest.approx(119.7)
    assert (meta.focal_mm, meta.focal_35mm) == (3.61, 20.0)
    assert meta.time_resolution_s == 1.0 and meta.utc_offset_s is None
    assert not meta.has_gimbal and meta.embedded_thermal is None


def test_xmp_attribute_element_and_dji_prefix_forms() -> None:
    xmp = ('<rdf:Description xmlns:DJI="http://www.dji.com" xmlns:DJI="http://www.dji.com" '
           'DJI:GimbalPitchDegree="+19.90" drone-dji:RelativeAltitude="+37.70">'
           "<drone-dji:GimbalYawDegree>-106.60</drone-dji:GimbalYawDegree></rdf:Description>")
    found = parse_xmp(xmp.encode())
    assert found == {"GimbalPitchDegree": "+19.90", "RelativeAltitude": "+37.70", "GimbalYawDegree": "-106.60"}


def test_exif_time_forms() -> None:
    moment, digits = parse_exif_datetime("2019:12:25 16:10:22", "657")
    assert digits == 3 and moment.microsecond == 657000
    moment, digits = parse_exif_datetime("2020-06-23 15:17:15")
    assert digits == 0 and moment.hour == 15
    assert parse_exif_datetime("0000:00:00 00:00:00") == (None, 0)
    assert parse_utc_offset("+08:00") == 28800 and parse_utc_offset("-05:30") == -19800
    assert parse_utc_offset("junk") is None


def _exif(t: str, subsec: str | None, offset: str | None, lat: float, lon: float) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "ACME", "Therm 1"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = t
    if subsec:
        sub[0x9291] = subsec
    if offset:
        sub[0x9011] = offset
    sub[0x920A] = 13.0
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N" if lat >= 0 else "S", (abs(int(lat)), int(abs(lat) % 1 * 60), (abs(lat) * 3600) % 60)
    gps[3], gps[4] = "E" if lon >= 0 else "W", (abs(int(lon)), int(abs(lon) % 1 * 60), (abs(lon) * 3600) % 60)
    gps[5], gps[6] = b"\x00", 312.5
    return exif


def test_written_jpeg(tmp_path: Path) -> None:
    exif = _exif("2026:05:01 10:00:00", "250", "+02:00", 49.4447, 7.7689)
    Image.new("RGB", (64, 48)).save(tmp_path / "a.jpg", exif=exif)
    meta = read_frame_meta(tmp_path / "a.jpg")
    assert meta.pixel_mode == "RGB" and (meta.make, meta.model) == ("ACME", "Therm 1")
    assert meta.t_camera_s == pytest.approx(1777622400.25)  # 08:00:00.25 UTC
    assert meta.time_resolution_s == pytest.approx(0.001)
    assert meta.lat_deg == pytest.approx(49.4447, abs=1e-6)
    assert meta.lon_deg == pytest.approx(7.7689, abs=1e-6)
    assert meta.gps_alt_m == pytest.approx(312.5) and meta.focal_mm == 13.0


def test_16bit_tiff_with_exif_times_in_ifd0(tmp_path: Path) -> None:
    info = {0x9003: "2026:05:01 10:00:00", 0x9291: "5", 0x9011: "+02:00", 0x010F: "ACME"}
    Image.fromarray(np.full((512, 640), 30000, np.uint16)).save(tmp_path / "b.tiff", tiffinfo=info)
    meta = read_frame_meta(tmp_path / "b.tiff")
    assert meta.pixel_mode == "I;16" and (meta.width, meta.height) == (640, 512)
    assert meta.t_camera_s == pytest.approx(1777622400.5) and meta.time_resolution_s == pytest.approx(0.1)


def test_not_an_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    with pytest.raises(DronepipeError, match=re.escape(str(bad))):
        read_frame_meta(bad)
