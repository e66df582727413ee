"""Writing ArduPilot DataFlash logs (``.bin``, or the text ``.log`` form) for tests and
the flight simulator. pymavlink's ``DFReader`` and ``read_telemetry`` read them back.

Values are given in the units pymavlink returns when it reads the log, i.e. *after*
the format multipliers: degrees for ``L`` latitude/longitude, metres for ``e``
altitudes in centimetres, degrees for ``c``/``C`` centidegree angles. The writer
applies the inverse (``round(value / multiplier)``, as pymavlink's ``get_msgbuf``) and
raises ``ValueError`` for a value the field cannot hold (a negative yaw in a ``C``
field, say: ATT yaw is 0..360 degrees).

Example (the modern ArduPilot layouts in ``ARDUPILOT_FORMATS`` are defined on first
use)::

    with DataFlashWriter("flight.bin") as w:
        w.write("MSG", TimeUS=0, Message="ArduCopter V4.5.7 (sim)")
        w.write("GPS", TimeUS=1_000_000, I=0, Status=3, GMS=388800000, GWk=2300,
                NSats=14, HDop=0.7, Lat=52.52, Lng=13.40, Alt=80.0, Spd=5.0)
        w.write("ATT", TimeUS=1_000_000, Roll=1.5, Pitch=-2.0, Yaw=271.0)
        w.write_columns("CAM", {"TimeUS": t_us, "Img": idx, "Lat": lat, ...})

Columns left out are written as 0 in integer fields, NaN in float fields (``f``,
``d``, ``g``: "not known", as ArduPilot logs an unknown MNT earth-frame yaw) and empty
strings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.flightlogs.dataflash_format import (
    BUILTIN_FMT,
    FIELD_TYPES,
    FMT_TYPE,
    HEAD1,
    HEAD2,
    MessageFormat,
    scale_like_pymavlink,
)
from dronepipe.flightlogs.log_writer import LogWriter

ARDUPILOT_FORMATS: dict[str, tuple[str, str]] = {
    "GPS": ("QBBIHBcLLeffffB", "TimeUS,I,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U"),
    "ATT": ("QccccCCCCB", "TimeUS,DesRoll,Roll,DesPitch,Pitch,DesYaw,Yaw,ErrRP,ErrYaw,AEKF"),
    "POS": ("QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"),
    "CAM": ("QBHIHLLeeefff", "TimeUS,I,Img,GPSTime,GPSWeek,Lat,Lng,Alt,RelAlt,GPSAlt,R,P,Y"),
    "TRIG": ("QBHIHLLeeefff", "TimeUS,I,Img,GPSTime,GPSWeek,Lat,Lng,Alt,RelAlt,GPSAlt,R,P,Y"),
    "MNT": ("QBfffffffff", "TimeUS,I,DRoll,Roll,DPitch,Pitch,DYawB,YawB,DYawE,YawE,Dist"),
    "MSG": ("QZ", "TimeUS,Message"),
    "ORGN": ("QBLLe", "TimeUS,Type,Lat,Lng,Alt"),
    "MODE": ("QMBB", "TimeUS,Mode,ModeNum,Rsn"),
    "PARM": ("QNf", "TimeUS,Name,Value"),
    "FMTU": ("QBNN", "TimeUS,FmtType,UnitIds,MultIds"),
}
"""Record layouts of ArduPilot 4.3+ (GPS with GWk/GMS, ATT in centidegrees, CAM/TRIG
with the image number, MNT with body- and earth-frame yaw), by name."""


def _raw_values(values: ArrayLike, char: str, column: str, name: str) -> NDArray:
    """Values as stored in the record (multiplier undone), range-checked."""
    ft = FIELD_TYPES[char]
    if ft.kind == "str":
        return np.array([v.encode("utf-8") if isinstance(v, str) else bytes(v)
                         for v in np.atleast_1d(np.asarray(values, dtype=object))],
                        dtype=ft.dtype)
    arr = np.asarray(values, dtype=np.float64 if ft.multiplier or ft.kind == "float" else None)
    if ft.multiplier is not None:
        arr = np.round(arr / ft.multiplier)
    if ft.kind in ("int", "array") or ft.multiplier is not None:
        info = np.iinfo(np.dtype(ft.dtype))
        if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < info.min or arr.max() > info.max):
            raise ValueError(f"{name}.{column}: value out of range for format '{char}' "
                             f"({info.min * (ft.multiplier or 1)}..{info.max * (ft.multiplier or 1)})")
    return arr.astype(ft.dtype)


def _text_value(raw: Any, char: str) -> str:
    ft = FIELD_TYPES[char]
    if ft.kind == "str":
        return bytes(raw).split(b"\0", 1)[0].decode("utf-8", errors="replace")
    if ft.kind == "array":
        return " ".join(str(int(v)) for v in np.ravel(raw))
    if ft.multiplier is not None:
        return repr(float(scale_like_pymavlink(np.asarray(raw), ft.multiplier)))
    return repr(float(raw)) if ft.kind == "float" else str(int(raw))


class DataFlashWriter(LogWriter):
    """Writes a DataFlash log to a path or binary file object; ``text=True`` writes the
    text form (``NAME, v1, v2, ...`` lines) instead of binary records."""

    def __init__(self, target: str | os.PathLike[str] | IO[bytes], *, text: bool = False) -> None:
        super().__init__(target)
        self._text = text
        self._formats: dict[str, MessageFormat] = {}
        self._next_type = 1
        self._write_fmt(BUILTIN_FMT)

    def define(self, name: str, fmt: str, columns: str, *, type_id: int | None = None,
               units: str | None = None, multipliers: str | None = None) -> MessageFormat:
        """Define a record type (writes its FMT record, and FMTU where units are given).

        ``fmt``: DataFlash format characters; ``columns``: comma-separated names;
        ``units``/``multipliers``: ArduPilot unit and multiplier ids, one per column.
        """
        if name in self._formats:
            raise ValueError(f"{name} is already defined")
        if type_id is None:
            while self._next_type == FMT_TYPE or self._next_type in self._type_ids():
                self._next_type += 1
            type_id = self._next_type
        if not 0 < type_id < 256 or type_id in self._type_ids():
            raise ValueError(f"{name}: type id {type_id} is taken or out of range")
        size = sum(np.dtype(FIELD_TYPES[c].dtype).itemsize * int(np.prod(FIELD_TYPES[c].shape))
                   for c in fmt if c in FIELD_TYPES)
        mf = MessageFormat.parse(type_id, name, size + 3, fmt, columns)
        if mf is None or len(mf.columns) != len(fmt) or len(name) > 4:
            raise ValueError(f"{name}: bad format {fmt!r} / columns {columns!r}")
        self._formats[name] = mf
        self._write_fmt(mf)
        if units is not None:
            self.write("FMTU", TimeUS=0, FmtType=type_id, UnitIds=units,
                       MultIds=multipliers or "-" * len(fmt))
        return mf

    def _type_ids(self) -> set[int]:
        return {f.type_id for f in self._formats.values()}

    def _write_fmt(self, mf: MessageFormat) -> None:
        values: dict[str, ArrayLike] = {
            "Type": [mf.type_id], "Length": [mf.length], "Name": [mf.name],
            "Format": [mf.format], "Columns": [",".join(mf.columns)]}
        self._emit(BUILTIN_FMT, values, 1)

    def format_of(self, name: str) -> MessageFormat:
        """The definition of a record name (ArduPilot layouts are defined on first use)."""
        if name not in self._formats:
            if name not in ARDUPILOT_FORMATS:
                raise KeyError(f"{name} is not defined; call define() first")
            self.define(name, *ARDUPILOT_FORMATS[name])
        return self._formats[name]

    def write(self, name: str, **values: Any) -> None:
        """Write one record; values in pymavlink's units (see the module doc)."""
        columns: dict[str, ArrayLike] = {k: [v] for k, v in values.items()}
        self.write_columns(name, columns)

    def write_columns(self, name: str, columns: Mapping[str, ArrayLike]) -> None:
        """Write one record per row of equally long columns, in row order."""
        mf = self.format_of(name)
        unknown = set(columns) - set(mf.columns)
        if unknown:
            raise ValueError(f"{name} has no columns {sorted(unknown)} (has {mf.columns})")
        lengths = {len(np.atleast_1d(np.asarray(v, dtype=object))) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"{name}: columns of different lengths {sorted(lengths)}")
        self._emit(mf, columns, lengths.pop() if lengths else 1)

    def _emit(self, mf: MessageFormat, columns: Mapping[str, ArrayLike], n: int) -> None:
        rec = np.zeros(n, dtype=mf.dtype)
        for i, (col, char) in enumerate(zip(mf.columns, mf.format)):
            if FIELD_TYPES[char].kind == "float" and FIELD_TYPES[char].multiplier is None:
                rec[f"f{i}"] = np.nan
            if col in columns:
                raw = _raw_values(columns[col], char, col, mf.name)
                rec[f"f{i}"] = raw if char != "a" else raw.reshape(n, 32)
        if self._text:
            self._fh.write("".join(
                mf.name + ", " + ", ".join(_text_value(r[f"f{i}"], c) for i, c in enumerate(mf.format))
                + "\n" for r in rec).encode())
            return
        out = np.zeros(n, dtype=[("h1", "u1"), ("h2", "u1"), ("t", "u1"), ("body", mf.dtype)])
        out["h1"], out["h2"], out["t"], out["body"] = HEAD1, HEAD2, mf.type_id, rec
        self._fh.write(out.tobytes())
