"""Capture metadata of thermal frames: ``CaptureMeta`` from EXIF and DJI's XMP.

The parsing is ``dronepipe.frames.metadata``'s (EXIF by Pillow, XMP by local property
name, EXIF times, GPS); this module picks a thermal JPEG's first EXIF and XMP blocks
and fills the ``CaptureMeta`` the temperature products carry: make, model, the
camera-clock time as written, GPS, and DJI's XMP relative altitude, gimbal and flight
attitude (degrees), rangefinder distance and UTC time. Anything missing or unreadable
is simply left unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any

from dronepipe.frames.metadata import (
    exif_capture_time,
    exif_gps,
    exif_ifds,
    exif_number,
    exif_text,
    parse_xmp,
    xmp_utc_at_exposure,
)
from dronepipe.thermal import jpeg
from dronepipe.thermal.records import CaptureMeta

_MAKE, _MODEL = 0x010F, 0x0110
_XMP_NUMBERS = {
    "RelativeAltitude": "alt_rel_m", "AbsoluteAltitude": "alt_abs_xmp_m",
    "GimbalRollDegree": "gimbal_roll_deg", "GimbalPitchDegree": "gimbal_pitch_deg",
    "GimbalYawDegree": "gimbal_yaw_deg", "FlightRollDegree": "flight_roll_deg",
    "FlightPitchDegree": "flight_pitch_deg", "FlightYawDegree": "flight_yaw_deg",
}


def jpeg_meta(data: bytes, layout: jpeg.JpegLayout) -> CaptureMeta:
    """The EXIF and DJI XMP metadata of a JPEG (its first EXIF and first XMP block)."""
    xmp = layout.payloads(data, jpeg.APP1, jpeg.XMP_PREFIX)[:1]
    exif = layout.payloads(data, jpeg.APP1, jpeg.EXIF_PREFIX)[:1]
    ifd0, sub, gps = exif_ifds(exif[0]) if exif else ({}, {}, {})
    return capture_meta(ifd0, sub, gps, parse_xmp(xmp[0] if xmp else None))


def capture_meta(ifd0: Mapping[int, Any], sub: Mapping[int, Any], gps: Mapping[int, Any],
                 xmp: Mapping[str, str]) -> CaptureMeta:
    """A ``CaptureMeta`` from EXIF IFD0, Exif and GPS IFDs (by tag number) and XMP
    properties (by local name, as ``parse_xmp`` gives them); XMP's UTC time wins."""
    moment, _, offset = exif_capture_time(ifd0, sub)
    t_utc_s = None
    if moment is not None and offset is not None:
        moment = moment.replace(tzinfo=timezone(timedelta(seconds=offset)))
        t_utc_s = moment.timestamp()
    xmp_utc = xmp_utc_at_exposure(xmp)
    lat, lon, alt = exif_gps(gps)
    if lat is None or lon is None:
        lat = lon = alt = None
    values: dict[str, Any] = {name: exif_number(xmp.get(key)) for key, name in _XMP_NUMBERS.items()}
    lrf = exif_number(xmp.get("LRFTargetDistance"))
    if lrf is not None and lrf > 0 and xmp.get("LRFStatus", "Normal").lower() == "normal":
        values["lrf_distance_m"] = lrf
    return CaptureMeta(make=exif_text(ifd0.get(_MAKE)), model=exif_text(ifd0.get(_MODEL)),
                       capture_time=moment, t_utc_s=xmp_utc if xmp_utc is not None else t_utc_s,
                       lat_deg=lat, lon_deg=lon, gps_alt_exif_m=alt, **values)
