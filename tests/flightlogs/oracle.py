"""pymavlink as the oracle: what a plain pymavlink pass reads from a log.

mavutil changes ``os.environ`` when imported and when it meets a MAVLink 2 frame, so
the environment is restored after each call (the library itself never uses mavutil).
tlogs are read with mavutil set to MAVLink 2 from the start (``MAVLINK20``): left to
itself, mavutil picks the MAVLink 1 module when the first frame is MAVLink 1 and then
names every MAVLink-2-only message of a mixed log ``UNKNOWN_<id>``.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator


@contextmanager
def _saved_environ() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@lru_cache(maxsize=8)
def dataflash_messages(path: str) -> tuple[Counter[str], dict[str, list[dict[str, Any]]]]:
    """(message counts, every record of the types we use as dicts) by DFReader_binary."""
    with _saved_environ():
        from pymavlink import DFReader
        reader = DFReader.DFReader_binary(path)
        counts: Counter[str] = Counter()
        keep: dict[str, list[dict[str, Any]]] = {}
        while (m := reader.recv_msg()) is not None:
            t = m.get_type()
            counts[t] += 1
            if t in ("GPS", "POS", "ATT", "MNT", "CAM", "TRIG", "MSG"):
                keep.setdefault(t, []).append(m.to_dict())
        reader.close()
    return counts, keep


@lru_cache(maxsize=8)
def tlog_messages(path: str) -> tuple[Counter[str], dict[str, list[dict[str, Any]]]]:
    """(message counts without BAD_DATA, fields of the types we use) by mavutil."""
    with _saved_environ():
        os.environ["MAVLINK20"] = "1"
        from pymavlink import mavutil
        conn = mavutil.mavlink_connection(path, dialect="ardupilotmega")
        counts: Counter[str] = Counter()
        keep: dict[str, list[dict[str, Any]]] = {}
        while (m := conn.recv_match()) is not None:
            t = m.get_type()
            if t == "BAD_DATA":
                continue
            counts[t] += 1
            if t in ("GLOBAL_POSITION_INT", "GPS_RAW_INT", "ATTITUDE", "SYSTEM_TIME"):
                d = m.to_dict()
                d["_timestamp"] = m._timestamp
                keep.setdefault(t, []).append(d)
        conn.close()
    return counts, keep


def dataflash_text_counts(path: str) -> Counter[str]:
    """Message counts of a text DataFlash log by DFReader_text."""
    with _saved_environ():
        from pymavlink import DFReader
        reader = DFReader.DFReader_text(path)
        counts: Counter[str] = Counter()
        while (m := reader.recv_msg()) is not None:
            counts[m.get_type()] += 1
    return counts
