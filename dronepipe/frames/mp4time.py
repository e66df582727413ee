"""The creation time an MP4/MOV container states (ISO base media ``moov/mvhd``).

``container_creation_time(path)`` walks the top-level boxes (seeking over ``mdat``,
never reading the media) to the movie header and returns its creation time in UTC
seconds, or None where the file is no ISO base media file or leaves the field 0
(unset, as OpenCV's writer does). The format defines the field as UTC since
1904-01-01, but cameras write their own clock there, and several DJI models their
local time: callers treat it as a camera-clock time that still needs the camera's
offset, like an EXIF time. Most cameras stamp the start of the recording; some the
end (the caller says which it assumes). Written here because OpenCV does not expose
the field and ffprobe is not a dependency; the box walk is a dozen lines.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

MP4_EPOCH_TO_UNIX_S = 2_082_844_800  # seconds from 1904-01-01 to 1970-01-01
MP4_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".3gp"})
_MAX_BOXES = 10_000


def container_creation_time(path: Path) -> float | None:
    """UTC seconds (as stated) of the container's ``mvhd`` creation time; None if absent."""
    if path.suffix.lower() not in MP4_SUFFIXES:
        return None
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            moov = _find_box(fh, 0, size, b"moov")
            mvhd = _find_box(fh, moov[0], moov[1], b"mvhd") if moov else None
            if mvhd is None:
                return None
            fh.seek(mvhd[0])
            head = fh.read(12)
    except OSError as exc:
        log.info("%s: cannot read the container header (%s)", path, exc)
        return None
    if len(head) < 8:
        return None
    created = struct.unpack(">Q", head[4:12])[0] if head[0] == 1 else struct.unpack(">I", head[4:8])[0]
    return None if created == 0 else float(created - MP4_EPOCH_TO_UNIX_S)


def _find_box(fh: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    """(payload start, box end) of the first box ``kind`` between ``start`` and ``end``."""
    pos = start
    for _ in range(_MAX_BOXES):
        if pos + 8 > end:
            return None
        fh.seek(pos)
        size, box = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", fh.read(8))[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return None
        if box == kind:
            return pos + header, min(pos + size, end)
        pos += size
    return None
