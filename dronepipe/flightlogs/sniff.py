"""Recognising a flight log by its content (the file name is only a tie-breaker).

- DataFlash binary: records start with ``A3 95`` and a type byte; a log starts with
  FMT records (``A3 95 80``), and even a fragment has many headers.
- tlog: an 8-byte big-endian time stamp, then a MAVLink frame (``FE`` MAVLink 1 or
  ``FD`` MAVLink 2) whose length byte says where the next stamp starts; three frames
  in a row at the computed places is a tlog.
- DataFlash text: printable lines with ``FMT,`` near the start.
"""

from __future__ import annotations

SNIFF_BYTES = 1 << 16
DATAFLASH = "dataflash"
DATAFLASH_TEXT = "dataflash-text"
TLOG = "tlog"

_MIN_HEADERS = 4
_TLOG_FRAMES = 3
_TLOG_SEARCH = 4096


def _frame_end(head: bytes, pos: int) -> int | None:
    """Offset after the stamp + frame starting at ``pos``, None where none starts there."""
    if pos + 10 > len(head):
        return None
    magic, length = head[pos + 8], head[pos + 9]
    if magic == 0xFE:
        return pos + 8 + length + 8
    if magic == 0xFD:
        if pos + 11 > len(head):
            return None
        signed = head[pos + 10] & 0x01
        return pos + 8 + length + 12 + (13 if signed else 0)
    return None


def tlog_alignment(head: bytes, search: int = _TLOG_SEARCH) -> int | None:
    """First offset (within ``search`` bytes) where three stamped frames follow each other."""
    for start in range(min(search, max(len(head) - 10, 0))):
        pos, frames = start, 0
        while frames < _TLOG_FRAMES:
            end = _frame_end(head, pos)
            if end is None:
                break
            frames += 1
            pos = end
        if frames >= _TLOG_FRAMES or (frames >= 1 and pos == len(head) and start == 0):
            return start
    return None


def _looks_like_text(head: bytes) -> bool:
    sample = head[:8000]
    if b"FMT," not in sample:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    return printable >= 0.95 * len(sample)


def sniff(head: bytes, name: str = "") -> str | None:
    """``"dataflash"``, ``"tlog"``, ``"dataflash-text"`` or None (not a log we know) from
    the first bytes of a file (``SNIFF_BYTES`` are plenty)."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if head[:2] == b"\xa3\x95":
        return DATAFLASH
    if tlog_alignment(head, search=1) == 0:
        return TLOG
    if _looks_like_text(head):
        return DATAFLASH_TEXT
    headers = head.count(b"\xa3\x95")
    aligned = tlog_alignment(head) is not None
    if aligned and headers >= _MIN_HEADERS:
        return DATAFLASH if suffix == "bin" else TLOG
    if aligned:
        return TLOG
    if headers >= _MIN_HEADERS:
        return DATAFLASH
    return None
