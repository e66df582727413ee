"""``read_telemetry``: one entry point for every flight-log file dronepipe reads.

The format is recognised from the content (``sniff``): tlog (MAVLink 1/2 with 8-byte
time stamps), DataFlash ``.bin`` (our vectorised reader) or DataFlash text ``.log``.
Bad input never raises anything but ``DronepipeError``: what could be read is kept,
what was skipped is counted in ``Telemetry.stats`` and reported in one
``DronepipeWarning``; a file with nothing usable raises ``LogFormatError`` naming it.
Live links are opened with ``open_live`` (``dronepipe.flightlogs.live``).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dronepipe.errors import DronepipeWarning, LogFormatError
from dronepipe.flightlogs.dataflash_binary import BENIGN_TAIL_BYTES, DataFlashBinary
from dronepipe.flightlogs.dataflash_telemetry import build_from_dataflash
from dronepipe.flightlogs.dataflash_text import DataFlashText
from dronepipe.flightlogs.mavlink_build import build as build_mavlink
from dronepipe.flightlogs.sniff import DATAFLASH, DATAFLASH_TEXT, SNIFF_BYTES, TLOG, sniff
from dronepipe.flightlogs.telemetry import DEFAULT_MAX_GAP_S, ReadStats, Telemetry
from dronepipe.flightlogs.tlog import collect_tlog

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Progress callback ``(stage, done, total)``."""

_LIVE_PREFIXES = ("udpin:", "udpout:", "udp:", "tcp:", "tcpin:", "serial:")
_SERIAL_DEVICE = re.compile(r"^(/dev/tty\S+|com\d+)(,\d+)?$", re.IGNORECASE)


def is_connection_string(source: str) -> bool:
    """Whether ``source`` names a live link (``udpin:...``, ``/dev/ttyUSB0``, ``COM3``)
    rather than a file."""
    return source.lower().startswith(_LIVE_PREFIXES) or bool(_SERIAL_DEVICE.match(source))


def read_telemetry(source: str | os.PathLike[str], *, max_gap_s: float = DEFAULT_MAX_GAP_S,
                   min_fix_type: int = 3, progress: Progress | None = None) -> Telemetry:
    """Read a tlog, DataFlash ``.bin`` or DataFlash text log into ``Telemetry``.

    ``max_gap_s``: the longest interval between samples (s) that ``pose_at`` bridges.
    ``min_fix_type``: positions with a GNSS fix below this (MAVLink GPS_FIX_TYPE; 3 = 3D)
    are dropped and counted. ``progress`` is called as ``(stage, done, total)``.
    """
    if isinstance(source, str) and is_connection_string(source):
        raise LogFormatError(f"{source}: a live connection, not a file; "
                             "use dronepipe.flightlogs.open_live() for live links")
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise LogFormatError(f"{name}: no such file")
    if path.is_dir():
        raise LogFormatError(f"{name}: a folder, not a flight log")
    try:
        size = path.stat().st_size
        if size == 0:
            raise LogFormatError(f"{name}: empty file")
        with path.open("rb") as fh:
            kind = sniff(fh.read(SNIFF_BYTES), path.name)
        if kind is None:
            raise LogFormatError(f"{name}: not a flight log (neither a tlog, nor a DataFlash "
                                 ".bin or text log)")
        data = np.memmap(path, dtype=np.uint8, mode="r") if kind == DATAFLASH else path.read_bytes()
    except OSError as exc:
        raise LogFormatError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    return _read(data, kind, name, max_gap_s, min_fix_type, progress)


def read_telemetry_bytes(data: bytes, name: str = "<bytes>", *,
                         max_gap_s: float = DEFAULT_MAX_GAP_S, min_fix_type: int = 3,
                         progress: Progress | None = None) -> Telemetry:
    """``read_telemetry`` for a log already in memory; ``name`` is used in messages and
    as a format hint (its extension)."""
    if not data:
        raise LogFormatError(f"{name}: empty file")
    kind = sniff(bytes(data[:SNIFF_BYTES]), name)
    if kind is None:
        raise LogFormatError(f"{name}: not a flight log (neither a tlog, nor a DataFlash "
                             ".bin or text log)")
    return _read(data, kind, name, max_gap_s, min_fix_type, progress)


def _read(data: bytes | np.ndarray, kind: str, name: str, max_gap_s: float,
          min_fix_type: int, progress: Progress | None) -> Telemetry:
    if progress is not None:
        progress("reading log", 0, 1)
    if kind == TLOG:
        tel, benign = _read_tlog(bytes(data), name, max_gap_s, min_fix_type, progress)
    elif kind == DATAFLASH:
        tel, benign = _read_dataflash(data, name, max_gap_s, min_fix_type)
    else:
        tel, benign = _read_text(bytes(data), name, max_gap_s, min_fix_type)
    if progress is not None:
        progress("reading log", 1, 1)
    _check_usable(tel)
    _warn(tel, benign)
    log.info("%s: %s log, %d positions, %d attitudes, %d camera events, time from %s",
             name, kind, len(tel.position), len(tel.attitude), len(tel.camera_events),
             tel.time_source)
    return tel


def _read_dataflash(data: bytes | np.ndarray, name: str, max_gap_s: float,
                    min_fix_type: int) -> tuple[Telemetry, int]:
    df = DataFlashBinary(data)
    built = build_from_dataflash(df, max_gap_s=max_gap_s, min_fix_type=min_fix_type)
    s = df.stats
    stats = ReadStats(bytes_total=s.bytes_total, bytes_skipped=s.bytes_skipped,
                      skip_runs=s.skip_runs, unknown_messages=s.unknown_headers,
                      broken_records=s.broken_records, truncated_records=s.truncated_records)
    benign = s.tail_bytes if (s.tail_bytes < BENIGN_TAIL_BYTES and not s.truncated_records) else 0
    return built.telemetry(name, DATAFLASH, df.counts, stats, max_gap_s), benign


def _read_text(data: bytes, name: str, max_gap_s: float,
               min_fix_type: int) -> tuple[Telemetry, int]:
    df = DataFlashText(data)
    built = build_from_dataflash(df, max_gap_s=max_gap_s, min_fix_type=min_fix_type)
    s = df.stats
    stats = ReadStats(bytes_total=s.bytes_total, bytes_skipped=s.bytes_skipped,
                      skip_runs=s.skipped_lines, bad_data=s.malformed_lines,
                      unknown_messages=s.unknown_lines)
    return built.telemetry(name, DATAFLASH_TEXT, df.counts, stats, max_gap_s), 0


def _read_tlog(data: bytes, name: str, max_gap_s: float, min_fix_type: int,
               progress: Progress | None) -> tuple[Telemetry, int]:
    report = (lambda done, total: progress("reading log", done, total)) if progress else None
    collector, ts = collect_tlog(data, report)
    b = build_mavlink(collector, max_gap_s=max_gap_s, min_fix_type=min_fix_type)
    stats = ReadStats(bytes_total=len(data), bytes_skipped=ts.bytes_skipped,
                      skip_runs=ts.skip_runs, bad_crc=ts.bad_crc,
                      unknown_messages=collector.link_stats.unknown_messages,
                      truncated_records=int(ts.truncated > 0))
    return b.telemetry(name, TLOG, dict(collector.counts), stats, max_gap_s), 0


def _check_usable(tel: Telemetry) -> None:
    if len(tel.position) or len(tel.attitude) or tel.camera_events:
        return
    s = tel.stats
    why = f"{sum(tel.messages.values())} messages read"
    if s.no_fix_positions:
        why += f", {s.no_fix_positions} positions without a 3D GPS fix"
    if s.bytes_skipped:
        why += f", {s.bytes_skipped} of {s.bytes_total} bytes unreadable"
    raise LogFormatError(f"{tel.source}: nothing usable in this {tel.log_format} log: "
                         f"no position, attitude or camera records ({why})")


def _warn(tel: Telemetry, benign_bytes: int) -> None:
    s, parts = tel.stats, []
    if s.bytes_skipped - benign_bytes > 0:
        parts.append(f"skipped {s.bytes_skipped - benign_bytes} of {s.bytes_total} bytes "
                     f"in {s.skip_runs} places")
    for count, what in ((s.bad_crc, "frames with a bad CRC"), (s.bad_data, "undecodable frames"),
                        (s.unknown_messages, "messages of unknown type"),
                        (s.broken_records, "records whose FMT does not match their size"),
                        (s.truncated_records, "message cut off at the end"),
                        (s.no_fix_positions, "positions without a 3D GPS fix dropped"),
                        (s.invalid_samples, "samples with impossible values dropped"),
                        (s.untimed_records, "records without a UTC time dropped")):
        if count:
            parts.append(f"{count} {what}")
    if parts:
        warnings.warn(f"{tel.source}: " + "; ".join(parts), DronepipeWarning, stacklevel=4)
    if tel.time_source == "ground_station":
        warnings.warn(f"{tel.source}: no SYSTEM_TIME from the autopilot; times come from the "
                      "ground station's stamps (wrong if the log was replayed)",
                      DronepipeWarning, stacklevel=4)
    elif tel.time_source == "boot":
        warnings.warn(f"{tel.source}: no GPS time in the log; times are seconds since boot, "
                      "not UTC", DronepipeWarning, stacklevel=4)
