"""A small little-endian TIFF writer for one float32 band, with EXIF and GPS sub-IFDs.

Written here because neither writer at hand can store EXIF/GPS the standard way:
tifffile states that it does not write ExifIFD/GPSIFD tags, and GDAL keeps EXIF_*
metadata only in its own GDAL_METADATA XML. Standard sub-IFDs are what exiftool,
Pillow, tifffile and GDAL (``EXIF`` metadata domain) all read back.

Layout: header, deflate-compressed strips, IFD0 with its long values, then the EXIF
and GPS IFDs. Tags are (tag, type, values) with TIFF types BYTE, ASCII, SHORT, LONG,
RATIONAL.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import numpy as np

BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5
_FORMATS = {BYTE: "B", SHORT: "H", LONG: "I"}
EXIF_IFD, GPS_IFD = 34665, 34853
_STRIP_BYTES = 64 * 1024


@dataclass(frozen=True)
class Tag:
    """One TIFF field: ``tag`` number, TIFF ``kind`` (BYTE ... RATIONAL) and its values."""

    tag: int
    kind: int
    values: str | bytes | Sequence[int] | Sequence[float]

    def payload(self) -> tuple[int, bytes]:
        """(count, encoded little-endian bytes)."""
        if self.kind == ASCII:
            values = self.values
            text = values if isinstance(values, str) else bytes(values).decode("latin-1")  # type: ignore[arg-type]
            raw = text.encode("utf-8") + b"\x00"
            return len(raw), raw
        if self.kind == RATIONAL:
            parts = [Fraction(v).limit_denominator(1_000_000) for v in self.values]  # type: ignore[union-attr]
            return len(parts), b"".join(struct.pack("<II", p.numerator, p.denominator) for p in parts)
        values = list(self.values)  # type: ignore[arg-type]
        return len(values), struct.pack(f"<{len(values)}{_FORMATS[self.kind]}", *values)


def _ifd(tags: Sequence[Tag], offset: int) -> bytes:
    """An IFD at file ``offset`` (even), followed by its values longer than 4 bytes."""
    tags = sorted(tags, key=lambda t: t.tag)
    values_at = offset + 2 + 12 * len(tags) + 4
    entries, extra = [struct.pack("<H", len(tags))], bytearray()
    for tag in tags:
        count, raw = tag.payload()
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", values_at + len(extra))
            extra += raw + (b"\x00" if len(raw) % 2 else b"")
        entries.append(struct.pack("<HHI", tag.tag, tag.kind, count) + field)
    entries.append(struct.pack("<I", 0))
    return b"".join(entries) + bytes(extra)


def _strips(pixels: np.ndarray, compress: bool) -> tuple[list[bytes], int]:
    rows = max(1, _STRIP_BYTES // max(1, pixels.shape[1] * 4))
    data = np.ascontiguousarray(pixels, dtype="<f4")
    strips = [data[r:r + rows].tobytes() for r in range(0, data.shape[0], rows)]
    return ([zlib.compress(s, 6) for s in strips] if compress else strips), rows


def write_float32_tiff(fh: BinaryIO, pixels: np.ndarray, tags: Sequence[Tag],
                       exif: Sequence[Tag] = (), gps: Sequence[Tag] = (), compress: bool = True) -> None:
    """Write a one-band float32 TIFF to ``fh``: ``tags`` go to IFD0 beside the image
    structure tags; non-empty ``exif``/``gps`` become the EXIF and GPS sub-IFDs."""
    height, width = pixels.shape
    strips, rows = _strips(pixels, compress)
    pos = 8 + sum(len(s) + len(s) % 2 for s in strips)
    offsets, cursor = [], 8
    for s in strips:
        offsets.append(cursor)
        cursor += len(s) + len(s) % 2
    image = [Tag(256, LONG, [width]), Tag(257, LONG, [height]), Tag(258, SHORT, [32]),
             Tag(259, SHORT, [8 if compress else 1]), Tag(262, SHORT, [1]), Tag(273, LONG, offsets),
             Tag(277, SHORT, [1]), Tag(278, LONG, [rows]), Tag(279, LONG, [len(s) for s in strips]),
             Tag(284, SHORT, [1]), Tag(339, SHORT, [3])]
    links = [Tag(EXIF_IFD, LONG, [0])] * bool(exif) + [Tag(GPS_IFD, LONG, [0])] * bool(gps)
    ifd0_len = len(_ifd([*image, *tags, *links], pos))
    exif_at = pos + ifd0_len + ifd0_len % 2
    exif_bytes = _ifd(exif, exif_at) if exif else b""
    gps_at = exif_at + len(exif_bytes) + len(exif_bytes) % 2
    links = [Tag(EXIF_IFD, LONG, [exif_at])] * bool(exif) + [Tag(GPS_IFD, LONG, [gps_at])] * bool(gps)
    fh.write(b"II*\x00" + struct.pack("<I", pos))
    for s in strips:
        fh.write(s + b"\x00" * (len(s) % 2))
    for block in (_ifd([*image, *tags, *links], pos), exif_bytes, _ifd(gps, gps_at) if gps else b""):
        fh.write(block + b"\x00" * (len(block) % 2))
