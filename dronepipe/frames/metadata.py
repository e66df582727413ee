"""What an image file says about itself: ``FrameMeta`` from EXIF and XMP.

Read with Pillow, which parses a JPEG's or TIFF's header segments without decoding
the pixels. XMP is read with regular expressions on the local name of each property,
not with an XML parser: DJI writes its fields under different prefixes
(``drone-dji:``, ``DJI:`` on the XT S, whose packet even declares a namespace twice,
which a strict XML parser rejects) and both as attributes and as elements.

Units: degrees in the files, radians here (``*_rad``); heights in metres with their
reference in the field name or docstring; times as seconds since the Unix epoch.

This is the one EXIF/XMP parser of dronepipe: the thermal decoders build their
``CaptureMeta`` from the same pieces (``exif_ifds``, ``parse_xmp``,
``exif_capture_time``, ``exif_gps`` ...) and read only what the radiometric
containers hold themselves (the FLIR FFF time and GPS).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError

from dronepipe.errors import DronepipeError

log = logging.getLogger(__name__)

_EXIF_IFD = ExifTags.IFD.Exif
_GPS_IFD = ExifTags.IFD.GPSInfo
# EXIF tag numbers (CIPA DC-008).
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DT_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9291, 0x9011
_FOCAL, _FOCAL_35 = 0x920A, 0xA405
_FP_XRES, _FP_UNIT = 0xA20E, 0xA210
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_FP_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}  # unit code -> millimetres per unit

_XMP_PROP = re.compile(r'(?<![\w-])(?!xmlns:)[\w-]+:(\w+)\s*=\s*"([^"]*)"|<[\w-]+:(\w+)>([^<]*)</')
_XMP_ANGLES = {
    "GimbalRollDegree": "gimbal_roll_rad", "GimbalPitchDegree": "gimbal_pitch_rad",
    "GimbalYawDegree": "gimbal_yaw_rad", "FlightRollDegree": "flight_roll_rad",
    "FlightPitchDegree": "flight_pitch_rad", "FlightYawDegree": "flight_yaw_rad",
}


@dataclass(frozen=True)
class FrameMeta:
    """Capture metadata of one image file (every field optional).

    Time: ``t_camera_s`` is the capture time on the camera's clock, with sub-seconds
    where the file has them (``time_resolution_s`` 1.0 where it has none). EXIF times
    carry no zone unless ``OffsetTimeOriginal`` (or DJI's XMP ``CreateDate``) gives
    one: with ``utc_offset_s`` known the time is true UTC, else the wall-clock reading
    is taken as if it were UTC and time sync must find the offset.

    Heights (metres), each with its own reference: ``gps_alt_m`` is EXIF GPSAltitude
    as written (EXIF says above sea level, but older DJI cameras wrote the height
    above take-off there: see ``dronepipe.stitching.cameras``); ``alt_abs_m`` is DJI's
    XMP ``AbsoluteAltitude`` (above sea level) and ``alt_rel_m`` its
    ``RelativeAltitude`` (above take-off).

    Camera: ``focal_mm`` the lens focal length, ``focal_35mm`` its 35 mm equivalent,
    ``focal_plane_px_per_mm`` from FocalPlaneXResolution, valid for an image
    ``exif_width`` pixels wide. ``width``/``height`` are the stored image's pixels.

    Attitude (DJI XMP, radians): gimbal roll/pitch/yaw in the earth frame (pitch
    -pi/2 looks straight down, yaw clockwise from true north) and the aircraft's
    flight roll/pitch/yaw. ``xmp`` keeps every XMP property read, by local name.

    ``pixel_mode`` is Pillow's mode of the stored pixels (``RGB``, ``L``, ``I;16`` ...);
    ``embedded_thermal`` names a radiometric payload in the file (``"DJI APP3"``,
    ``"FLIR FFF"``), None where there is none.
    """

    make: str | None = None
    model: str | None = None
    width: int | None = None
    height: int | None = None
    exif_width: int | None = None
    exif_height: int | None = None
    t_camera_s: float | None = None
    utc_offset_s: float | None = None
    time_resolution_s: float = 1.0
    lat_deg: float | None = None
    lon_deg: float | None = None
    gps_alt_m: float | None = None
    alt_abs_m: float | None = None
    alt_rel_m: float | None = None
    focal_mm: float | None = None
    focal_35mm: float | None = None
    focal_plane_px_per_mm: float | None = None
    gimbal_roll_rad: float | None = None
    gimbal_pitch_rad: float | None = None
    gimbal_yaw_rad: float | None = None
    flight_roll_rad: float | None = None
    flight_pitch_rad: float | None = None
    flight_yaw_rad: float | None = None
    pixel_mode: str | None = None
    embedded_thermal: str | None = None
    xmp: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_gps(self) -> bool:
        return self.lat_deg is not None and self.lon_deg is not None

    @property
    def has_gimbal(self) -> bool:
        return self.gimbal_pitch_rad is not None

    @property
    def sensor_width_mm(self) -> float | None:
        """Sensor width from FocalPlaneXResolution and the EXIF image width (mm)."""
        if self.focal_plane_px_per_mm and self.exif_width:
            return self.exif_width / self.focal_plane_px_per_mm
        return None

    @property
    def image_source(self) -> str | None:
        """DJI's XMP ``ImageSource`` (``InfraredCamera``, ``WideCamera`` ...)."""
        return self.xmp.get("ImageSource")


def read_frame_meta(path: Path) -> FrameMeta:
    """The EXIF/XMP metadata and pixel size of an image file (JPEG, TIFF, PNG ...).

    Raises ``DronepipeError`` naming the file when it is not an image Pillow can open;
    a missing or partly unreadable EXIF/XMP block only leaves fields unset.
    """
    try:
        with Image.open(path) as im:
            width, height = im.size
            exif = _exif_dicts(im)
            xmp_raw = im.info.get("xmp") or _tiff_xmp(im)
            mode, payload = im.mode, _embedded_thermal(im)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DronepipeError(f"{path}: not a readable image ({exc})") from exc
    xmp = parse_xmp(xmp_raw)
    return replace(_build_meta(width, height, exif, xmp), pixel_mode=mode, embedded_thermal=payload)


def _embedded_thermal(im: Image.Image) -> str | None:
    """The radiometric payload a JPEG carries in its APP segments, if any."""
    for marker, data in getattr(im, "applist", []):
        if marker == "APP1" and data.startswith(b"FLIR\x00"):
            return "FLIR FFF"
        if marker in ("APP3", "APP4") and len(data) > 4096:
            return f"DJI {marker}"
    return None


def _exif_dicts(im: Image.Image) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """(IFD0, Exif IFD, GPS IFD) of an open image; empty where absent or broken."""
    return _ifds(im.getexif)


def exif_ifds(payload: bytes) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """(IFD0, Exif IFD, GPS IFD) by tag number from an EXIF block (a JPEG's APP1
    payload, ``Exif\\0\\0`` then a TIFF header); empty where absent or broken."""
    def load() -> Image.Exif:
        exif = Image.Exif()
        exif.load(payload)
        return exif
    return _ifds(load)


def _ifds(load: Callable[[], Image.Exif]) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    try:
        exif = load()
        return dict(exif), dict(exif.get_ifd(_EXIF_IFD)), dict(exif.get_ifd(_GPS_IFD))
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad EXIF
        log.debug("unreadable EXIF (%s): its fields stay unset", exc)
        return {}, {}, {}


def _tiff_xmp(im: Image.Image) -> bytes | None:
    tags = getattr(im, "tag_v2", None)
    value = tags.get(700) if tags is not None else None
    return value if isinstance(value, bytes) else None


def parse_xmp(raw: bytes | str | None) -> dict[str, str]:
    """XMP properties by local name (first occurrence wins): ``{"GimbalYawDegree": "+32.50"}``."""
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    found: dict[str, str] = {}
    for m in _XMP_PROP.finditer(text):
        name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        found.setdefault(name, value.strip())
    return found


def _build_meta(width: int, height: int, exif: tuple[dict[int, Any], ...],
                xmp: Mapping[str, str]) -> FrameMeta:
    ifd0, sub, gps = exif
    sub = {**ifd0, **sub}  # TIFF writers often put EXIF tags straight into IFD0
    t_cam, offset, resolution = _capture_time(ifd0, sub, xmp)
    lat, lon, gps_alt = _gps(gps, xmp)
    angles: dict[str, Any] = {name: _rad(xmp.get(key)) for key, name in _XMP_ANGLES.items()}
    return FrameMeta(
        make=exif_text(ifd0.get(_MAKE)) or xmp.get("Make"),
        model=exif_text(ifd0.get(_MODEL)) or xmp.get("Model"),
        width=width, height=height,
        exif_width=_int(sub.get(_PIXEL_X)), exif_height=_int(sub.get(_PIXEL_Y)),
        t_camera_s=t_cam, utc_offset_s=offset, time_resolution_s=resolution,
        lat_deg=lat, lon_deg=lon, gps_alt_m=gps_alt,
        alt_abs_m=exif_number(xmp.get("AbsoluteAltitude")),
        alt_rel_m=exif_number(xmp.get("RelativeAltitude")),
        focal_mm=_positive(sub.get(_FOCAL)), focal_35mm=_positive(sub.get(_FOCAL_35)),
        focal_plane_px_per_mm=_focal_plane_res(sub),
        xmp=dict(xmp), **angles)


def _capture_time(ifd0: Mapping[int, Any], sub: Mapping[int, Any],
                  xmp: Mapping[str, str]) -> tuple[float | None, float | None, float]:
    """(camera-clock seconds, UTC offset seconds or None, resolution seconds)."""
    utc = xmp_utc_at_exposure(xmp)
    if utc is not None:
        return utc, 0.0, 0.001
    moment, frac_digits, offset = exif_capture_time(ifd0, sub)
    if moment is None:
        return None, None, 1.0
    if offset is None:
        offset = _xmp_offset(xmp, moment)
    t = moment.replace(tzinfo=UTC).timestamp() - (offset or 0.0)
    return t, offset, 10.0 ** -frac_digits if frac_digits else 1.0


def exif_capture_time(ifd0: Mapping[int, Any],
                      sub: Mapping[int, Any]) -> tuple[datetime | None, int, float | None]:
    """(naive camera-clock time, its fraction digits, UTC offset in seconds or None) from
    DateTimeOriginal (else IFD0 DateTime), SubSecTimeOriginal and OffsetTimeOriginal."""
    text = exif_text(sub.get(_DT_ORIGINAL)) or exif_text(ifd0.get(_DATETIME))
    moment, frac_digits = parse_exif_datetime(text, exif_text(sub.get(_SUBSEC_ORIGINAL)))
    offset = parse_utc_offset(exif_text(sub.get(_OFFSET_ORIGINAL))) if moment is not None else None
    return moment, frac_digits, offset


def xmp_utc_at_exposure(xmp: Mapping[str, str]) -> float | None:
    """UTC seconds of DJI's XMP ``UTCAtExposure`` (None where absent or unreadable)."""
    moment, _ = parse_exif_datetime(xmp.get("UTCAtExposure"))
    return moment.replace(tzinfo=UTC).timestamp() if moment is not None else None


def parse_exif_datetime(text: str | None, subsec: str | None = None) -> tuple[datetime | None, int]:
    """A naive datetime from ``YYYY:MM:DD HH:MM:SS[.fff]`` (or ``-`` separated, or ISO
    ``T``) plus EXIF SubSecTime digits; also returns how many fraction digits there were."""
    if not text:
        return None, 0
    m = re.match(r"\s*(\d{4})[:\-.](\d\d)[:\-.](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?", text)
    if not m:
        return None, 0
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        moment = datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None, 0
    digits = m.group(7) or "".join(ch for ch in (subsec or "") if ch.isdigit())
    if digits:
        moment += timedelta(seconds=float("0." + digits))
    return moment, len(digits)


def parse_utc_offset(text: str | None) -> float | None:
    """Seconds east of UTC from ``+HH:MM``/``-HH:MM``/``Z`` (None where absent or malformed)."""
    if not text:
        return None
    text = text.strip()
    if text == "Z":
        return 0.0
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text)
    if not m:
        return None
    seconds = int(m.group(2)) * 3600 + int(m.group(3)) * 60
    return float(-seconds if m.group(1) == "-" else seconds)


def _xmp_offset(xmp: Mapping[str, str], moment: datetime) -> float | None:
    """The zone offset of an XMP date (``2022-03-24T17:37:59+08:00``) that shows the same
    wall-clock second as the EXIF time, so it belongs to the same clock."""
    for key in ("DateTimeOriginal", "CreateDate"):
        text = xmp.get(key)
        if not text:
            continue
        m = re.search(r"(Z|[+-]\d\d:?\d\d)\s*$", text)
        other, _ = parse_exif_datetime(text)
        if m and other is not None and abs((other - moment).total_seconds()) < 1.0:
            return parse_utc_offset(m.group(1))
    return None


def _gps(gps: Mapping[int, Any], xmp: Mapping[str, str]) -> tuple[float | None, float | None, float | None]:
    """(lat, lon, EXIF altitude) in degrees and metres; XMP GpsLatitude fills a gap."""
    lat, lon, alt = exif_gps(gps)
    if lat is None or lon is None:
        lat, lon = exif_number(xmp.get("GpsLatitude")), exif_number(xmp.get("GpsLongitude"))
        if lat is None or lon is None:
            lat = lon = None
    if lat is not None and lon is not None and lat == 0.0 and lon == 0.0:
        lat = lon = None  # cameras write 0/0 without a fix
    return lat, lon, alt


def exif_gps(gps: Mapping[int, Any]) -> tuple[float | None, float | None, float | None]:
    """(latitude, longitude, GPSAltitude) from an EXIF GPS IFD by tag number, as written:
    degrees negative for S and W, metres negative below the altitude reference."""
    lat = dms_to_degrees(gps.get(2), exif_text(gps.get(1)))
    lon = dms_to_degrees(gps.get(4), exif_text(gps.get(3)))
    alt = exif_number(gps.get(6))
    if alt is not None and gps.get(5) in (1, b"\x01", "1"):
        alt = -alt
    return lat, lon, alt


def dms_to_degrees(value: Any, ref: str | None) -> float | None:
    """Decimal degrees from EXIF (degrees, minutes, seconds); negative for S and W."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 3:
        return None
    parts = [exif_number(v) for v in value]
    if any(p is None for p in parts):
        return None
    deg = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0  # type: ignore[operator]
    return -deg if (ref or "").upper().startswith(("S", "W")) else deg


def _focal_plane_res(sub: Mapping[int, Any]) -> float | None:
    res = _positive(sub.get(_FP_XRES))
    unit_mm = _FP_UNIT_MM.get(_int(sub.get(_FP_UNIT)) or 2)
    return res / unit_mm if res and unit_mm else None


def _rad(text: str | None) -> float | None:
    value = exif_number(text)
    return math.radians(value) if value is not None else None


def exif_number(value: Any) -> float | None:
    """A finite float from an EXIF/XMP value (rational, number or text); None otherwise."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: Any) -> float | None:
    number = exif_number(value)
    return number if number is not None and number > 0.0 else None


def _int(value: Any) -> int | None:
    number = exif_number(value)
    return int(number) if number is not None else None


def exif_text(value: Any) -> str | None:
    """Text of an EXIF/XMP value without NULs and surrounding blanks; None where empty."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).replace("\x00", "").strip()
    return text or None
