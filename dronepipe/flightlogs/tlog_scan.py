"""Vectorised framing of tlogs: every record found, checksummed and counted at once.

Why: pymavlink parses a tlog byte by byte in Python (2-4 MB/s). Here every byte
``FE``/``FD`` at least 8 bytes into the file is a candidate frame after a time stamp;
its length, message id and X.25 checksum (with the dialect's CRC_EXTRA) are computed for
all candidates together (the checksum one byte column at a time over the candidates
still that long). Candidates with a good checksum are records; a frame of a message id
the dialect does not know cannot be checked and counts only where it follows a record
directly. The records are then the chain through them (``record_chain``): after a record,
the next one starts right at its end, or - after damage - at the next verified frame.

Only the messages dronepipe uses are then decoded (by pymavlink, so values are its
values); all others are only counted, by the names pymavlink gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.mavlink_dialect import dialect
from dronepipe.flightlogs.record_chain import reachable

STAMP = 8
_V1, _V2 = 0xFE, 0xFD
_CHUNK = 1 << 24


@dataclass(frozen=True, eq=False)
class TlogRecords:
    """Records of a tlog: stamp offsets, frame start and length, message ids, and what
    was skipped (bytes, places, bad checksums, a cut-off end)."""

    start: NDArray[np.int64]
    frame_len: NDArray[np.int64]
    msgid: NDArray[np.int64]
    bytes_skipped: int = 0
    skip_runs: int = 0
    bad_crc: int = 0
    truncated: int = 0
    names: dict[int, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Message counts by pymavlink's type names (``UNKNOWN_<id>`` where unknown)."""
        ids, n = np.unique(self.msgid, return_counts=True)
        return {self.names.get(int(i), f"UNKNOWN_{int(i)}"): int(k) for i, k in zip(ids, n)}


def _crc_table() -> tuple[NDArray[np.int64], NDArray[np.int64], dict[int, str]]:
    """(known message ids ascending, their CRC_EXTRA, id -> name) of the dialect."""
    mm = dialect().mavlink_map
    ids = np.array(sorted(mm), dtype=np.int64)
    extra = np.array([mm[int(i)].crc_extra for i in ids], dtype=np.int64)
    return ids, extra, {int(i): mm[int(i)].msgname for i in ids}


def _x25_table() -> NDArray[np.int32]:
    """The byte table of MAVLink's X.25 (CRC-16/MCRF4XX) accumulate step."""
    tmp = np.arange(256, dtype=np.int32)
    tmp = (tmp ^ (tmp << 4)) & 0xFF
    return ((tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF


def x25_many(data: NDArray[np.uint8], start: NDArray[np.int64], length: NDArray[np.int64],
             extra: NDArray[np.int64]) -> NDArray[np.int64]:
    """X.25 checksums (MAVLink's) of ``data[start:start+length]`` followed by ``extra``,
    for many spans at once (table-driven, one byte column at a time)."""
    table = _x25_table()
    order = np.argsort(-length, kind="stable")
    s, ln = start[order], length[order]
    crc = np.full(s.size, 0xFFFF, dtype=np.int32)
    neg = -ln
    for j in range(int(ln[0]) if ln.size else 0):
        active = int(np.searchsorted(neg, -j, side="left"))  # the spans longer than j
        crc[:active] = (crc[:active] >> 8) ^ table[(crc[:active] ^ data[s[:active] + j]) & 0xFF]
    crc = (crc >> 8) ^ table[(crc ^ extra[order].astype(np.int32)) & 0xFF]
    out = np.empty(crc.size, dtype=np.int64)
    out[order] = crc
    return out


def _candidates(data: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Offsets of FE/FD bytes that have a full stamp before them and a header after."""
    n, found = data.size, []
    for lo in range(STAMP, max(n - 2, STAMP), _CHUNK):
        seg = data[lo:min(lo + _CHUNK, n - 2)]
        found.append(np.flatnonzero((seg == _V1) | (seg == _V2)).astype(np.int64) + lo)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class _Frames:
    """Complete candidate frames: offset, length, id, and whether they are verified
    (good checksum) or weak (unknown id, unchecked, followed by another frame)."""

    q: NDArray[np.int64]
    length: NDArray[np.int64]
    msgid: NDArray[np.int64]
    good: NDArray[np.bool_]
    weak: NDArray[np.bool_]
    bad_crc: NDArray[np.bool_]


def _frames(data: NDArray[np.uint8], table: tuple[NDArray[np.int64], NDArray[np.int64],
                                                   dict[int, str]]) -> _Frames:
    n = data.size
    q = _candidates(data)
    v2 = data[q] == _V2
    q = q[~v2 | (q + 10 <= n)]
    v2 = data[q] == _V2
    plen = data[q + 1].astype(np.int64)
    signed = np.where(v2, data[np.minimum(q + 2, n - 1)] & 1, 0).astype(np.int64)
    length = np.where(v2, plen + 12 + 13 * signed, plen + 8)
    keep = q + length <= n
    q, v2, length, signed = q[keep], v2[keep], length[keep], signed[keep]
    msgid = np.where(v2, data[np.minimum(q + 7, n - 1)].astype(np.int64)
                     | (data[np.minimum(q + 8, n - 1)].astype(np.int64) << 8)
                     | (data[np.minimum(q + 9, n - 1)].astype(np.int64) << 16),
                     data[q + 5].astype(np.int64))
    flags_ok = ~v2 | ((data[np.minimum(q + 2, n - 1)] & 0xFE) == 0)
    ids, extra, _ = table
    k = np.minimum(np.searchsorted(ids, msgid), ids.size - 1)
    known = ids[k] == msgid
    body_end = q + length - 2 - 13 * signed
    sel = np.flatnonzero(known & flags_ok)
    crc = x25_many(data, q[sel] + 1, body_end[sel] - q[sel] - 1, extra[k[sel]])
    stored = data[body_end[sel]].astype(np.int64) | (data[body_end[sel] + 1].astype(np.int64) << 8)
    good = np.zeros(q.size, dtype=bool)
    good[sel] = crc == stored
    bad = np.zeros(q.size, dtype=bool)
    bad[sel] = crc != stored
    end = q + length
    nxt = np.minimum(end + STAMP, n - 1)
    followed = (end == n) | ((end + STAMP < n) & ((data[nxt] == _V1) | (data[nxt] == _V2)))
    return _Frames(q, length, msgid, good, ~known & flags_ok & followed, bad)


def _chain(f: _Frames) -> NDArray[np.int64]:
    """Indices (into ``f``) of the records: a weak frame only right after a record."""
    nodes = np.flatnonzero(f.good | f.weak)
    start, end = f.q[nodes] - STAMP, f.q[nodes] + f.length[nodes]
    strong = f.good[nodes]
    m = nodes.size
    exact = np.searchsorted(start, end)
    hit = exact < m
    hit[hit] = start[exact[hit]] == end[hit]
    strong_pos = np.flatnonzero(strong)
    nxt_strong = np.searchsorted(start[strong_pos], end)
    succ = np.where(hit, exact, np.where(nxt_strong < strong_pos.size,
                                         strong_pos[np.minimum(nxt_strong, max(strong_pos.size - 1, 0))]
                                         if strong_pos.size else m, m))
    first = 0 if m and (start[0] == 0 or strong[0]) else (int(strong_pos[0]) if strong_pos.size else m)
    if first >= m:
        return np.zeros(0, dtype=np.int64)
    sub = succ[first:] - first
    on = reachable(np.append(sub, m - first))
    return nodes[first:][on]


def scan_tlog(data: NDArray[np.uint8]) -> TlogRecords:
    """The records of tlog bytes, and what was skipped."""
    n = int(data.size)
    table = _crc_table()
    f = _frames(data, table)
    idx = _chain(f)
    start, flen = f.q[idx] - STAMP, f.length[idx]
    ends = start + STAMP + flen
    gaps_at = np.concatenate([[0], ends])
    gap_len = np.concatenate([start, [n]]) - gaps_at
    bad_crc = _damaged_records(f, gaps_at[gap_len > 0], (gaps_at + gap_len)[gap_len > 0])
    tail = int(gap_len[-1])
    truncated = tail if tail and _cut_off(data, n - tail) else 0
    names = table[2]
    return TlogRecords(start, flen, f.msgid[idx], int(gap_len.sum()), int(np.count_nonzero(gap_len)),
                       bad_crc, truncated, names)


def _damaged_records(f: _Frames, gap_start: NDArray[np.int64], gap_end: NDArray[np.int64]) -> int:
    """Gaps between records filled exactly by one frame whose checksum failed: damaged
    records (pymavlink reports them as bad CRC), not garbage."""
    bad_start = f.q[f.bad_crc] - STAMP
    bad_end = f.q[f.bad_crc] + f.length[f.bad_crc]
    if bad_start.size == 0 or gap_start.size == 0:
        return 0
    i = np.minimum(np.searchsorted(bad_start, gap_start), bad_start.size - 1)
    return int(np.count_nonzero((bad_start[i] == gap_start) & (bad_end[i] == gap_end)))


def _cut_off(data: NDArray[np.uint8], pos: int) -> bool:
    """Whether a frame header starts after a stamp at ``pos`` but the file ends first."""
    q = pos + STAMP
    if q + 3 > data.size or data[q] not in (_V1, _V2):
        return False
    plen = int(data[q + 1])
    length = plen + 8 if data[q] == _V1 else plen + 12 + (13 if data[q + 2] & 1 else 0)
    return q + length > data.size


def stamps_s(data: NDArray[np.uint8], start: NDArray[np.int64]) -> NDArray[np.float64]:
    """Ground-station time stamps (s) of records at ``start`` (8 bytes big-endian, us)."""
    if start.size == 0:
        return np.zeros(0)
    raw = np.lib.stride_tricks.sliding_window_view(data, STAMP)[start]
    return raw.copy().view(">u8").reshape(-1).astype(np.float64) * 1e-6


