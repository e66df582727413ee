"""Reader of the text form of DataFlash logs (``.log``, as Mission Planner exports them).

One record per line: ``NAME, value, value, ...``; FMT lines define the names as in the
binary form. Values are already scaled (latitude in degrees, not 1e-7 degrees), so no
multiplier is applied, as in pymavlink's ``DFReader_text``. Text logs are small and rare,
so this is plain Python: lines of unknown names or with too few values are skipped and
counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.dataflash_binary import RecordTable
from dronepipe.flightlogs.dataflash_format import BUILTIN_FMT, FIELD_TYPES, MessageFormat


@dataclass(frozen=True)
class TextStats:
    """Lines and bytes a text log skipped."""

    bytes_total: int = 0
    bytes_skipped: int = 0
    skipped_lines: int = 0
    unknown_lines: int = 0      # lines whose name has no FMT
    malformed_lines: int = 0    # too few values, or an FMT that cannot be used


def _delimiter(text: str) -> tuple[int, str] | None:
    start = text.find("FMT, ")
    if start != -1:
        return start, ", "
    start = text.find("FMT,")
    return (start, ",") if start != -1 else None


def _parse_fmt(values: list[str], delimiter: str) -> MessageFormat | None:
    if len(values) < 5:
        return None
    try:
        type_id, length = int(values[0]), int(values[1])
    except ValueError:
        return None
    name, fmt = values[2].strip(), values[3].strip()
    columns = values[4] if delimiter == ", " else ",".join(values[4:])
    if name == "FMT" and columns == "Type,Length,Name,Format":
        columns += ",Columns"
    return MessageFormat.parse(type_id, name, length, fmt, columns.strip())


class DataFlashText:
    """A parsed text DataFlash log: ``counts``, ``stats`` and ``table(name)`` like
    ``DataFlashBinary``; table offsets are line numbers."""

    def __init__(self, data: bytes | str) -> None:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        self.formats: dict[str, MessageFormat] = {"FMT": BUILTIN_FMT}
        self._rows: dict[str, list[tuple[int, list[str]]]] = {}
        self.counts: dict[str, int] = {}
        self.stats = self._parse(text)

    def _parse(self, text: str) -> TextStats:
        found = _delimiter(text)
        if found is None:
            return TextStats(len(text), len(text), 0, 0, 0)
        start, delim = found
        skipped_bytes, unknown, malformed = start, 0, 0
        for line_no, line in enumerate(text[start:].splitlines()):
            kind = self._line(line_no, line, delim)
            if kind != "ok":
                skipped_bytes += len(line) + 1
                unknown += kind == "unknown"
                malformed += kind == "malformed"
        return TextStats(len(text), skipped_bytes, unknown + malformed, unknown, malformed)

    def _line(self, line_no: int, line: str, delim: str) -> str:
        elements = line.rstrip().split(delim)
        if len(elements) < 2:
            return "ok" if not line.strip() else "malformed"
        name, values = elements[0].strip(), elements[1:]
        fmt = self.formats.get(name)
        if fmt is None:
            return "unknown"
        if len(values) < len(fmt.format):
            return "malformed"
        if name == "FMT":
            new = _parse_fmt(values, delim)
            if new is None:
                return "malformed"
            self.formats[new.name] = new
        self._rows.setdefault(name, []).append((line_no, values))
        self.counts[name] = self.counts.get(name, 0) + 1
        return "ok"

    def table(self, name: str, columns: Sequence[str] | None = None) -> RecordTable | None:
        """All lines named ``name`` with the requested columns (all where None)."""
        rows, fmt = self._rows.get(name), self.formats.get(name)
        if not rows or fmt is None:
            return None
        offsets = np.array([r[0] for r in rows], dtype=np.int64)
        wanted = fmt.columns if columns is None else columns
        cols: dict[str, NDArray] = {}
        for col in wanted:
            idx = fmt.column_index(col)
            if idx is not None:
                cols[col] = _convert([r[1][idx] if idx < len(r[1]) else "" for r in rows],
                                     fmt.format[idx])
        return RecordTable(name, offsets, cols)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _convert(values: list[str], char: str) -> NDArray:
    kind = FIELD_TYPES[char].kind
    if kind in ("str", "array"):
        return np.array([v.strip() for v in values], dtype=object)
    arr = np.array([_number(v) for v in values], dtype=np.float64)
    if (kind == "int" and np.all(np.isfinite(arr)) and np.all(np.abs(arr) < 2.0**62)
            and np.all(arr == np.round(arr))):
        return arr.astype(np.int64)
    return arr
