"""Our own reader of FLIR's FFF container (``.fff`` files and the APP1 ``FLIR`` segments of R-JPEGs).

Written here rather than taken from a library because the maintained readers either
shell out to exiftool (flirpy, flirimageextractor; the latter also downloads a DJI SDK
at run time) or read only part of the format; we need no subprocess, both byte
orders and the PNG-packed raw data. The layout follows ExifTool's FLIR.pm and FLIR's
ThermoVision streaming-format description:

* a 64-byte header: ``FFF\\0``, creator (16 bytes), version (100-199, which fixes
  the header's byte order), offset and count of the record directory;
* a directory of 32-byte entries: record type, subtype, version, index, offset and
  length (offsets are from the start of the FFF data);
* records, each with its own byte order (flipped when its first int16 reads >= 0x100):
  RawData (type 1: width, height, then raw uint16 or a PNG at 0x20), CameraInfo
  (0x20: emissivity, distances, temperatures in kelvin, Planck and atmosphere
  constants, capture time), MeasInfo (0x21: spot/area tools) and GPSInfo (0x2b,
  always little-endian).

FLIR cameras that pack the raw data as PNG write the 16-bit samples in little-endian
order inside it (the PNG standard says big-endian), so those samples are byte-swapped
after decoding, as ExifTool's documentation, flirpy and Thermimage note.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from dronepipe.errors import ThermalDecodeError
from dronepipe.thermal import jpeg
from dronepipe.thermal.options import KELVIN_OFFSET
from dronepipe.thermal.planck import AtmosphereConstants, PlanckConstants
from dronepipe.thermal.records import RadiometricParams

log = logging.getLogger(__name__)

FFF_MAGIC = (b"FFF\x00", b"AFF\x00")
FLIR_APP1_PREFIX = b"FLIR\x00"
RAW_DATA, CAMERA_INFO, MEAS_INFO, GPS_INFO = 0x01, 0x20, 0x21, 0x2B
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class MeasurementTool:
    """A measurement tool the camera stored: ``kind`` (1 spot, 2 area, 3 ellipse, 4 line)
    and its raw-image pixel coordinates (spot: x, y; area: x, y, width, height)."""

    kind: int
    coords: tuple[int, ...]


@dataclass(frozen=True)
class CameraInfo:
    """The CameraInfo record: calibration, the file's own object parameters, model and time."""

    planck: PlanckConstants
    atmosphere: AtmosphereConstants
    params: RadiometricParams
    model: str | None
    capture_time: datetime | None
    t_utc_s: float | None
    raw_value_median: int | None


@dataclass(frozen=True, eq=False)
class FlirFrame:
    """One FFF frame: raw signal (uint16, height x width), how it was stored, and its records.

    ``raw_storage`` is ``"raw-le"``, ``"raw-be"`` or ``"png"``; ``lat_deg``/``lon_deg``/
    ``gps_alt_m`` come from the FFF GPS record where it is valid.
    """

    raw: np.ndarray
    raw_storage: str
    camera: CameraInfo
    creator: str
    tools: tuple[MeasurementTool, ...] = ()
    lat_deg: float | None = None
    lon_deg: float | None = None
    gps_alt_m: float | None = None


def is_fff(head: bytes) -> bool:
    """Whether the bytes start an FFF container."""
    return head[:4] in FFF_MAGIC


def fff_from_jpeg(data: bytes, layout: jpeg.JpegLayout, source: str) -> bytes:
    """The FFF container of a FLIR R-JPEG: its APP1 ``FLIR`` chunks joined in chunk order."""
    chunks: dict[int, bytes] = {}
    last = 0
    for payload in layout.payloads(data, jpeg.APP1, FLIR_APP1_PREFIX):
        if len(payload) < 8:
            continue
        chunks[payload[6]] = payload[8:]
        last = max(last, payload[7])
    missing = [i for i in range(last + 1) if i not in chunks]
    if not chunks or missing:
        what = f"chunks {missing} of 0..{last} are missing" if chunks else "it has no FLIR segments"
        raise ThermalDecodeError(f"{source}: FLIR data is incomplete ({what}; truncated file?)")
    return b"".join(chunks[i] for i in range(last + 1))


def parse_fff(buf: bytes, source: str) -> FlirFrame:
    """Read the raw data, camera info, measurement tools and GPS of one FFF frame."""
    if len(buf) < 64 or not is_fff(buf):
        raise ThermalDecodeError(f"{source}: not a FLIR FFF container")
    order = _header_order(buf, source)
    records = _directory(buf, order, source)
    if RAW_DATA not in records:
        raise ThermalDecodeError(f"{source}: FLIR file has no raw thermal data (visual-only image?)")
    if CAMERA_INFO not in records:
        raise ThermalDecodeError(f"{source}: FLIR file has no camera info (no Planck constants)")
    camera = _camera_info(records[CAMERA_INFO], order, source)
    raw, storage = _raw_data(records[RAW_DATA], order, source, camera.raw_value_median)
    tools = _measurement_tools(records[MEAS_INFO], order) if MEAS_INFO in records else ()
    lat, lon, alt = _gps(records.get(GPS_INFO, b""))
    creator = buf[4:20].split(b"\x00", 1)[0].decode("latin-1")
    return FlirFrame(raw, storage, camera, creator, tools, lat, lon, alt)


def _header_order(buf: bytes, source: str) -> str:
    for order in (">", "<"):
        if 100 <= struct.unpack_from(order + "I", buf, 0x14)[0] < 200:
            return order
    raise ThermalDecodeError(f"{source}: unsupported FLIR FFF version")


def _directory(buf: bytes, order: str, source: str) -> dict[int, bytes]:
    """{record type: record bytes} (the first record of each type)."""
    offset, count = struct.unpack_from(order + "II", buf, 0x18)
    if count > 4096 or offset + 32 * count > len(buf):
        raise ThermalDecodeError(f"{source}: FLIR record directory is truncated or corrupt")
    records: dict[int, bytes] = {}
    for i in range(count):
        rec_type, _, _, _, rec_pos, rec_len = struct.unpack_from(order + "HHIIII", buf, offset + 32 * i)
        if rec_type == 0 or rec_type in records:
            continue
        if rec_pos + rec_len > len(buf):
            raise ThermalDecodeError(f"{source}: FLIR record 0x{rec_type:02x} runs past the end of the data "
                                     "(truncated file?)")
        records[rec_type] = buf[rec_pos:rec_pos + rec_len]
    return records


def _record_order(rec: bytes, order: str) -> str:
    """A record's byte order: the header's, flipped when its first int16 reads >= 0x100."""
    if len(rec) >= 2 and struct.unpack_from(order + "H", rec, 0)[0] >= 0x100:
        return "<" if order == ">" else ">"
    return order


def _raw_data(rec: bytes, order: str, source: str, median: int | None) -> tuple[np.ndarray, str]:
    order = _record_order(rec, order)
    if len(rec) < 0x20:
        raise ThermalDecodeError(f"{source}: FLIR raw data record is truncated")
    width, height = struct.unpack_from(order + "HH", rec, 2)
    body = rec[0x20:]
    if body[:8] == _PNG_MAGIC:
        return _png_raw(body, width, height, order, source, median), "png"
    if len(body) < width * height * 2 or width * height == 0:
        raise ThermalDecodeError(f"{source}: FLIR raw data holds {len(body)} bytes, "
                                 f"not {width}x{height}x2 (truncated file?)")
    raw = np.frombuffer(body, dtype=order + "u2", count=width * height).reshape(height, width)
    return raw.astype(np.uint16), "raw-le" if order == "<" else "raw-be"


def _png_raw(body: bytes, width: int, height: int, order: str, source: str,
             median: int | None) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint16 or img.shape != (height, width):
        raise ThermalDecodeError(f"{source}: FLIR raw PNG is corrupt or not {width}x{height} 16-bit")
    swap = order == "<"
    if median:
        # the camera stores its own median; trust it over the byte-order convention
        sample = img[::4, ::4]
        medians = {s: float(np.median(sample.byteswap() if s else sample)) for s in (True, False)}
        best = min(medians, key=lambda s: abs(medians[s] - median))
        if best != swap and abs(medians[best] - median) < 0.25 * abs(medians[swap] - median):
            log.warning("%s: FLIR PNG byte order differs from the usual one (median %d)", source, median)
            swap = best
    return img.byteswap() if swap else img


def _camera_info(rec: bytes, order: str, source: str) -> CameraInfo:
    order = _record_order(rec, order)
    if len(rec) < 0x310:
        raise ThermalDecodeError(f"{source}: FLIR camera info record is truncated (no Planck constants)")

    def f32(pos: int) -> float:
        """The float32 at ``pos`` as the shortest decimal that reads back to it (0.95, not 0.9499999881)."""
        return float(str(np.frombuffer(rec, dtype=order + "f4", count=1, offset=pos)[0]))

    def celsius(pos: int) -> float:
        return round(f32(pos) - KELVIN_OFFSET, 9)

    humidity = f32(0x3C)
    params = RadiometricParams(
        emissivity=f32(0x20), object_distance_m=f32(0x24),
        reflected_temp_c=celsius(0x28), atmospheric_temp_c=celsius(0x2C),
        relative_humidity_pct=humidity if humidity > 2.0 else round(humidity * 100.0, 9),
        ir_window_temp_c=celsius(0x30), ir_window_transmission=f32(0x34))
    planck = PlanckConstants(r1=f32(0x58), r2=f32(0x30C), b=f32(0x5C), f=f32(0x60),
                             o=float(struct.unpack_from(order + "i", rec, 0x308)[0]))
    atm = AtmosphereConstants(f32(0x70), f32(0x74), f32(0x78), f32(0x7C), f32(0x80))
    model = rec[0xD4:0xF4].split(b"\x00", 1)[0].decode("latin-1").strip() or None
    median = struct.unpack_from(order + "H", rec, 0x338)[0] if len(rec) >= 0x33A else None
    capture_time, t_utc_s = _capture_time(rec, order)
    return CameraInfo(planck, atm, params, model, capture_time, t_utc_s, median or None)


def _capture_time(rec: bytes, order: str) -> tuple[datetime | None, float | None]:
    """(local time with offset, UTC seconds) from CameraInfo 0x384: Unix time, ms, zone minutes west."""
    if len(rec) < 0x38E:
        return None, None
    unix_s, subsec = struct.unpack_from(order + "II", rec, 0x384)
    (zone_min,) = struct.unpack_from(order + "h", rec, 0x38C)
    if unix_s == 0:
        return None, None
    t_utc_s = unix_s + (subsec & 0xFFFF) / 1000.0
    tz = timezone(timedelta(minutes=-zone_min))
    return datetime.fromtimestamp(t_utc_s, tz), t_utc_s


def _measurement_tools(rec: bytes, order: str) -> tuple[MeasurementTool, ...]:
    order = _record_order(rec, order)
    tools, pos = [], 12
    while pos + 0x24 <= len(rec):
        rec_len, _, coord_len = struct.unpack_from(order + "HHH", rec, pos)
        if rec_len == 0:             # seen on a FLIR b60: a single tool filling the record
            rec_len = len(rec) - pos
        if rec_len < 0x28 or pos + rec_len > len(rec) or pos + 0x24 + coord_len > len(rec):
            break
        (kind,) = struct.unpack_from(order + "H", rec, pos + 0x0A)
        coords = struct.unpack_from(f"{order}{coord_len // 2}h", rec, pos + 0x24)
        tools.append(MeasurementTool(kind, tuple(coords)))
        pos += rec_len
    return tuple(tools)


def _gps(rec: bytes) -> tuple[float | None, float | None, float | None]:
    if len(rec) < 0x24 or struct.unpack_from("<I", rec, 0)[0] != 1:
        return None, None, None
    lat, lon = struct.unpack_from("<dd", rec, 0x10)
    (alt,) = struct.unpack_from("<f", rec, 0x20)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None, None
    return lat, lon, None if alt == -1.0 else float(alt)   # -1: no altitude (seen with GPSValid 1)
