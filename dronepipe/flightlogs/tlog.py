"""Reading telemetry logs (``.tlog``): MAVLink 1/2 frames, each after an 8-byte
big-endian time stamp (microseconds since the Unix epoch, written by the ground station).

The file is walked exactly as pymavlink's ``mavlogfile`` walks it (time stamp, then
bytes into the parser until a message or bad data comes out; after bad data a stamp
more than 3 days off is searched for byte by byte), so message counts equal pymavlink's,
but with our own parser instance (see ``mavlink_dialect``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from dronepipe.flightlogs.mavlink_collect import MavlinkCollector
from dronepipe.flightlogs.mavlink_dialect import new_parser

log = logging.getLogger(__name__)

_THREE_DAYS_S = 3 * 24 * 3600.0
_PROGRESS_EVERY = 1 << 20


def _stamp(data: bytes, pos: int) -> float:
    return int.from_bytes(data[pos:pos + 8], "big") * 1e-6


def iter_tlog(data: bytes, progress: Callable[[int, int], None] | None = None
              ) -> Iterator[tuple[Any, float, int]]:
    """(message, ground-station time s, offset after it) for every message or BAD_DATA
    in tlog bytes, in file order."""
    mav = new_parser()
    n, pos, last_t, last_bad, next_report = len(data), 0, None, False, _PROGRESS_EVERY
    while n - pos >= 8:
        t = _stamp(data, pos)
        pos += 8
        if last_bad and last_t is not None and abs(t - last_t) > _THREE_DAYS_S:
            while abs(t - last_t) > _THREE_DAYS_S and n - pos >= 1:
                pos += 1
                t = _stamp(data, pos - 8)
        msg = None
        while msg is None:
            chunk = data[pos:pos + mav.bytes_needed()]
            pos += len(chunk)
            msg = mav.parse_char(chunk)
            if msg is None and not chunk:
                return
        last_bad = msg.get_type() == "BAD_DATA"
        if not last_bad:
            last_t = t
        if progress is not None and pos >= next_report:
            progress(pos, n)
            next_report += _PROGRESS_EVERY
        yield msg, t, pos


def collect_tlog(data: bytes, progress: Callable[[int, int], None] | None = None
                 ) -> tuple[MavlinkCollector, int]:
    """A collector fed with every message of tlog bytes, and the count of bytes left
    over at the end (a cut-off last frame)."""
    c = MavlinkCollector()
    end = 0
    for msg, t, end in iter_tlog(data, progress):
        c.add(msg, t)
    return c, len(data) - end
