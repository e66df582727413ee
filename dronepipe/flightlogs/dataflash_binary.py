"""Vectorised reader of ArduPilot DataFlash ``.bin`` logs.

Why our own reader: pymavlink's ``DFReader`` builds one Python object per record and
reads about 8 MB/s; a flight of an hour is hundreds of MB. Here the whole file is one
numpy byte array and every step works on all records at once:

1. find every header candidate (bytes ``A3 95``) and every FMT candidate in it;
2. resolve, for each candidate, the FMT definition in force at that position (the
   latest FMT for its type id earlier in the file);
3. link each record to the next one the way pymavlink walks the file: after a record
   of length L at p, the next record is the first candidate at or after p + L whose type
   is known (unknown bytes are skipped one by one, which is what pymavlink's resync
   does); the records on the chain that starts at the first valid header are the log.
   The chain is found as the fixpoint "on the chain = the start, or the successor of a
   record on the chain", which needs a handful of vectorised passes (false headers
   inside payloads have no predecessor and drop out at once);
4. FMT records that turn out not to be on the chain (a false header inside a payload)
   are withdrawn and 2-3 repeated until the definitions and the chain agree; should
   that not settle, a plain sequential walk decides (``walk_sequential``, also the
   reference the tests compare against);
5. all records of one type are gathered into a packed structured array in one fancy
   index and decoded with the format's multipliers exactly as pymavlink applies them.

A record that runs past the end of the file ends the log (pymavlink stops there too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.dataflash_format import (
    BUILTIN_FMT,
    FMT_LENGTH,
    FMT_TYPE,
    HEAD1,
    HEAD2,
    MessageFormat,
    decode_text,
)
from dronepipe.flightlogs.record_chain import in_sorted, reachable

log = logging.getLogger(__name__)

_CHUNK = 1 << 24          # bytes per pass when searching headers (bounds temporary memory)
_DEFINITION_ROUNDS = 8    # FMT/chain agreement rounds before the sequential walk decides
BENIGN_TAIL_BYTES = 528   # pymavlink's allowance for padding at the end of block logs


@dataclass(frozen=True)
class ScanStats:
    """What a scan kept and skipped, in bytes and counts."""

    bytes_total: int = 0
    bytes_in_records: int = 0
    bytes_skipped: int = 0         # every byte not in a decoded record (includes the tail)
    skip_runs: int = 0             # places where bytes were skipped
    tail_bytes: int = 0            # skipped bytes after the last record (padding, cut-off)
    unknown_headers: int = 0       # headers of a type without FMT, skipped over
    broken_records: int = 0        # headers of a type whose FMT size does not add up
    truncated_records: int = 0     # a last record cut off by the end of the file


@dataclass(frozen=True, eq=False)
class RecordTable:
    """All records of one message name: ``offsets`` (file order) and decoded columns."""

    name: str
    offsets: NDArray[np.int64]
    columns: Mapping[str, NDArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.offsets.size)

    def get(self, column: str) -> NDArray | None:
        """A column's values, or None where the layout has no such column."""
        return self.columns.get(column)

    def has(self, *columns: str) -> bool:
        """Whether every named column is present."""
        return all(c in self.columns for c in columns)

    def subset(self, mask: NDArray[np.bool_]) -> RecordTable:
        """The rows where ``mask`` is True."""
        return RecordTable(self.name, self.offsets[mask],
                           {k: v[mask] for k, v in self.columns.items()})


@dataclass(frozen=True)
class _Definitions:
    """FMT definitions sorted by (type id, position); position -1 is the built-in FMT."""

    pos: NDArray[np.int64]
    type_id: NDArray[np.int64]
    formats: tuple[MessageFormat, ...]

    @staticmethod
    def build(items: Iterable[tuple[int, MessageFormat]]) -> _Definitions:
        """Definitions from (FMT record offset, format) pairs, plus the built-in FMT."""
        rows = sorted([(FMT_TYPE, -1, BUILTIN_FMT)] + [(f.type_id, p, f) for p, f in items],
                      key=lambda r: (r[0], r[1]))
        return _Definitions(np.array([r[1] for r in rows], dtype=np.int64),
                            np.array([r[0] for r in rows], dtype=np.int64),
                            tuple(r[2] for r in rows))

    def resolve(self, cand_pos: NDArray[np.int64], cand_type: NDArray[np.int64],
                size: int) -> NDArray[np.int64]:
        """Index of the definition in force at each candidate, -1 where its type is unknown."""
        shift = np.int64(size + 2)
        keys = self.type_id * shift + (self.pos + 1)
        ckeys = cand_type * shift + (cand_pos + 1)
        idx = np.searchsorted(keys, ckeys, side="left") - 1
        ok = idx >= 0
        ok[ok] &= self.type_id[idx[ok]] == cand_type[ok]
        return np.where(ok, idx, -1)


def find_headers(data: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Offsets of every ``A3 95`` pair that has a type byte after it."""
    n = data.size
    found: list[NDArray[np.int64]] = []
    for start in range(0, max(n - 2, 0), _CHUNK):
        stop = min(start + _CHUNK, n - 2)
        hits = np.flatnonzero(data[start:stop] == HEAD1).astype(np.int64) + start
        found.append(hits[data[hits + 1] == HEAD2])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def parse_fmt_record(data: NDArray[np.uint8] | bytes, pos: int) -> MessageFormat | None:
    """The definition an FMT record at ``pos`` carries, or None where pymavlink would
    reject it (unknown format characters, cut off by the end of the file)."""
    body = bytes(data[pos + 3:pos + FMT_LENGTH])
    if len(body) != FMT_LENGTH - 3:
        return None
    name = decode_text(body[2:6])
    fmt = body[6:22].decode(errors="backslashreplace").split("\0", 1)[0]
    cols = body[22:86].decode(errors="backslashreplace").split("\0", 1)[0]
    return MessageFormat.parse(body[0], name, body[1], fmt, cols)


def _successors(node_pos: NDArray[np.int64], node_len: NDArray[np.int64],
                size: int) -> NDArray[np.int64]:
    """Index of the next node after each node (len(node_pos) = the end)."""
    m = node_pos.size
    nxt = np.searchsorted(node_pos, node_pos + node_len, side="left")
    nxt[node_pos + node_len > size] = m   # a record cut off by the end ends the log
    return np.append(nxt, m)


@dataclass(frozen=True, eq=False)
class _Chain:
    """The records of the log: file offsets, definition index, and what was skipped."""

    pos: NDArray[np.int64]            # offsets of decoded records, ascending
    def_idx: NDArray[np.int64]        # index into ``defs.formats`` per record
    defs: _Definitions
    truncated_at: int                 # offset of a record cut off by the end, or -1
    off_chain_pos: NDArray[np.int64]  # header candidates that are not records
    off_chain_def: NDArray[np.int64]  # their definition index (-1 unknown type)


class _Candidates:
    """Header candidates and FMT candidates of one file."""

    def __init__(self, data: NDArray[np.uint8]) -> None:
        self.size = int(data.size)
        self.pos = find_headers(data)
        self.type = data[self.pos + 2].astype(np.int64)
        fmt_pos = self.pos[(self.type == FMT_TYPE) & (self.pos + FMT_LENGTH <= self.size)]
        content = {int(p): parse_fmt_record(data, int(p)) for p in fmt_pos}
        self.fmt_content = {p: f for p, f in content.items() if f is not None}
        # an FMT whose content pymavlink rejects is not a record (it resyncs after it)
        bad = np.array(sorted(p for p, f in content.items() if f is None), dtype=np.int64)
        self.rejected = in_sorted(self.pos, bad)

    def definitions(self, fmt_positions: Iterable[int]) -> _Definitions:
        """Definitions carried by the FMT records at these offsets (FMT's own layout
        is fixed; an FMT record redefining it is kept as a record but not applied)."""
        items = [(p, self.fmt_content[p]) for p in fmt_positions
                 if self.fmt_content[p].type_id != FMT_TYPE]
        return _Definitions.build(items)

    def chain(self, defs: _Definitions) -> _Chain:
        """The chain of records given these definitions."""
        idx = defs.resolve(self.pos, self.type, self.size)
        lengths = np.array([f.length if f.valid else -1 for f in defs.formats], dtype=np.int64)
        node_len = np.where(idx >= 0, lengths[np.maximum(idx, 0)], -1)
        node_idx = np.flatnonzero((node_len > 0) & ~self.rejected)
        node_pos, node_len = self.pos[node_idx], node_len[node_idx]
        on_idx = node_idx[reachable(_successors(node_pos, node_len, self.size))]
        truncated_at = -1
        if on_idx.size and self.pos[on_idx[-1]] + lengths[idx[on_idx[-1]]] > self.size:
            truncated_at = int(self.pos[on_idx[-1]])
            on_idx = on_idx[:-1]
        off = np.ones(self.pos.size, dtype=bool)
        off[on_idx] = False
        return _Chain(self.pos[on_idx], idx[on_idx], defs, truncated_at, self.pos[off], idx[off])

    def consistent_chain(self) -> _Chain | None:
        """The chain whose FMT records are exactly the definitions it was built with, or
        None if the vectorised rounds did not settle."""
        assumed = set(self.fmt_content)
        for _ in range(_DEFINITION_ROUNDS):
            chain = self.chain(self.definitions(sorted(assumed)))
            fmt_idx = int(np.flatnonzero(chain.defs.pos == -1)[0])
            on_chain = {int(p) for p in chain.pos[chain.def_idx == fmt_idx]}
            on_chain &= set(self.fmt_content)
            if on_chain == assumed:
                return chain
            assumed = on_chain
        return None


def walk_sequential(data: NDArray[np.uint8]) -> tuple[NDArray[np.int64], int]:
    """Record offsets found by walking the file one record at a time, as pymavlink's
    ``DFReader_binary`` does (a type is known once its FMT record has been read);
    returns (offsets, offset of a record cut off by the end or -1).

    The reference for the vectorised chain, and its fallback; slow on big files.
    """
    size = int(data.size)
    headers = find_headers(data).tolist()
    formats: dict[int, MessageFormat] = {FMT_TYPE: BUILTIN_FMT}
    found: list[int] = []
    i, pos = 0, 0
    while True:
        while i < len(headers) and headers[i] < pos:
            i += 1
        fmt, content = None, None
        while i < len(headers):
            h = headers[i]
            fmt = formats.get(int(data[h + 2]))
            if fmt is not None and fmt.valid:
                if fmt.type_id != FMT_TYPE or h + FMT_LENGTH > size:
                    break
                content = parse_fmt_record(data, h)
                if content is not None:
                    break
            i += 1
        if i >= len(headers) or fmt is None:
            return np.array(found, dtype=np.int64), -1
        if h + fmt.length > size:
            return np.array(found, dtype=np.int64), h
        found.append(h)
        if content is not None and content.type_id != FMT_TYPE:
            formats[content.type_id] = content
        pos = h + fmt.length


def _chain_from_walk(cands: _Candidates, data: NDArray[np.uint8]) -> _Chain:
    pos, truncated_at = walk_sequential(data)
    types = data[pos + 2].astype(np.int64)
    fmt_on = [int(p) for p in pos[types == FMT_TYPE] if int(p) in cands.fmt_content]
    defs = cands.definitions(fmt_on)
    def_idx = defs.resolve(pos, types, cands.size)
    off = ~in_sorted(cands.pos, pos)
    return _Chain(pos, def_idx, defs, truncated_at, cands.pos[off],
                  defs.resolve(cands.pos[off], cands.type[off], cands.size))


def _gather(data: NDArray[np.uint8], start: NDArray[np.int64], length: int) -> NDArray[np.uint8]:
    """Rows ``data[s:s+length]`` for every start, as one (n, length) array."""
    if length == 0:
        return np.zeros((start.size, 0), dtype=np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(data, length)
    return windows[start]


class DataFlashBinary:
    """A scanned DataFlash ``.bin`` log: message counts, skip statistics, and decoded
    columns of any message type on request (``table``).

    ``data`` is the whole file as bytes or a uint8 array (a ``numpy.memmap`` is fine);
    it must stay alive while tables are read.
    """

    def __init__(self, data: bytes | bytearray | memoryview | NDArray[np.uint8]) -> None:
        arr = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        self._data = arr.reshape(-1)
        cands = _Candidates(self._data)
        chain = cands.consistent_chain()
        if chain is None:
            log.debug("FMT definitions did not settle; walking the log sequentially")
            chain = _chain_from_walk(cands, self._data)
        self._chain = chain
        self._lengths = np.array([f.length for f in chain.defs.formats], dtype=np.int64)
        self.counts: dict[str, int] = self._count()
        self.stats: ScanStats = self._scan_stats()

    @property
    def record_offsets(self) -> NDArray[np.int64]:
        """File offsets of every decoded record, ascending."""
        return self._chain.pos

    def formats(self, name: str) -> list[MessageFormat]:
        """The definitions (one per FMT record in use) of a message name."""
        used = set(np.unique(self._chain.def_idx).tolist())
        return [f for i, f in enumerate(self._chain.defs.formats) if f.name == name and i in used]

    def _count(self) -> dict[str, int]:
        per_def = np.bincount(self._chain.def_idx, minlength=len(self._chain.defs.formats))
        counts: dict[str, int] = {}
        for f, k in zip(self._chain.defs.formats, per_def.tolist()):
            if k:
                counts[f.name] = counts.get(f.name, 0) + k
        return counts

    def _scan_stats(self) -> ScanStats:
        ch, size = self._chain, int(self._data.size)
        lengths = self._lengths[ch.def_idx]
        ends = ch.pos + lengths
        gaps = np.diff(np.concatenate([[0], np.ravel(np.column_stack([ch.pos, ends])), [size]]))[::2]
        in_records = int(lengths.sum())
        k = np.searchsorted(ch.pos, ch.off_chain_pos, side="right") - 1
        inside = (k >= 0) & (ch.off_chain_pos < ends[np.maximum(k, 0)] if ends.size else False)
        loose = ch.off_chain_def[~np.asarray(inside, dtype=bool)]
        valid = np.array([f.valid for f in ch.defs.formats] + [False])
        return ScanStats(
            bytes_total=size, bytes_in_records=in_records, bytes_skipped=size - in_records,
            skip_runs=int(np.count_nonzero(gaps)), tail_bytes=int(gaps[-1]),
            unknown_headers=int(np.count_nonzero(loose == -1)),
            broken_records=int(np.count_nonzero((loose >= 0) & ~valid[loose])),
            truncated_records=int(ch.truncated_at >= 0))

    def table(self, name: str, columns: Sequence[str] | None = None) -> RecordTable | None:
        """All records named ``name`` with the requested columns (all where None),
        decoded and scaled as pymavlink does; None where the log has no such record.
        Where the name has several layouts, only columns common to all are returned."""
        ch = self._chain
        parts: list[tuple[NDArray[np.int64], dict[str, NDArray]]] = []
        for d, f in enumerate(ch.defs.formats):
            if f.name != name:
                continue
            pos = ch.pos[ch.def_idx == d]
            if pos.size == 0:
                continue
            records = _gather(self._data, pos + 3, f.length - 3).view(f.dtype).reshape(-1)
            wanted = f.columns if columns is None else columns
            parts.append((pos, {c: v for c in wanted if (v := f.decode(records, c)) is not None}))
        if not parts:
            return None
        return _merge_parts(name, parts)


def _merge_parts(name: str, parts: list[tuple[NDArray[np.int64], dict[str, NDArray]]]
                 ) -> RecordTable:
    if len(parts) == 1:
        return RecordTable(name, parts[0][0], parts[0][1])
    common = set.intersection(*(set(cols) for _, cols in parts))
    offsets = np.concatenate([p for p, _ in parts])
    order = np.argsort(offsets, kind="stable")
    cols = {c: np.concatenate([cs[c] for _, cs in parts])[order]
            for c in parts[0][1] if c in common}
    return RecordTable(name, offsets[order], cols)
