"""A small TIFF/EXIF serializer: compressed 16-bit TIFFs with EXIF and GPS IFDs, and
EXIF blocks for JPEGs.

Why our own: Pillow writes EXIF sub-IFDs only into uncompressed TIFFs (with libtiff
compression it rejects the EXIF pointer), and tifffile cannot write EXIF or GPS
sub-IFDs; radiometric frames uncompressed would make the shipped sample flight
several times larger. The files written here are baseline TIFF 6.0 (little-endian,
strips, Adobe Deflate with the horizontal-differencing predictor) that Pillow,
libtiff, GDAL and exiftool read.

An IFD entry is ``(tag, type, value)`` with TIFF types ``ASCII`` (str), ``SHORT`` /
``LONG`` (int or sequence), ``RATIONAL`` (sequence of (numerator, denominator)),
``BYTE`` / ``UNDEFINED`` (bytes).
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
COMPRESSION = {"deflate": 8, "lzma": 34925}
_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1}
EXIF_IFD, GPS_IFD = 34665, 34853
Entry = tuple[int, int, Any]


def _payload(typ: int, value: Any) -> tuple[int, bytes]:
    """(count, packed little-endian bytes) of one entry's value."""
    if typ == ASCII:
        raw = value.encode("ascii") + b"\0"
        return len(raw), raw
    if typ in (BYTE, UNDEFINED):
        raw = bytes(value)
        return len(raw), raw
    if typ == RATIONAL:
        pairs = [tuple(int(x) for x in p) for p in value]
        return len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs)
    vals = [int(v) for v in (value if isinstance(value, Sequence) else [value])]
    fmt = "<H" if typ == SHORT else "<I"
    return len(vals), b"".join(struct.pack(fmt, v) for v in vals)


def ifd_size(entries: Sequence[Entry]) -> int:
    """Bytes an IFD with its out-of-line values takes."""
    extra = 0
    for _, typ, value in entries:
        n = len(_payload(typ, value)[1])
        extra += (n + (n & 1)) if n > 4 else 0
    return 2 + 12 * len(entries) + 4 + extra


def ifd_bytes(entries: Sequence[Entry], offset: int, next_ifd: int = 0) -> bytes:
    """An IFD placed at file ``offset``, entries sorted by tag, values after the entries."""
    entries = sorted(entries, key=lambda e: e[0])
    data_at = offset + 2 + 12 * len(entries) + 4
    head = [struct.pack("<H", len(entries))]
    tail = []
    for tag, typ, value in entries:
        count, raw = _payload(typ, value)
        if len(raw) <= 4:
            head.append(struct.pack("<HHI", tag, typ, count) + raw.ljust(4, b"\0"))
        else:
            head.append(struct.pack("<HHII", tag, typ, count, data_at))
            raw += b"\0" * (len(raw) & 1)
            tail.append(raw)
            data_at += len(raw)
    head.append(struct.pack("<I", next_ifd))
    return b"".join(head + tail)


def _sub_ifds(ifd0: list[Entry], exif: Sequence[Entry], gps: Sequence[Entry],
              start: int) -> tuple[list[Entry], bytes]:
    """IFD0 with EXIF/GPS pointers, and the bytes of IFD0 + sub-IFDs placed at ``start``."""
    ifd0 = list(ifd0)
    if exif:
        ifd0.append((EXIF_IFD, LONG, 0))
    if gps:
        ifd0.append((GPS_IFD, LONG, 0))
    at = start + ifd_size(ifd0)
    ifd0 = [e for e in ifd0 if e[0] not in (EXIF_IFD, GPS_IFD)]
    blobs = []
    if exif:
        ifd0.append((EXIF_IFD, LONG, at))
        blobs.append(ifd_bytes(exif, at))
        at += len(blobs[-1])
    if gps:
        ifd0.append((GPS_IFD, LONG, at))
        blobs.append(ifd_bytes(gps, at))
    return ifd0, ifd_bytes(ifd0, start) + b"".join(blobs)


def exif_block(ifd0: Sequence[Entry], exif: Sequence[Entry], gps: Sequence[Entry]) -> bytes:
    """A JPEG APP1 EXIF payload (``Exif\\0\\0`` + TIFF structure), as Pillow's ``exif=`` takes."""
    _, body = _sub_ifds(list(ifd0), exif, gps, 8)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + body


def _compress(raw: bytes, compression: str) -> bytes:
    if compression == "lzma":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=6)
    return zlib.compress(raw, 6)


def tiff_bytes(image: NDArray, ifd0: Sequence[Entry], exif: Sequence[Entry] = (),
               gps: Sequence[Entry] = (), compression: str = "deflate") -> bytes:
    """A complete TIFF of a (H, W) or (H, W, C) uint8/uint16 image with EXIF and GPS.

    Strips compressed with ``compression`` ("deflate" or "lzma") after the horizontal
    predictor (TIFF tag 317 = 2).
    """
    if compression not in COMPRESSION:
        raise ValueError(f"compression must be one of {sorted(COMPRESSION)}")
    img = np.ascontiguousarray(image)
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"only uint8 and uint16 images, not {img.dtype}")
    h, w = img.shape[:2]
    spp = 1 if img.ndim == 2 else img.shape[2]
    pix = img.reshape(h, w, spp).astype(img.dtype.newbyteorder("<"), copy=False)
    diff = pix.copy()
    diff[:, 1:] = pix[:, 1:] - pix[:, :-1]   # modulo 2**bits, as the predictor defines
    strip_bytes = 65536 if compression == "deflate" else 1 << 20  # LZMA gains from long strips
    rows = max(1, strip_bytes // (w * spp * img.itemsize))
    strips = [_compress(diff[r:r + rows].tobytes(), compression) for r in range(0, h, rows)]
    offsets, at = [], 8
    for s in strips:
        offsets.append(at)
        at += len(s) + (len(s) & 1)
    data = b"".join(s + b"\0" * (len(s) & 1) for s in strips)
    base: list[Entry] = [
        (256, LONG, w), (257, LONG, h), (258, SHORT, [img.itemsize * 8] * spp),
        (259, SHORT, COMPRESSION[compression]),
        (262, SHORT, 2 if spp == 3 else 1), (273, LONG, offsets), (277, SHORT, spp),
        (278, LONG, rows), (279, LONG, [len(s) for s in strips]), (284, SHORT, 1),
        (317, SHORT, 2), (339, SHORT, [1] * spp)]
    _, body = _sub_ifds(base + list(ifd0), exif, gps, at)
    return b"II*\0" + struct.pack("<I", at) + data + body
