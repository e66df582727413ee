"""DataFlash records (binary or text) to ``Telemetry``.

Which records are used, by column name so that old and new layouts both work:

- time: ``TimeUS`` (us since boot) or ``TimeMS`` (ms since boot; old GPS records keep
  the boot time in ``T`` and the GPS time of week in ``TimeMS``); UTC from GPS records
  (``GWk``/``GMS``, old ``Week``/``TimeMS``) with leap seconds, as the median offset per
  boot session (a file holding several logs has several sessions);
- position: ``POS`` (the autopilot's fused position: Lat, Lng, Alt MSL, RelHomeAlt) where
  the log has it, else ``GPS`` instance 0; the GNSS quality (Status = fix type, NSats,
  HDop, Spd) of the latest GPS record at each position time;
- attitude: ``ATT`` Roll/Pitch/Yaw (degrees);
- gimbal: ``MNT`` instance 0 - 4.3+ layouts (Roll, Pitch, YawE earth frame, YawB body
  frame) and older ones (Roll/Pitch/Yaw, or MR/MP/MY in centidegrees), degrees;
- camera: ``CAM`` and ``TRIG`` (Img, Lat, Lng, Alt, RelAlt, R/P/Y or Roll/Pitch/Yaw).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.dataflash_binary import RecordTable
from dronepipe.flightlogs.gpstime import (
    boot_segments,
    gps_week_ms_to_utc_s,
    isolated_outliers,
    median_offset_s,
    plausible_utc,
)
from dronepipe.flightlogs.record_chain import in_sorted
from dronepipe.flightlogs.records import CameraEvent, Pose
from dronepipe.flightlogs.telemetry import BuiltTracks
from dronepipe.flightlogs.track_ops import (
    drop_bad_positions,
    gimbal_at,
    gimbal_track,
    sample_and_hold,
)
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack, int16_column
from dronepipe.flightlogs.vehicle_info import first_banner, frame_from_texts
from dronepipe.rotations import wrap_pi

log = logging.getLogger(__name__)

TABLES = ("GPS", "POS", "ATT", "MNT", "CAM", "TRIG", "MSG", "VER", "ORGN")


class DataFlashSource(Protocol):
    """What the builder needs from a parsed DataFlash log (binary or text)."""

    counts: dict[str, int]

    def table(self, name: str, columns: Sequence[str] | None = None) -> RecordTable | None:
        """All records of a message name with the requested columns."""
        ...


def numeric(table: RecordTable, column: str) -> NDArray[np.float64] | None:
    """A column as float64, None where it is absent or not numbers (a damaged FMT can
    turn any column into text)."""
    v = table.columns.get(column)
    if v is None or v.ndim != 1 or v.dtype.kind not in "biuf":
        return None
    with np.errstate(invalid="ignore"):
        return v.astype(np.float64)


def boot_seconds(table: RecordTable) -> NDArray[np.float64] | None:
    """Seconds since boot of each record of a table, None where it has no boot time."""
    if table.has("TimeUS"):
        us = numeric(table, "TimeUS")
        return None if us is None else us / 1e6
    ms = numeric(table, "T" if table.name in ("GPS", "GPS2") and table.has("T") else "TimeMS")
    return None if ms is None else ms / 1e3


def gps_utc(table: RecordTable) -> NDArray[np.float64]:
    """UTC seconds of each GPS record's own GPS time, NaN where the week is 0 (no time)."""
    names = ("GWk", "GMS") if table.has("GWk", "GMS") else ("Week", "TimeMS")
    week, ms = numeric(table, names[0]), numeric(table, names[1])
    if week is None or ms is None:
        return np.full(len(table), np.nan)
    return np.where(week > 0, gps_week_ms_to_utc_s(week, ms), np.nan)


@dataclass(frozen=True)
class DataFlashClock:
    """Boot sessions of a log (by file offset), each session's UTC - boot offset (s), and
    the records whose own time stamp is corrupt (an isolated jump)."""

    session_starts: NDArray[np.int64]   # file offsets where sessions 1, 2, ... start
    offsets_s: NDArray[np.float64]      # per session, NaN where it has no GPS time
    time_source: str
    corrupt: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def session_of(self, offsets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Session number of records at these file offsets."""
        return np.searchsorted(self.session_starts, offsets, side="right")

    def utc(self, table: RecordTable, boot_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """UTC seconds of records (NaN where their session has no UTC, where their time
        stamp is corrupt, or where the result is no plausible date)."""
        t = boot_s + self.offsets_s[self.session_of(table.offsets)]
        bad = in_sorted(table.offsets, self.corrupt)
        if self.time_source == "autopilot":
            bad |= ~plausible_utc(t)
        return np.where(bad, np.nan, t)


def build_clock(tables: dict[str, RecordTable]) -> DataFlashClock:
    """Find boot sessions over every timed record and map each one to UTC by GPS time."""
    offs, boots = [], []
    for t in tables.values():
        b = boot_seconds(t)
        if b is not None:
            offs.append(t.offsets)
            boots.append(b)
    if not offs:
        return DataFlashClock(np.zeros(0, np.int64), np.full(1, np.nan), "boot")
    o, b = np.concatenate(offs), np.concatenate(boots)
    order = np.argsort(o, kind="stable")
    o, b = o[order], b[order]
    corrupt = isolated_outliers(b)
    o, b, corrupt_offsets = o[~corrupt], b[~corrupt], o[corrupt]
    seg = boot_segments(b)
    starts = o[np.flatnonzero(np.diff(seg)) + 1]
    n_sessions = int(seg[-1]) + 1 if seg.size else 1
    offsets = np.full(n_sessions, np.nan)
    gps = tables.get("GPS")
    if gps is not None and (gb := boot_seconds(gps)) is not None:
        ok = ~in_sorted(gps.offsets, corrupt_offsets)
        gs, gu = np.searchsorted(starts, gps.offsets, side="right"), gps_utc(gps)
        for s in range(n_sessions):
            sel = ok & (gs == s)
            offsets[s] = median_offset_s(gu[sel], gb[sel])
    if np.all(np.isnan(offsets)):
        return DataFlashClock(starts, np.zeros(n_sessions), "boot", corrupt_offsets)
    return DataFlashClock(starts, offsets, "autopilot", corrupt_offsets)


def _instance0(table: RecordTable | None) -> RecordTable | None:
    if table is None or not table.has("I"):
        return table
    inst = numeric(table, "I")
    return table.subset(inst == 0) if inst is not None else table


def _timed(table: RecordTable, clock: DataFlashClock) -> NDArray[np.float64]:
    b = boot_seconds(table)
    return np.full(len(table), np.nan) if b is None else clock.utc(table, b)


def _col(table: RecordTable, *names: str, default: float = np.nan) -> NDArray[np.float64]:
    for name in names:
        if table.has(name):
            v = numeric(table, name)
            return v if v is not None else np.full(len(table), default)
    return np.full(len(table), default)


def _home_alt(tables: dict[str, RecordTable], gps_alt: NDArray[np.float64],
              fix: NDArray[np.float64]) -> float:
    """Home altitude MSL (m): ORGN type 1 (home) where logged, else the first 3D fix."""
    orgn = tables.get("ORGN")
    if orgn is not None and orgn.has("Type", "Alt"):
        home = _col(orgn, "Alt")[_col(orgn, "Type") == 1]
        if home.size:
            return float(home[-1])
    good = np.flatnonzero(fix >= 3)
    return float(gps_alt[good[0]]) if good.size else float("nan")


def build_position(tables: dict[str, RecordTable], clock: DataFlashClock,
                   min_fix_type: int) -> tuple[PositionTrack, int, int]:
    """Position track, and the counts of samples dropped for no fix and for bad values."""
    gps = _instance0(tables.get("GPS"))
    pos = tables.get("POS")
    if pos is not None and (not pos.has("Lat", "Lng", "Alt") or len(pos) == 0):
        pos = None
    src = pos if pos is not None else gps
    if src is None or not src.has("Lat", "Lng"):
        return PositionTrack.empty(), 0, 0
    t = _timed(src, clock)
    if gps is not None:
        tg = _timed(gps, clock)
        fix = sample_and_hold(tg, _col(gps, "Status"), t, -1)
        sats = sample_and_hold(tg, _col(gps, "NSats"), t, -1)
        hdop = sample_and_hold(tg, _col(gps, "HDop"), t, np.nan)
        speed = sample_and_hold(tg, _col(gps, "Spd"), t, np.nan)
    else:
        fix = sats = np.full(len(src), -1.0)
        hdop = speed = np.full(len(src), np.nan)
    alt = _col(src, "Alt")
    rel = _col(src, "RelHomeAlt", "RelAlt")
    if np.all(np.isnan(rel)):
        rel = alt - _home_alt(tables, alt, fix)
    track = PositionTrack(t, _col(src, "Lat"), _col(src, "Lng"), alt, rel, speed,
                          int16_column(fix), int16_column(sats), hdop, source=src.name)
    return drop_bad_positions(track, min_fix_type)


def build_attitude(tables: dict[str, RecordTable], clock: DataFlashClock) -> tuple[AttitudeTrack, int]:
    """Attitude track from ATT (degrees in the log), and the count of non-finite samples."""
    att = tables.get("ATT")
    if att is None or not att.has("Roll", "Pitch", "Yaw"):
        return AttitudeTrack.empty(), 0
    r, p, y = (np.radians(_col(att, c)) for c in ("Roll", "Pitch", "Yaw"))
    bad = ~(np.isfinite(r) & np.isfinite(p) & np.isfinite(y))
    track = AttitudeTrack(_timed(att, clock), r, p, y, source="ATT")
    return track.take(~bad).sorted(), int(np.count_nonzero(bad))


def build_gimbal(tables: dict[str, RecordTable], clock: DataFlashClock,
                 attitude: AttitudeTrack, max_gap_s: float) -> GimbalTrack | None:
    """Gimbal track from MNT instance 0 (None where the log has none)."""
    mnt = _instance0(tables.get("MNT"))
    if mnt is None or len(mnt) == 0:
        return None
    roll, pitch = np.radians(_col(mnt, "Roll", "MR")), np.radians(_col(mnt, "Pitch", "MP"))
    yaw_e = np.radians(_col(mnt, "YawE"))
    yaw_b = np.radians(_col(mnt, "YawB", "Yaw", "MY"))
    is_earth = np.isfinite(yaw_e)
    yaw = np.where(is_earth, yaw_e, yaw_b)
    return gimbal_track(_timed(mnt, clock), roll, pitch, yaw, is_earth, attitude, max_gap_s, "MNT")


def _event_times(tab: RecordTable, clock: DataFlashClock) -> NDArray[np.float64]:
    """Trigger times: the boot clock mapped to UTC, else the record's own GPS time."""
    t = _timed(tab, clock)
    if tab.has("GPSWeek", "GPSTime"):
        week = _col(tab, "GPSWeek")
        own = np.where(week > 0, gps_week_ms_to_utc_s(week, _col(tab, "GPSTime")), np.nan)
        t = np.where(np.isfinite(t), t, own)
    return t


def build_camera_events(tables: dict[str, RecordTable], clock: DataFlashClock,
                        gimbal: GimbalTrack | None, max_gap_s: float
                        ) -> tuple[list[CameraEvent], int]:
    """Camera events from CAM and TRIG records, and the count without a usable time."""
    events: list[CameraEvent] = []
    untimed = 0
    for name in ("CAM", "TRIG"):
        tab = tables.get(name)
        if tab is None or len(tab) == 0:
            continue
        t = _event_times(tab, clock)
        index = _col(tab, "Img")
        cols = [_col(tab, c) for c in ("Lat", "Lng", "Alt", "RelAlt")]
        att = [np.radians(_col(tab, a, b)) for a, b in (("R", "Roll"), ("P", "Pitch"), ("Y", "Yaw"))]
        gim = gimbal_at(gimbal, t, max_gap_s)
        for i in range(len(tab)):
            if not np.isfinite(t[i]):
                untimed += 1
                continue
            pose = _event_pose(float(t[i]), [c[i] for c in cols], [a[i] for a in att],
                               None if gim is None else [g[i] for g in gim], name)
            img = int(index[i]) if np.isfinite(index[i]) else None
            events.append(CameraEvent(float(t[i]), img, pose, name))
    events.sort(key=lambda e: e.t_utc_s)
    return events, untimed


def _event_pose(t: float, pos: list[float], att: list[float], gim: list[float] | None,
                source: str) -> Pose | None:
    lat, lon, alt, rel = (float(v) for v in pos)
    if not (np.isfinite(lat) and np.isfinite(lon)) or (lat == 0 and lon == 0):
        return None
    g = (None, None, None) if gim is None else tuple(float(v) for v in gim)
    return Pose(t, lat, lon, alt, rel, float(att[0]), float(att[1]), float(wrap_pi(att[2])),
                g[0], g[1], g[2], source=source)


def vehicle_strings(tables: dict[str, RecordTable]) -> tuple[str, str]:
    """(vehicle kind, firmware) from VER or the MSG banner ("", "") where absent."""
    msg = tables.get("MSG")
    texts = [str(v) for v in msg.columns.get("Message", [])] if msg is not None else []
    firmware, kind = first_banner(texts)
    ver = tables.get("VER")
    if not firmware and ver is not None and ver.has("FWS") and len(ver):
        firmware, kind = first_banner([str(v) for v in ver.columns["FWS"]]) or ("", "")
    frame = frame_from_texts(texts)
    vehicle = f"{kind} ({frame})" if kind and frame else kind
    return vehicle, firmware


def build_from_dataflash(src: DataFlashSource, *, max_gap_s: float,
                         min_fix_type: int) -> BuiltTracks:
    """Tracks, camera events and vehicle strings of a parsed DataFlash log."""
    tables = {n: t for n in TABLES if (t := src.table(n)) is not None}
    clock = build_clock(tables)
    position, no_fix, bad_pos = build_position(tables, clock, min_fix_type)
    attitude, bad_att = build_attitude(tables, clock)
    gimbal = build_gimbal(tables, clock, attitude, max_gap_s)
    events, untimed = build_camera_events(tables, clock, gimbal, max_gap_s)
    untimed += _count_untimed(tables, clock)
    vehicle, firmware = vehicle_strings(tables)
    return BuiltTracks(position, attitude, gimbal, tuple(events), vehicle, firmware,
                       clock.time_source, no_fix, bad_pos + bad_att, untimed)


def _count_untimed(tables: dict[str, RecordTable], clock: DataFlashClock) -> int:
    n = 0
    for name in ("GPS", "POS", "ATT", "MNT"):
        tab = tables.get(name)
        if tab is not None and (b := boot_seconds(tab)) is not None:
            n += int(np.count_nonzero(~np.isfinite(clock.utc(tab, b))))
    return n
