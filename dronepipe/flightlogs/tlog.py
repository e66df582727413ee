"""Reading telemetry logs (``.tlog``): MAVLink 1/2 frames, each after an 8-byte
big-endian time stamp (microseconds since the Unix epoch, written by the ground station).

pymavlink's ``mavlogfile`` reads a stamp, then feeds bytes to its parser; once a stamp
and a frame are out of step (garbage, a file cut at the start) it keeps reading frame
bytes as stamps and rarely finds its way back. Here a record is a stamp plus a frame with
a valid checksum (or a complete frame of a message id the dialect does not know, right
after a record and followed by another frame); where none starts, the reader searches
forward for the next verified frame and counts the bytes it skipped. On an intact log
this gives exactly pymavlink's messages.

``collect_tlog`` (used by ``read_telemetry``) does this for all records at once
(``tlog_scan``) and decodes only the message types dronepipe uses, columnwise
(``tlog_decode``). ``iter_tlog`` walks the same records one by one with pymavlink's
decoder: the reference the tests hold the vectorised path to, and a message iterator for
replays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.mavlink_collect import MavlinkCollector
from dronepipe.flightlogs.mavlink_dialect import dialect, new_parser
from dronepipe.flightlogs.tlog_decode import decode_frames, payload_dtype
from dronepipe.flightlogs.tlog_scan import scan_tlog, stamps_s

log = logging.getLogger(__name__)

_STAMP = 8
_V1, _V2 = 0xFE, 0xFD
_PROGRESS_EVERY = 1 << 20


@dataclass
class TlogStats:
    """What framing a tlog skipped."""

    bytes_skipped: int = 0
    skip_runs: int = 0
    bad_crc: int = 0          # complete frames at a record boundary whose checksum failed
    truncated: int = 0        # bytes of a cut-off record at the end


def frame_length(data: bytes, q: int) -> int | None:
    """Length of the MAVLink frame starting at ``q`` (header, payload, checksum, signature),
    None where no frame starts there or its header is cut off."""
    if q + 3 > len(data):
        return None
    magic, plen = data[q], data[q + 1]
    if magic == _V1:
        return plen + 8
    if magic == _V2:
        return plen + 12 + (13 if data[q + 2] & 0x01 else 0)
    return None


class _Framer:
    """Decodes stamped frames at given offsets, telling good from bad."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.mav = new_parser()
        self.known = dialect().mavlink_map
        self.error = dialect().MAVError

    def decode(self, pos: int, strict: bool) -> tuple[Any, int] | None:
        """(message, end offset) of the record at ``pos``, or None. ``strict``: only
        checksum-verified messages of known ids (used when searching for sync)."""
        q = pos + _STAMP
        length = frame_length(self.data, q)
        if length is None or q + length > len(self.data):
            return None
        frame = self.data[q:q + length]
        if frame[0] == _V2 and frame[2] & 0xFE:   # unknown incompatibility flags
            return None
        msgid = frame[5] if frame[0] == _V1 else int.from_bytes(frame[7:10], "little")
        if msgid not in self.known and (strict or not self._followed(q + length)):
            return None
        try:
            msg = self.mav.decode(bytearray(frame))
        except self.error:
            return None
        return msg, q + length

    def _followed(self, end: int) -> bool:
        return end == len(self.data) or frame_length(self.data, end + _STAMP) is not None

    def cut_off(self, pos: int) -> bool:
        """Whether a frame starts at ``pos`` but the file ends before it does."""
        q = pos + _STAMP
        length = frame_length(self.data, q)
        return length is not None and q + length > len(self.data)

    def crc_failed_at(self, pos: int) -> int | None:
        """End of a complete frame of a known message at ``pos`` whose checksum failed and
        that is followed by a good record (so the frame boundary is right), else None."""
        q = pos + _STAMP
        length = frame_length(self.data, q)
        if length is None or q + length > len(self.data):
            return None
        frame = self.data[q:q + length]
        v2 = frame[0] == _V2
        msgid = int.from_bytes(frame[7:10], "little") if v2 else frame[5]
        if msgid not in self.known or (v2 and frame[2] & 0xFE):
            return None
        end = q + length
        return end if end == len(self.data) or self.decode(end, strict=True) else None

    def resync(self, start: int) -> int:
        """The next offset >= ``start`` where a verified record starts (len(data) if none)."""
        data, n = self.data, len(self.data)
        q = start + _STAMP
        while q < n:
            a, b = data.find(b"\xfe", q), data.find(b"\xfd", q)
            hits = [h for h in (a, b) if h != -1]
            if not hits:
                return n
            q = min(hits)
            if self.decode(q - _STAMP, strict=True) is not None:
                return q - _STAMP
            q += 1
        return n


def iter_tlog(data: bytes, stats: TlogStats | None = None,
              progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[Any, float]]:
    """(message, ground-station time s) of every good record in tlog bytes, in file order;
    what was skipped is added to ``stats``."""
    stats = TlogStats() if stats is None else stats
    framer, n, pos, next_report = _Framer(data), len(data), 0, _PROGRESS_EVERY
    while n - pos >= _STAMP + 8:
        got = framer.decode(pos, strict=False)
        if got is not None:
            yield got[0], int.from_bytes(data[pos:pos + _STAMP], "big") * 1e-6
            pos = got[1]
        else:
            nxt = framer.resync(pos + 1)
            if nxt >= n and framer.cut_off(pos):
                break
            stats.bad_crc += framer.crc_failed_at(pos) == nxt
            stats.bytes_skipped += nxt - pos
            stats.skip_runs += 1
            pos = nxt
        if progress is not None and pos >= next_report:
            progress(pos, n)
            next_report += _PROGRESS_EVERY
    if pos < n:
        stats.truncated = n - pos if framer.cut_off(pos) else 0
        stats.bytes_skipped += n - pos
        stats.skip_runs += 1


def collect_tlog(data: bytes, progress: Callable[[int, int], None] | None = None
                 ) -> tuple[MavlinkCollector, TlogStats]:
    """A collector fed with the messages of tlog bytes that dronepipe uses (all are
    counted), and what was skipped. Framing and decoding are vectorised (``tlog_scan``,
    ``tlog_decode``); the sequential ``iter_tlog`` finds the same records and is the
    reference in the tests."""
    arr = np.frombuffer(data, dtype=np.uint8)
    recs = scan_tlog(arr)
    c = MavlinkCollector()
    c.add_counts(recs.counts())
    used = MavlinkCollector.used_types()
    offsets, msgs = [], []
    for msgid, name in recs.names.items():
        if name not in used:
            continue
        sel = np.flatnonzero(recs.msgid == msgid)
        if sel.size:
            offsets.append(recs.start[sel])
            msgs.extend(_decode(arr, recs.start[sel] + 8, recs.frame_len[sel], msgid))
    if offsets:
        all_offsets = np.concatenate(offsets)
        stamps = stamps_s(arr, all_offsets).tolist()
        for k in np.argsort(all_offsets, kind="stable").tolist():
            c.add(msgs[k], stamps[k], counted=True)
    if progress is not None:
        progress(len(data), len(data))
    return c, TlogStats(recs.bytes_skipped, recs.skip_runs, recs.bad_crc, recs.truncated)


def _decode(arr: NDArray[np.uint8], q: NDArray[np.int64], length: NDArray[np.int64],
            msgid: int) -> list[Any]:
    """Messages of verified frames of one id: columnar where the format allows, else by
    pymavlink one at a time."""
    msgtype = dialect().mavlink_map[msgid]
    dtype = payload_dtype(msgtype)
    if dtype is not None:
        return decode_frames(arr, q, msgtype, dtype)
    mav, data = new_parser(), arr.tobytes()
    return [mav.decode(bytearray(data[a:a + n])) for a, n in zip(q.tolist(), length.tolist())]
