"""Turning a ``MavlinkCollector``'s samples into ``Telemetry`` tracks and events.

Position: GLOBAL_POSITION_INT (the autopilot's fused position: lat/lon degE7, alt and
relative_alt in mm) where the log has it, else GPS_RAW_INT (altitude above take-off
then relative to HOME_POSITION, or to the first 3D fix). The GNSS quality columns
(fix type, satellites, HDOP = eph/100, ground speed) are those of the latest
GPS_RAW_INT at each position time. Gimbal: GIMBAL_DEVICE_ATTITUDE_STATUS where present,
else MOUNT_STATUS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.interpolate import bracket, interpolate_attitude
from dronepipe.flightlogs.mavlink_collect import MavlinkCollector, column
from dronepipe.flightlogs.records import CameraEvent, Pose
from dronepipe.flightlogs.telemetry import BuiltTracks
from dronepipe.flightlogs.track_ops import (
    drop_bad_positions,
    gimbal_at,
    gimbal_track,
    sample_and_hold,
)
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack, int16_column
from dronepipe.rotations import wrap_pi


@dataclass(frozen=True, eq=False)
class SessionClock:
    """Per boot session: UTC - boot offset from SYSTEM_TIME (NaN where none) and receive
    time - boot offset (the ground-station fallback), seconds."""

    autopilot_s: NDArray[np.float64]
    receive_s: NDArray[np.float64]

    def utc(self, session: NDArray[np.int64], boot_s: NDArray[np.float64],
            abs_s: NDArray[np.float64], recv_s: NDArray[np.float64]
            ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """UTC seconds of samples, and which of them needed the ground-station fallback."""
        rx = self.receive_s[session]
        boot = np.where(np.isfinite(boot_s), boot_s, recv_s - rx)
        auto = boot + self.autopilot_s[session]
        fallback = ~np.isfinite(auto) & ~np.isfinite(abs_s)
        t = np.where(np.isfinite(abs_s), abs_s, np.where(fallback, boot + rx, auto))
        t = np.where(np.isfinite(t), t, recv_s)
        return t, fallback


def _median_per_session(session: NDArray[np.int64], values: NDArray[np.float64],
                        n: int) -> NDArray[np.float64]:
    out = np.full(n, np.nan)
    ok = np.isfinite(values)
    for s in np.unique(session[ok]):
        out[s] = np.median(values[ok & (session == s)])
    return out


def session_clock(c: MavlinkCollector) -> SessionClock:
    """The UTC mapping of every boot session the collector saw: SYSTEM_TIME; where a
    session has none, the UTC stamps the autopilot puts in camera and GPS messages
    against its boot clock at their arrival (off by the sending latency, ~0.1 s)."""
    n = c.session + 1
    st = c.rows["systime"]
    auto = _median_per_session(column(st, 0, np.int64), column(st, 2) - column(st, 1), n)
    if np.any(np.isnan(auto)):
        stamped = list(c.rows["camera"]) + list(c.rows["gps"])
        sess = column(stamped, 0, np.int64)
        diff = column(stamped, 2) - column(stamped, 1)
        auto = np.where(np.isnan(auto), _median_per_session(sess, diff, n), auto)
    pairs = list(c.rows["att"]) + list(c.rows["gpi"])
    recv = _median_per_session(column(pairs, 0, np.int64), column(pairs, 2) - column(pairs, 1), n)
    return SessionClock(auto, recv)


def _times(clock: SessionClock, rows: Any, boot: int, abs_: int | None,
           recv: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    abs_s = column(rows, abs_) if abs_ is not None else np.full(len(rows), np.nan)
    return clock.utc(column(rows, 0, np.int64), column(rows, boot), abs_s, column(rows, recv))


def _quality(c: MavlinkCollector, clock: SessionClock,
             t: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """(fix type, satellites, hdop, ground speed) of the latest GPS_RAW_INT at times t."""
    gps = c.rows["gps"]
    tg, _ = _times(clock, gps, 1, 2, 3)
    return (sample_and_hold(tg, column(gps, 4), t, -1), sample_and_hold(tg, column(gps, 10), t, -1),
            sample_and_hold(tg, column(gps, 8), t, np.nan),
            sample_and_hold(tg, column(gps, 9), t, np.nan))


def build_position(c: MavlinkCollector, clock: SessionClock, min_fix_type: int
                   ) -> tuple[PositionTrack, int, int, NDArray[np.bool_]]:
    """Position track, counts dropped (no fix, bad values), and which samples used the
    ground-station time fallback."""
    gpi, gps = c.rows["gpi"], c.rows["gps"]
    if gpi:
        t, fb = _times(clock, gpi, 1, None, 2)
        fix, sats, hdop, _ = _quality(c, clock, t)
        speed = column(gpi, 7)
        lat, lon, alt, rel = (column(gpi, i) for i in (3, 4, 5, 6))
        source = "GLOBAL_POSITION_INT"
    elif gps:
        t, fb = _times(clock, gps, 1, 2, 3)
        fix, sats, hdop, speed = (column(gps, i) for i in (4, 10, 8, 9))
        lat, lon, alt = (column(gps, i) for i in (5, 6, 7))
        good = np.flatnonzero(fix >= 3)
        home = c.home_alt_m if np.isfinite(c.home_alt_m) else (alt[good[0]] if good.size else np.nan)
        rel, source = alt - home, "GPS_RAW_INT"
    else:
        return PositionTrack.empty(), 0, 0, np.zeros(0, dtype=bool)
    sats = np.where(np.isfinite(sats), sats, -1)
    track = PositionTrack(t, lat, lon, alt, rel, speed, int16_column(fix),
                          int16_column(sats), hdop, source=source)
    kept, no_fix, bad = drop_bad_positions(track, min_fix_type)
    return kept, no_fix, bad, fb


def build_attitude(c: MavlinkCollector, clock: SessionClock
                   ) -> tuple[AttitudeTrack, int, NDArray[np.bool_]]:
    """Attitude track from ATTITUDE (radians), non-finite samples dropped (and counted)."""
    att = c.rows["att"]
    t, fb = _times(clock, att, 1, None, 2)
    r, p, y = column(att, 3), column(att, 4), column(att, 5)
    bad = ~(np.isfinite(r) & np.isfinite(p) & np.isfinite(y))
    track = AttitudeTrack(t, r, p, y, source="ATTITUDE").take(~bad).sorted()
    return track, int(np.count_nonzero(bad)), fb


def build_gimbal(c: MavlinkCollector, clock: SessionClock, attitude: AttitudeTrack,
                 max_gap_s: float) -> GimbalTrack | None:
    """Gimbal track from GIMBAL_DEVICE_ATTITUDE_STATUS, else MOUNT_STATUS; None if neither."""
    kind, source = ("gdas", "GIMBAL_DEVICE_ATTITUDE_STATUS") if c.rows["gdas"] else \
        ("mount", "MOUNT_STATUS")
    rows = c.rows[kind]
    if not rows:
        return None
    t, _ = _times(clock, rows, 1, None, 2)
    return gimbal_track(t, column(rows, 3), column(rows, 4), column(rows, 5),
                        column(rows, 6, bool), attitude, max_gap_s, source)


def build_camera_events(c: MavlinkCollector, clock: SessionClock, attitude: AttitudeTrack,
                        gimbal: GimbalTrack | None, max_gap_s: float) -> list[CameraEvent]:
    """Camera events; CAMERA_IMAGE_CAPTURED takes the vehicle attitude from the track and
    its camera quaternion as the gimbal, CAMERA_FEEDBACK the gimbal from the track."""
    rows = c.rows["camera"]
    if not rows:
        return []
    t, _ = _times(clock, rows, 1, 2, 3)
    veh = interpolate_attitude(attitude, bracket(attitude.t_utc_s, t, max_gap_s))
    gim = gimbal_at(gimbal, t, max_gap_s)
    events = []
    for i, row in enumerate(rows):
        att = [row[10 + k] if np.isfinite(row[10 + k]) else float(veh[k][i]) for k in range(3)]
        if row[4] == "CAMERA_IMAGE_CAPTURED":
            g: tuple[float, ...] | None = row[13:16]
        else:
            g = None if gim is None else tuple(float(a[i]) for a in gim)
        events.append(CameraEvent(float(t[i]), row[5], _event_pose(float(t[i]), row, att, g),
                                  row[4]))
    return sorted(events, key=lambda e: e.t_utc_s)


def _event_pose(t: float, row: tuple[Any, ...], att: list[float],
                gim: tuple[float, ...] | None) -> Pose | None:
    lat, lon, alt, rel = row[6:10]
    if not (np.isfinite(lat) and np.isfinite(lon)) or (lat == 0 and lon == 0):
        return None
    g = (None, None, None) if gim is None else tuple(float(v) for v in gim)
    return Pose(t, float(lat), float(lon), float(alt), float(rel), float(att[0]),
                float(att[1]), float(wrap_pi(att[2])), g[0], g[1], g[2], source=row[4])


def build(c: MavlinkCollector, *, max_gap_s: float, min_fix_type: int) -> BuiltTracks:
    """Tracks, camera events and vehicle strings from the collected samples."""
    clock = session_clock(c)
    position, no_fix, bad_pos, fb_pos = build_position(c, clock, min_fix_type)
    attitude, bad_att, fb_att = build_attitude(c, clock)
    gimbal = build_gimbal(c, clock, attitude, max_gap_s)
    events = build_camera_events(c, clock, attitude, gimbal, max_gap_s)
    vehicle, firmware = c.vehicle_strings()
    fallback = bool(np.any(fb_pos) or np.any(fb_att))
    return BuiltTracks(position, attitude, gimbal, tuple(events), vehicle, firmware,
                       "ground_station" if fallback else "autopilot", no_fix,
                       bad_pos + bad_att)
