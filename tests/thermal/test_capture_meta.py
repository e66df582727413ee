"""CaptureMeta of thermal JPEGs comes from the one EXIF/XMP parser (dronepipe.frames.metadata)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from dronepipe.frames.metadata import read_frame_meta
from dronepipe.thermal import jpeg, metadata

_XMP = (b'<x:xmpmeta><rdf:RDF><rdf:Description drone-dji:RelativeAltitude="+42.60" '
        b'drone-dji:GimbalPitchDegree="-90.0" drone-dji:LRFTargetDistance="35.5" '
        b'drone-dji:LRFStatus="Normal" drone-dji:UTCAtExposure="2026:05:01 08:00:01.500">'
        b"<drone-dji:GimbalYawDegree>+12.5</drone-dji:GimbalYawDegree>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>")


def _jpeg(path: Path, when: str, offset: str | None, xmp: bytes | None) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "DJI", "ZH20T"
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x9291] = when, "25"
    if offset:
        sub[0x9011] = offset
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (33.0, 52.0, 12.0), "W", (70.0, 30.0, 0.0)
    gps[5], gps[6] = b"\x01", 12.5
    extra = {"xmp": xmp} if xmp else {}
    Image.new("L", (64, 48)).save(path, exif=exif, **extra)
    return path.read_bytes()


def test_exif_fields_agree_with_frame_meta(tmp_path: Path) -> None:
    data = _jpeg(tmp_path / "a.jpg", "2026:05:01 10:00:00", "+02:00", None)
    cap = metadata.jpeg_meta(data, jpeg.read_layout(data))
    frame = read_frame_meta(tmp_path / "a.jpg")
    assert (cap.make, cap.model) == (frame.make, frame.model) == ("DJI", "ZH20T")
    assert (cap.lat_deg, cap.lon_deg) == (frame.lat_deg, frame.lon_deg)
    assert cap.lat_deg == pytest.approx(-(33 + 52 / 60 + 12 / 3600)) and cap.lon_deg == pytest.approx(-70.5)
    assert cap.gps_alt_exif_m == frame.gps_alt_m == -12.5
    assert cap.capture_time.isoformat() == "2026-05-01T10:00:00.250000+02:00"
    assert cap.t_utc_s == pytest.approx(frame.t_camera_s) and cap.gimbal_pitch_deg is None


def test_xmp_utc_wins_and_dji_fields_in_degrees(tmp_path: Path) -> None:
    data = _jpeg(tmp_path / "b.jpg", "2026-05-01 10:00:01", None, _XMP)  # H20T-style dashes
    cap = metadata.jpeg_meta(data, jpeg.read_layout(data))
    assert cap.capture_time is not None and cap.capture_time.utcoffset() is None  # camera clock as written
    assert cap.capture_time.hour == 10
    assert cap.t_utc_s == pytest.approx(read_frame_meta(tmp_path / "b.jpg").t_camera_s)
    assert cap.t_utc_s == pytest.approx(1777622401.5)
    assert (cap.alt_rel_m, cap.gimbal_pitch_deg, cap.gimbal_yaw_deg) == (42.6, -90.0, 12.5)
    assert cap.lrf_distance_m == 35.5


def test_no_metadata_leaves_everything_unset(tmp_path: Path) -> None:
    Image.new("L", (8, 8)).save(tmp_path / "c.jpg")
    data = (tmp_path / "c.jpg").read_bytes()
    assert metadata.jpeg_meta(data, jpeg.read_layout(data)).as_dict() == {}


def test_offset_sign(tmp_path: Path) -> None:
    data = _jpeg(tmp_path / "d.jpg", "2026:05:01 10:00:00", "-05:30", None)
    cap = metadata.jpeg_meta(data, jpeg.read_layout(data))
    assert cap.capture_time.utcoffset() == -timedelta(hours=5, minutes=30)
