"""The marker segments of a JPEG file, up to its first scan.

Thermal JPEGs carry their radiometric payload in application segments: FLIR in
APP1 segments starting ``FLIR\\0`` (an FFF container split into chunks), DJI in APP3
(raw counts; APP4 on the XT S) plus calibration in APP4/APP5. Only the headers before
the first scan (SOS) matter here, so the walk stops there.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SOI = b"\xff\xd8"
APP1, APP3, APP4, SOS, EOI = 0xE1, 0xE3, 0xE4, 0xDA, 0xD9
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
EXIF_PREFIX = b"Exif\x00\x00"
XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"


@dataclass(frozen=True)
class Segment:
    """One marker segment: ``marker`` (0xE1 for APP1 ...), payload ``start`` and ``length`` in bytes."""

    marker: int
    start: int
    length: int


@dataclass(frozen=True)
class JpegLayout:
    """The segments before the first scan, the frame size, and why the walk stopped early.

    ``width``/``height`` come from the first SOF segment (0 where there is none);
    ``problem`` is ``None`` for a well-formed header, else a description (truncated
    segment, garbage instead of a marker).
    """

    segments: tuple[Segment, ...]
    width: int
    height: int
    problem: str | None

    def payloads(self, data: bytes, marker: int, prefix: bytes = b"") -> list[bytes]:
        """The payloads of all ``marker`` segments starting with ``prefix``, in file order."""
        out = []
        for seg in self.segments:
            if seg.marker == marker and data[seg.start:seg.start + len(prefix)] == prefix:
                out.append(data[seg.start:seg.start + seg.length])
        return out

    def total_length(self, marker: int) -> int:
        """Bytes of payload in all ``marker`` segments together."""
        return sum(seg.length for seg in self.segments if seg.marker == marker)


def is_jpeg(head: bytes) -> bool:
    """Whether the bytes start like a JPEG file."""
    return head[:3] == b"\xff\xd8\xff"


def read_layout(data: bytes) -> JpegLayout:
    """Walk the marker segments of a JPEG held in ``data`` (stops at the first scan)."""
    segments: list[Segment] = []
    width = height = 0
    pos, size = 2, len(data)
    problem: str | None = None
    while True:
        if pos + 2 > size:
            problem = f"header ends at byte {pos} before the image data"
            break
        if data[pos] != 0xFF:
            problem = f"no marker at byte {pos}"
            break
        marker = data[pos + 1]
        if marker == 0xFF:           # fill byte
            pos += 1
            continue
        if marker in _NO_LENGTH:
            pos += 2
            continue
        if marker == EOI:
            problem = "end of image before any image data"
            break
        if pos + 4 > size:
            problem = f"segment at byte {pos} is truncated"
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > size:
            problem = f"segment 0x{marker:02X} at byte {pos} runs past the end of the file"
            break
        segments.append(Segment(marker, pos + 4, length - 2))
        if marker in _SOF and not width and length >= 7:
            height, width = struct.unpack_from(">HH", data, pos + 5)
        if marker == SOS:
            break
        pos += 2 + length
    return JpegLayout(tuple(segments), width, height, problem)
