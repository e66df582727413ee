"""EXIF tags of the simulated cameras: make, model, capture time, focal length, GPS.

Capture times are written as cameras write them: the camera's own clock in local time
(``DateTimeOriginal`` + ``SubSecTimeOriginal`` milliseconds) with its UTC offset in
``OffsetTimeOriginal``; the camera clock runs ``camera_clock_offset_s`` ahead of the
autopilot's UTC (``ErrorConfig``). GPS is the position the aircraft reported at the
exposure (with its GNSS error), latitude/longitude in degrees-minutes-seconds
rationals, altitude above mean sea level in millimetre rationals. FocalLength (mm),
FocalLengthIn35mmFilm and FocalPlaneX/YResolution describe the lens and sensor.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from dronepipe.outputs.tiff_ifd import ASCII, BYTE, RATIONAL, SHORT, UNDEFINED, Tag

SOFTWARE = "dronepipe-sim"


def exif_datetime(t_utc_s: float, utc_offset_h: int) -> tuple[str, str, str]:
    """(DateTimeOriginal, SubSecTimeOriginal, OffsetTimeOriginal) of a UTC instant shown
    on a clock set to local time ``utc_offset_h``, to the millisecond."""
    ms_total = int(round(t_utc_s * 1000.0))
    tz = timezone(timedelta(hours=utc_offset_h))
    local = datetime.fromtimestamp(ms_total // 1000, tz)
    sign = "+" if utc_offset_h >= 0 else "-"
    return (local.strftime("%Y:%m:%d %H:%M:%S"), f"{ms_total % 1000:03d}",
            f"{sign}{abs(utc_offset_h):02d}:00")


def _dms(value_deg: float) -> list[tuple[int, int]]:
    a = abs(value_deg)
    d = int(a)
    m = int((a - d) * 60.0)
    s = (a - d - m / 60.0) * 3600.0
    return [(d, 1), (m, 1), (int(round(s * 10000)), 10000)]


def gps_entries(lat_deg: float, lon_deg: float, alt_msl_m: float) -> list[Tag]:
    """The GPS IFD of a position (WGS84, altitude above mean sea level)."""
    return [Tag(0, BYTE, bytes([2, 3, 0, 0])),
            Tag(1, ASCII, "N" if lat_deg >= 0 else "S"), Tag(2, RATIONAL, _dms(lat_deg)),
            Tag(3, ASCII, "E" if lon_deg >= 0 else "W"), Tag(4, RATIONAL, _dms(lon_deg)),
            Tag(5, BYTE, bytes([0 if alt_msl_m >= 0 else 1])),
            Tag(6, RATIONAL, [(int(round(abs(alt_msl_m) * 1000)), 1000)]),
            Tag(18, ASCII, "WGS-84")]


def frame_entries(make: str, model: str, t_camera_utc_s: float, utc_offset_h: int,
                  focal_length_mm: float, width: int, height: int, hfov_deg: float,
                  pixel_pitch_um: float | None = None) -> tuple[list[Tag], list[Tag]]:
    """(IFD0 extra entries, EXIF IFD entries) of one frame at camera-clock time; with
    ``pixel_pitch_um`` also FocalPlaneX/YResolution (pixels per centimetre), so that the
    focal length in pixels follows from EXIF alone."""
    when, subsec, offset = exif_datetime(t_camera_utc_s, utc_offset_h)
    f35 = int(round(36.0 / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)))
    ifd0 = [Tag(271, ASCII, make), Tag(272, ASCII, model), Tag(274, SHORT, 1),
            Tag(305, ASCII, SOFTWARE), Tag(306, ASCII, when)]
    exif = [Tag(0x9000, UNDEFINED, b"0232"), Tag(0x9003, ASCII, when),
            Tag(0x9004, ASCII, when), Tag(0x9010, ASCII, offset),
            Tag(0x9011, ASCII, offset), Tag(0x9291, ASCII, subsec),
            Tag(0x920A, RATIONAL, [(int(round(focal_length_mm * 1000)), 1000)]),
            Tag(0xA002, SHORT, width), Tag(0xA003, SHORT, height),
            Tag(0xA405, SHORT, f35)]
    if pixel_pitch_um:
        per_cm = (int(round(1e4 / pixel_pitch_um * 1000)), 1000)
        exif += [Tag(0xA20E, RATIONAL, [per_cm]), Tag(0xA20F, RATIONAL, [per_cm]), Tag(0xA210, SHORT, 3)]
    return ifd0, exif
