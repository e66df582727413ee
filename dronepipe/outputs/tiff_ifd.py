"""A small little-endian TIFF writer: one image with EXIF and GPS sub-IFDs, and EXIF
blocks for JPEGs.

Why our own: no writer at hand stores EXIF/GPS the standard way with compressed
pixels. tifffile states that it does not write ExifIFD/GPSIFD tags; GDAL keeps EXIF_*
metadata only in its own GDAL_METADATA XML; Pillow writes EXIF sub-IFDs only into
uncompressed TIFFs (with libtiff compression it rejects the EXIF pointer), and
radiometric frames uncompressed would make the simulator's sample flight several times
larger. Standard sub-IFDs are what exiftool, Pillow, libtiff, tifffile and GDAL
(``EXIF`` metadata domain) all read back.

The files are baseline TIFF 6.0: header, strips (uncompressed, Deflate or LZMA; for
integer samples optionally after the horizontal-differencing predictor, tag 317 = 2),
IFD0 with its long values, then the EXIF and GPS IFDs. Samples: uint8, uint16 or
float32, one band or RGB. Users: the thermal converter (``temperature_tiff``, float32
degrees C) and the simulator (``dronepipe.sim.files``: uint16 TLinear frames, EXIF
blocks for its JPEGs).

A field is a ``Tag(tag, kind, values)`` with TIFF kinds ``BYTE`` / ``UNDEFINED``
(bytes or ints), ``ASCII`` (str), ``SHORT`` / ``LONG`` (int or ints) and ``RATIONAL``
(numbers, stored as the nearest fraction with a denominator up to 10**6, or exact
``(numerator, denominator)`` pairs).
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
EXIF_IFD, GPS_IFD = 34665, 34853
COMPRESSION = {"none": 1, "deflate": 8, "lzma": 34925}
_STRIP_BYTES = {"none": 64 * 1024, "deflate": 64 * 1024, "lzma": 1 << 20}  # LZMA gains from long strips
_SAMPLE_FORMAT = {"u": 1, "f": 3}


@dataclass(frozen=True)
class Tag:
    """One TIFF field: ``tag`` number, TIFF ``kind`` (BYTE ... UNDEFINED) and its values."""

    tag: int
    kind: int
    values: Any

    def payload(self) -> tuple[int, bytes]:
        """(count, encoded little-endian bytes)."""
        values = self.values
        if self.kind == ASCII:
            text = values if isinstance(values, str) else bytes(values).decode("latin-1")
            raw = text.encode("utf-8") + b"\x00"
            return len(raw), raw
        if self.kind in (BYTE, UNDEFINED):
            raw = bytes(values)
            return len(raw), raw
        if self.kind == RATIONAL:
            pairs = [_rational(v) for v in values]
            return len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs)
        ints = [int(v) for v in (values if isinstance(values, Sequence) else [values])]
        fmt = "<H" if self.kind == SHORT else "<I"
        return len(ints), b"".join(struct.pack(fmt, v) for v in ints)


def _rational(value: Any) -> tuple[int, int]:
    if isinstance(value, Sequence):
        numerator, denominator = value
        return int(numerator), int(denominator)
    part = Fraction(value).limit_denominator(1_000_000)
    return part.numerator, part.denominator


def ifd_bytes(tags: Sequence[Tag], offset: int) -> bytes:
    """An IFD placed at file ``offset`` (even): entries sorted by tag, no next IFD, then
    the values longer than 4 bytes, each padded to an even length."""
    tags = sorted(tags, key=lambda t: t.tag)
    values_at = offset + 2 + 12 * len(tags) + 4
    entries, extra = [struct.pack("<H", len(tags))], bytearray()
    for tag in tags:
        count, raw = tag.payload()
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", values_at + len(extra))
            extra += raw + b"\x00" * (len(raw) & 1)
        entries.append(struct.pack("<HHI", tag.tag, tag.kind, count) + field)
    entries.append(struct.pack("<I", 0))
    return b"".join(entries) + bytes(extra)


def _ifds(ifd0: Sequence[Tag], exif: Sequence[Tag], gps: Sequence[Tag], start: int) -> bytes:
    """IFD0 at ``start`` with pointers to the non-empty EXIF and GPS IFDs right after it."""
    def links(exif_at: int, gps_at: int) -> list[Tag]:
        return [Tag(EXIF_IFD, LONG, exif_at)] * bool(exif) + [Tag(GPS_IFD, LONG, gps_at)] * bool(gps)

    exif_at = start + len(ifd_bytes([*ifd0, *links(0, 0)], start))
    exif_raw = ifd_bytes(exif, exif_at) if exif else b""
    gps_at = exif_at + len(exif_raw)
    gps_raw = ifd_bytes(gps, gps_at) if gps else b""
    return ifd_bytes([*ifd0, *links(exif_at, gps_at)], start) + exif_raw + gps_raw


def exif_block(ifd0: Sequence[Tag], exif: Sequence[Tag] = (), gps: Sequence[Tag] = ()) -> bytes:
    """A JPEG APP1 EXIF payload (``Exif\\0\\0`` + TIFF structure), as Pillow's ``exif=`` takes."""
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + _ifds(ifd0, exif, gps, 8)


def _compress(raw: bytes, compression: str) -> bytes:
    if compression == "lzma":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=6)
    if compression == "deflate":
        return zlib.compress(raw, 6)
    return raw


def tiff_bytes(image: NDArray[Any], tags: Sequence[Tag] = (), exif: Sequence[Tag] = (),
               gps: Sequence[Tag] = (), compression: str = "deflate", predictor: bool = False) -> bytes:
    """A complete TIFF of a (H, W) or (H, W, C) uint8, uint16 or float32 image.

    ``tags`` go to IFD0 beside the image structure tags; non-empty ``exif``/``gps``
    become the EXIF and GPS sub-IFDs. Strips are compressed with ``compression``
    ("none", "deflate" or "lzma"), after the horizontal predictor with ``predictor``
    (integer samples only).
    """
    if compression not in COMPRESSION:
        raise ValueError(f"compression must be one of {sorted(COMPRESSION)}")
    img = np.ascontiguousarray(image)
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"only uint8, uint16 and float32 images, not {img.dtype}")
    if predictor and img.dtype.kind == "f":
        raise ValueError("the horizontal predictor is for integer samples")
    h, w = img.shape[:2]
    spp = 1 if img.ndim == 2 else img.shape[2]
    pix = img.reshape(h, w, spp).astype(img.dtype.newbyteorder("<"), copy=False)
    if predictor:
        diff = pix.copy()
        diff[:, 1:] = pix[:, 1:] - pix[:, :-1]   # modulo 2**bits, as the predictor defines
        pix = diff
    rows = max(1, _STRIP_BYTES[compression] // (w * spp * img.itemsize))
    strips = [_compress(pix[r:r + rows].tobytes(), compression) for r in range(0, h, rows)]
    offsets, at = [], 8
    for s in strips:
        offsets.append(at)
        at += len(s) + (len(s) & 1)
    data = b"".join(s + b"\x00" * (len(s) & 1) for s in strips)
    structure = [
        Tag(256, LONG, w), Tag(257, LONG, h), Tag(258, SHORT, [img.itemsize * 8] * spp),
        Tag(259, SHORT, COMPRESSION[compression]), Tag(262, SHORT, 2 if spp == 3 else 1),
        Tag(273, LONG, offsets), Tag(277, SHORT, spp), Tag(278, LONG, rows),
        Tag(279, LONG, [len(s) for s in strips]), Tag(284, SHORT, 1),
        *[Tag(317, SHORT, 2)] * predictor, Tag(339, SHORT, [_SAMPLE_FORMAT[img.dtype.kind]] * spp)]
    return b"II*\x00" + struct.pack("<I", at) + data + _ifds([*structure, *tags], exif, gps, at)
