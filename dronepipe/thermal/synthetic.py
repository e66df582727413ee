"""Synthetic thermal files (as bytes) for tests and benchmarks where no real camera file is at hand.

``fff_bytes`` builds an FFF container the way FLIR cameras lay it out (header,
record directory, RawData, CameraInfo and optionally GPSInfo records; any header
and record byte order; raw data as uint16 or as a PNG with little-endian samples, as
FLIR writes it), ``flir_jpeg_bytes`` wraps one into APP1 ``FLIR`` chunks of a small
JPEG, ``centikelvin_tiff_bytes`` writes a 16-bit TLinear TIFF and
``dji_like_jpeg_bytes`` a JPEG whose APP3 segments hold a raw frame as DJI's do (enough
for the decoder choice; it is not a measurable R-JPEG). Nothing here writes files.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import cv2
import numpy as np
import tifffile

from dronepipe.thermal.options import KELVIN_OFFSET
from dronepipe.thermal.planck import AtmosphereConstants, PlanckConstants, celsius_to_raw
from dronepipe.thermal.records import RadiometricParams

DEFAULT_PLANCK = PlanckConstants(r1=17096.453, r2=0.046582058, b=1428.0, f=1.0, o=-267.0)
DEFAULT_PARAMS = RadiometricParams(emissivity=0.95, object_distance_m=10.0, reflected_temp_c=20.0,
                                   atmospheric_temp_c=15.0, relative_humidity_pct=60.0,
                                   ir_window_temp_c=20.0, ir_window_transmission=1.0)


@dataclass(frozen=True)
class FlirScene:
    """What a synthetic FLIR frame holds: temperatures (C), calibration, parameters, GPS, time."""

    celsius: np.ndarray
    planck: PlanckConstants = DEFAULT_PLANCK
    atmosphere: AtmosphereConstants = field(default_factory=AtmosphereConstants)
    params: RadiometricParams = DEFAULT_PARAMS
    lat_lon_alt: tuple[float, float, float] | None = None
    t_utc_s: int = 1_600_000_000
    zone_minutes_west: int = -60

    def raw(self) -> np.ndarray:
        """The uint16 raw signal a camera would record for ``celsius``."""
        signal = celsius_to_raw(self.celsius, self.planck, self.atmosphere, self.params)
        return np.clip(np.rint(signal), 0, 65535).astype(np.uint16)


def gradient_scene(width: int = 160, height: int = 120, low_c: float = 10.0, high_c: float = 60.0) -> np.ndarray:
    """A float64 test scene: a left-to-right ramp from ``low_c`` to ``high_c`` with a hot square."""
    scene = np.tile(np.linspace(low_c, high_c, width), (height, 1))
    scene[height // 3: height // 2, width // 3: width // 2] = high_c + 40.0
    return scene


def _camera_info(scene: FlirScene, order: str) -> bytes:
    rec = bytearray(2476)
    p, a = scene.planck, scene.atmosphere
    prm = {k: float(v) for k, v in scene.params.as_dict().items()}
    struct.pack_into(order + "H", rec, 0, 2)
    floats = {0x20: prm["emissivity"], 0x24: prm["object_distance_m"],
              0x28: prm["reflected_temp_c"] + KELVIN_OFFSET, 0x2C: prm["atmospheric_temp_c"] + KELVIN_OFFSET,
              0x30: prm["ir_window_temp_c"] + KELVIN_OFFSET, 0x34: prm["ir_window_transmission"],
              0x3C: prm["relative_humidity_pct"] / 100.0,
              0x58: p.r1, 0x5C: p.b, 0x60: p.f, 0x70: a.alpha1, 0x74: a.alpha2, 0x78: a.beta1,
              0x7C: a.beta2, 0x80: a.x, 0x30C: p.r2}
    for pos, value in floats.items():
        struct.pack_into(order + "f", rec, pos, value)
    rec[0xD4:0xD4 + 14] = b"Synthetic FLIR"
    struct.pack_into(order + "i", rec, 0x308, int(p.o))
    struct.pack_into(order + "H", rec, 0x338, int(np.median(scene.raw())))
    struct.pack_into(order + "IIh", rec, 0x384, scene.t_utc_s, 250, scene.zone_minutes_west)
    return bytes(rec)


def _raw_data(raw: np.ndarray, order: str, png: bool) -> bytes:
    head = bytearray(0x20)
    struct.pack_into(order + "HHH", head, 0, 2, raw.shape[1], raw.shape[0])
    if png:   # FLIR writes little-endian samples into the PNG: encode byte-swapped values
        ok, body = cv2.imencode(".png", raw.astype("<u2").byteswap() if order == "<" else raw)
        assert ok
        return bytes(head) + body.tobytes()
    return bytes(head) + raw.astype(order + "u2").tobytes()


def _gps(lat: float, lon: float, alt: float) -> bytes:
    rec = bytearray(184)
    struct.pack_into("<I", rec, 0, 1)
    struct.pack_into("<ddf", rec, 0x10, lat, lon, alt)
    return bytes(rec)


def fff_bytes(scene: FlirScene, header_order: str = ">", record_order: str = "<", png: bool = False) -> bytes:
    """An FFF container of ``scene`` (byte orders ``"<"``/``">"``; raw as PNG or uint16)."""
    records = [(0x01, 3 if png else (2 if record_order == "<" else 1), _raw_data(scene.raw(), record_order, png)),
               (0x20, 1, _camera_info(scene, record_order))]
    if scene.lat_lon_alt:
        records.append((0x2B, 1, _gps(*scene.lat_lon_alt)))
    directory, body, pos = bytearray(), bytearray(), 64 + 32 * len(records)
    for rec_type, subtype, data in records:
        directory += struct.pack(header_order + "HHIIIIIII", rec_type, subtype, 100, 1, pos, len(data), 0, 0, 0)
        body += data
        pos += len(data)
    header = bytearray(64)
    header[0:4], header[4:20] = b"FFF\x00", b"dronepipe-synth".ljust(16, b"\x00")
    struct.pack_into(header_order + "III", header, 0x14, 100, 64, len(records))
    return bytes(header + directory + body)


def _small_jpeg(width: int = 32, height: int = 24) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((height, width), 128, np.uint8))
    assert ok
    return data.tobytes()


def _with_segments(jpeg: bytes, marker: int, payloads: list[bytes]) -> bytes:
    segments = b"".join(struct.pack(">BBH", 0xFF, marker, len(p) + 2) + p for p in payloads)
    return jpeg[:2] + segments + jpeg[2:]


def flir_jpeg_bytes(fff: bytes, chunk: int = 65000) -> bytes:
    """A JPEG carrying ``fff`` in APP1 ``FLIR`` chunks, as FLIR R-JPEGs do."""
    parts = [fff[i:i + chunk] for i in range(0, len(fff), chunk)]
    payloads = [b"FLIR\x00\x01" + bytes([i, len(parts) - 1]) + part for i, part in enumerate(parts)]
    return _with_segments(_small_jpeg(), 0xE1, payloads)


def dji_like_jpeg_bytes(width: int = 32, height: int = 24) -> bytes:
    """A JPEG with a width x height uint16 frame in APP3 segments (DJI's layout, not measurable)."""
    raw = np.full((height, width), 20000, np.uint16).tobytes()
    parts = [raw[i:i + 65532] for i in range(0, len(raw), 65532)]
    return _with_segments(_small_jpeg(width, height), 0xE3, parts)


def centikelvin_tiff_bytes(celsius: np.ndarray, scale_k_per_count: float = 0.01) -> bytes:
    """A 16-bit TIFF of ``celsius`` in counts of ``scale_k_per_count`` kelvin (TLinear)."""
    counts = np.clip(np.rint((np.asarray(celsius) + KELVIN_OFFSET) / scale_k_per_count), 0, 65535)
    buf = io.BytesIO()
    tifffile.imwrite(buf, counts.astype(np.uint16))
    return buf.getvalue()
