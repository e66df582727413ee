"""Capture metadata of thermal frames: EXIF (make, model, time, GPS) and DJI's XMP.

EXIF is parsed by Pillow (``PIL.Image.Exif``) from the APP1 payload; the DJI XMP
fields (``drone-dji:*``, ``DJI:*`` on the XT S: relative altitude, gimbal and flight
attitude, rangefinder distance, UTC time) are read with a regular expression, since DJI
writes them both as attributes and as elements (and the XT S declares its namespace
twice, which a strict XML parser rejects). Anything missing or unreadable is simply left unset.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

from dronepipe.thermal import jpeg
from dronepipe.thermal.records import CaptureMeta

log = logging.getLogger(__name__)

_XMP_FIELD = re.compile(rb'(?:drone-dji|DJI):(\w+)(?:\s*=\s*"([^"]*)"|>([^<]*)<)')  # XT S writes DJI:
_XMP_NUMBERS = {
    "RelativeAltitude": "alt_rel_m", "AbsoluteAltitude": "alt_abs_xmp_m",
    "GimbalRollDegree": "gimbal_roll_deg", "GimbalPitchDegree": "gimbal_pitch_deg",
    "GimbalYawDegree": "gimbal_yaw_deg", "FlightRollDegree": "flight_roll_deg",
    "FlightPitchDegree": "flight_pitch_deg", "FlightYawDegree": "flight_yaw_deg",
}


def jpeg_meta(data: bytes, layout: jpeg.JpegLayout) -> CaptureMeta:
    """The EXIF and DJI XMP metadata of a JPEG (XMP first, EXIF fills the rest)."""
    meta = CaptureMeta()
    for payload in layout.payloads(data, jpeg.APP1, jpeg.XMP_PREFIX)[:1]:
        meta = xmp_meta(payload)
    for payload in layout.payloads(data, jpeg.APP1, jpeg.EXIF_PREFIX)[:1]:
        meta = meta.merged(exif_meta(payload))
    return meta


def exif_meta(payload: bytes) -> CaptureMeta:
    """Make, model, capture time and GPS from an EXIF APP1 payload (``Exif\\0\\0`` ...)."""
    try:
        exif = Image.Exif()
        exif.load(payload)
        ifd0 = dict(exif)
        sub = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps = {ExifTags.GPSTAGS.get(k, str(k)): v for k, v in exif.get_ifd(ExifTags.IFD.GPSInfo).items()}
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad EXIF
        log.debug("unreadable EXIF (%s); its metadata is skipped", exc)
        return CaptureMeta()
    return meta_from_exif(ifd0.get(0x010F), ifd0.get(0x0110), sub.get(0x9003) or ifd0.get(0x0132),
                          sub.get(0x9291), sub.get(0x9011), gps)


def meta_from_exif(make: Any, model: Any, when: Any, subsec: Any, offset: Any,
                   gps: Mapping[str, Any]) -> CaptureMeta:
    """A ``CaptureMeta`` from EXIF values (GPS keyed by EXIF tag names, e.g. ``GPSLatitude``)."""
    capture_time, t_utc_s = parse_exif_time(_text(when), _text(subsec), _text(offset))
    lat = dms_to_degrees(gps.get("GPSLatitude"), _text(gps.get("GPSLatitudeRef")))
    lon = dms_to_degrees(gps.get("GPSLongitude"), _text(gps.get("GPSLongitudeRef")))
    alt = _number(gps.get("GPSAltitude"))
    ref = gps.get("GPSAltitudeRef")
    if alt is not None and ref in (1, b"\x01", "1"):
        alt = -alt
    if lat is None or lon is None:
        lat = lon = None
    return CaptureMeta(make=_text(make), model=_text(model), capture_time=capture_time, t_utc_s=t_utc_s,
                     lat_deg=lat, lon_deg=lon, gps_alt_exif_m=alt if lat is not None else None)


def xmp_meta(payload: bytes) -> CaptureMeta:
    """DJI's XMP fields (``drone-dji:*``) from an XMP APP1 payload."""
    found: dict[str, str] = {}
    for match in _XMP_FIELD.finditer(payload):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        found.setdefault(match.group(1).decode("ascii"), value.decode("utf-8", "replace").strip())
    values: dict[str, Any] = {}
    for key, name in _XMP_NUMBERS.items():
        values[name] = _number(found.get(key))
    lrf = _number(found.get("LRFTargetDistance"))
    if lrf is not None and lrf > 0 and found.get("LRFStatus", "Normal").lower() == "normal":
        values["lrf_distance_m"] = lrf
    utc = found.get("UTCAtExposure")
    if utc:
        moment, _ = parse_exif_time(utc, None, "+00:00")
        values["t_utc_s"] = moment.timestamp() if moment else None
    return CaptureMeta(**values)


def parse_exif_time(text: str | None, subsec: str | None,
                    offset: str | None) -> tuple[datetime | None, float | None]:
    """(camera time, UTC seconds or None) from EXIF ``YYYY:MM:DD HH:MM:SS[.fff]`` text."""
    if not text:
        return None, None
    main, _, frac = text.strip().partition(".")
    try:
        moment = datetime.strptime(main[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, None
    digits = "".join(ch for ch in (frac or subsec or "") if ch.isdigit())
    if digits:
        moment += timedelta(seconds=float("0." + digits))
    tz = _parse_offset(offset)
    if tz is None:
        return moment, None
    moment = moment.replace(tzinfo=tz)
    return moment, moment.timestamp()


def _parse_offset(text: str | None) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", (text or "").strip())
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return timezone(timedelta(minutes=-minutes if match.group(1) == "-" else minutes))


def dms_to_degrees(value: Any, ref: str | None) -> float | None:
    """Decimal degrees from EXIF (degrees, minutes, seconds); negative for S and W."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None for p in parts):
        return None
    deg = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0  # type: ignore[operator]
    return -deg if (ref or "").upper().startswith(("S", "W")) else deg


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number else None  # NaN (0/0 rationals) -> None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).replace("\x00", "").strip()
    return text or None
