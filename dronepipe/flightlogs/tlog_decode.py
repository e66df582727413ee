"""Decoding many MAVLink frames of one message type at once.

pymavlink decodes one frame at a time in Python (header, checksum again, struct, object:
about 9 us each). For frames whose checksum ``tlog_scan`` has already verified, the
payloads of one type are gathered into one array (zero-padded where MAVLink 2 trimmed
trailing zeros, as pymavlink pads them) and viewed through a numpy dtype built from
pymavlink's own struct format and wire-order field names, so the values are the ones
pymavlink's ``decode`` gives. Each frame then becomes a ``DecodedMessage`` with the
fields as attributes and pymavlink's ``get_type``/``get_srcSystem``/``get_srcComponent``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

_STRUCT_TO_NUMPY = {"b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4",
                    "q": "<i8", "Q": "<u8", "f": "<f4", "d": "<f8", "c": "S1"}
_V2 = 0xFD


class DecodedMessage:
    """A MAVLink message decoded from columns: its fields as attributes."""

    __slots__ = ("__dict__", "_type", "_src")

    def __init__(self, mtype: str, src: tuple[int, int], fields: dict[str, Any]) -> None:
        self._type = mtype
        self._src = src
        self.__dict__.update(fields)

    def get_type(self) -> str:
        """The message type name (as pymavlink names it)."""
        return self._type

    def get_srcSystem(self) -> int:  # noqa: N802 - pymavlink's name
        """The sending system id."""
        return self._src[0]

    def get_srcComponent(self) -> int:  # noqa: N802 - pymavlink's name
        """The sending component id."""
        return self._src[1]


def payload_dtype(msgtype: Any) -> np.dtype | None:
    """A packed numpy dtype equal to pymavlink's struct format of a message class, with
    its wire-order field names; None where the format has something unexpected."""
    fmt = msgtype.unpacker.format
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    tokens = re.findall(r"(\d*)([a-zA-Z?])", fmt.lstrip("<"))
    names = list(msgtype.ordered_fieldnames)
    if len(tokens) != len(names):
        return None
    fields: list[tuple[Any, ...]] = []
    for (count, ch), name in zip(tokens, names):
        n = int(count) if count else 1
        if ch == "s":
            fields.append((name, f"S{n}"))
        elif ch in _STRUCT_TO_NUMPY:
            fields.append((name, _STRUCT_TO_NUMPY[ch], (n,)) if n > 1 else (name, _STRUCT_TO_NUMPY[ch]))
        else:
            return None
    dtype = np.dtype(fields)
    return dtype if dtype.itemsize == msgtype.unpacker.size else None


def decode_frames(data: NDArray[np.uint8], q: NDArray[np.int64], msgtype: Any,
                  dtype: np.dtype) -> list[DecodedMessage]:
    """The messages of verified frames starting at ``q``, all of class ``msgtype``."""
    n, size = q.size, dtype.itemsize
    if n == 0:
        return []
    v2 = data[q] == _V2
    start = q + np.where(v2, 10, 6)
    plen = data[q + 1].astype(np.int64)
    idx = np.minimum(start[:, None] + np.arange(size), data.size - 1)
    payload = np.where(np.arange(size) < plen[:, None], data[idx], 0).astype(np.uint8)
    rec = payload.view(dtype).reshape(-1)
    names = dtype.names or ()
    cols = [rec[name].tolist() for name in names]
    systems = data[q + np.where(v2, 5, 3)].tolist()
    comps = data[q + np.where(v2, 6, 4)].tolist()
    mtype = msgtype.msgname
    return [DecodedMessage(mtype, (s, c), dict(zip(names, values)))
            for s, c, values in zip(systems, comps, zip(*cols))]
