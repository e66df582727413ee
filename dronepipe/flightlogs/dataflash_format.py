"""DataFlash record layouts: the FMT format characters, as numpy dtypes and multipliers.

An ArduPilot DataFlash log describes itself: every record type is introduced by an FMT
record (type id, record length, name, format characters, column names). This module
turns one FMT into a packed little-endian numpy structured dtype, so that all records of
a type can be decoded in one ``ndarray.view``, and applies the scale factors that the
format characters imply (``c``/``C``/``e``/``E`` x 0.01, ``L`` x 1e-7) exactly the way
pymavlink's ``DFReader`` does, so values are bit-identical to pymavlink's.

FMTU multipliers are *not* applied to values (pymavlink does not either); they only
describe units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

HEAD1 = 0xA3
HEAD2 = 0x95
FMT_TYPE = 0x80
FMT_LENGTH = 89
FMT_FORMAT = "BBnNZ"
FMT_COLUMNS = ("Type", "Length", "Name", "Format", "Columns")


@dataclass(frozen=True)
class FieldType:
    """One DataFlash format character: its numpy type, struct code and scale factor."""

    char: str
    dtype: str            # numpy dtype string, little-endian
    struct_code: str      # struct module code, as pymavlink packs it
    multiplier: float | None
    kind: str             # "int", "float", "str" or "array"
    shape: tuple[int, ...] = ()


FIELD_TYPES: dict[str, FieldType] = {ft.char: ft for ft in (
    FieldType("a", "<i2", "64s", None, "array", (32,)),
    FieldType("b", "i1", "b", None, "int"),
    FieldType("B", "u1", "B", None, "int"),
    FieldType("g", "<f2", "e", None, "float"),
    FieldType("h", "<i2", "h", None, "int"),
    FieldType("H", "<u2", "H", None, "int"),
    FieldType("i", "<i4", "i", None, "int"),
    FieldType("I", "<u4", "I", None, "int"),
    FieldType("f", "<f4", "f", None, "float"),
    FieldType("n", "S4", "4s", None, "str"),
    FieldType("N", "S16", "16s", None, "str"),
    FieldType("Z", "S64", "64s", None, "str"),
    FieldType("c", "<i2", "h", 0.01, "float"),
    FieldType("C", "<u2", "H", 0.01, "float"),
    FieldType("e", "<i4", "i", 0.01, "float"),
    FieldType("E", "<u4", "I", 0.01, "float"),
    FieldType("L", "<i4", "i", 1.0e-7, "float"),
    FieldType("d", "<f8", "d", None, "float"),
    FieldType("M", "i1", "b", None, "int"),   # pymavlink unpacks the mode byte as signed
    FieldType("q", "<i8", "q", None, "int"),
    FieldType("Q", "<u8", "Q", None, "int"),
)}


def decode_text(raw: bytes) -> str:
    """A NUL-terminated DataFlash string as pymavlink decodes it (UTF-8, else Latin-1)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("ISO-8859-1")
    return text.split("\0", 1)[0]


@dataclass(frozen=True)
class MessageFormat:
    """One FMT definition: record ``type_id`` of ``length`` bytes (3-byte header included).

    ``valid`` is False where the format characters are fine but their sizes do not add
    up to ``length`` - 3; records of such a type cannot be decoded and are skipped, as
    pymavlink skips them. Formats with unknown characters are rejected by ``parse``.
    """

    type_id: int
    name: str
    length: int
    format: str
    columns: tuple[str, ...]
    dtype: np.dtype = field(init=False, repr=False, compare=False)
    valid: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        types = [FIELD_TYPES[c] for c in self.format]  # KeyError: caller validates
        dtype = np.dtype([(f"f{i}", ft.dtype, ft.shape) for i, ft in enumerate(types)])
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "valid", dtype.itemsize == self.length - 3)

    @staticmethod
    def parse(type_id: int, name: str, length: int, fmt: str,
              columns: str) -> MessageFormat | None:
        """A format from FMT fields, or None where a format character is unknown."""
        if any(c not in FIELD_TYPES for c in fmt):
            return None
        cols = tuple(columns.split(",")) if columns else ()
        return MessageFormat(type_id, name, length, fmt, cols)

    def column_index(self, column: str) -> int | None:
        """Position of a column in the record, or None where the format has no such column."""
        try:
            idx = self.columns.index(column)
        except ValueError:
            return None
        return idx if idx < len(self.format) else None

    def has(self, column: str) -> bool:
        """Whether the format has this column."""
        return self.column_index(column) is not None

    def decode(self, records: NDArray, column: str) -> NDArray | None:
        """Values of ``column`` from structured ``records`` (of ``self.dtype``), scaled as
        pymavlink scales them; strings come back as an object array of ``str``."""
        idx = self.column_index(column)
        if idx is None:
            return None
        ft = FIELD_TYPES[self.format[idx]]
        raw = records[f"f{idx}"]
        if ft.kind == "str":
            return np.array([decode_text(bytes(v)) for v in raw], dtype=object)
        if ft.kind == "float" and ft.multiplier is None:  # float64 now: quiets signalling NaNs
            with np.errstate(invalid="ignore"):
                return raw.astype(np.float64)
        if ft.multiplier is None:
            return np.array(raw)
        return scale_like_pymavlink(raw, ft.multiplier)


def scale_like_pymavlink(raw: NDArray, multiplier: float) -> NDArray[np.float64]:
    """Apply a format multiplier bit-identically to pymavlink (it divides by 1/m for m < 1)."""
    values = raw.astype(np.float64)
    if 0.0 < multiplier < 1.0:
        return values / (1.0 / multiplier)
    return values * multiplier


BUILTIN_FMT = MessageFormat(FMT_TYPE, "FMT", FMT_LENGTH, FMT_FORMAT, FMT_COLUMNS)
"""The FMT record's own layout, known before any FMT record is read."""
