"""The flight logs, as an ArduPilot copter and its ground station write them.

- ``write_tlog``: the ground station's telemetry log (MAVLink 2, each frame after the
  8-byte big-endian microsecond receive stamp) through ``dronepipe.flightlogs``'s
  ``TlogWriter``: HEARTBEAT (vehicle and ground station), STATUSTEXT banner,
  SYSTEM_TIME 1 Hz, HOME_POSITION, GPS_RAW_INT, GLOBAL_POSITION_INT, ATTITUDE,
  GIMBAL_DEVICE_ATTITUDE_STATUS (earth-frame quaternion, flags ROLL/PITCH/YAW_LOCK |
  YAW_IN_EARTH_FRAME), VFR_HUD and one CAMERA_FEEDBACK per trigger. The radio link loses
  ``drop_rate`` of the messages and delays the rest by ``link_latency_s``.
- ``write_dataflash``: the onboard log (nothing lost) through ``DataFlashWriter``: MSG
  banner, PARM, MODE, ORGN, GPS, POS, ATT, MNT (4.3+ layout with earth-frame yaw) and
  one CAM per trigger, in time order.

Angles in the logs are degrees where ArduPilot logs degrees (yaw 0..360), radians in
ATTITUDE; positions WGS84 degrees (1e-7), altitudes above mean sea level unless
relative. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.dataflash_writer import DataFlashWriter
from dronepipe.flightlogs.gpstime import GPS_EPOCH_UNIX_S, SECONDS_PER_WEEK
from dronepipe.flightlogs.tlog_writer import TlogWriter
from dronepipe.rotations import euler_to_quat, wrap_pi
from dronepipe.sim.poses import StateSeries
from dronepipe.sim.telemetry import Reporter

F64 = NDArray[np.float64]
BANNER = "ArduCopter V4.5.7 (d0c0a5e1)"
LEAP_S = 18.0  # GPS - UTC since 2017
GDAS_FLAGS = 4 | 8 | 16 | 64   # ROLL_LOCK | PITCH_LOCK | YAW_LOCK | YAW_IN_EARTH_FRAME
MODE_AUTO = 3


@dataclass(frozen=True)
class Triggers:
    """Camera triggers: UTC times the autopilot logged and 1-based image numbers."""

    t_utc_s: F64
    image_index: NDArray[np.int64]
    focal_length_mm: float


def _e7(deg: F64) -> NDArray[np.int64]:
    return np.round(np.asarray(deg) * 1e7).astype(np.int64)


def _deg360(rad: F64) -> F64:
    return np.degrees(np.asarray(rad)) % 360.0


def gps_week_ms(t_utc_s: F64) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """GPS week and millisecond of week of UTC instants (leap seconds of 2017 on)."""
    gps_ms = np.round((np.asarray(t_utc_s) + LEAP_S - GPS_EPOCH_UNIX_S) * 1000.0).astype(np.int64)
    week_ms = int(SECONDS_PER_WEEK * 1000)
    return gps_ms // week_ms, gps_ms % week_ms


def _rates(st: StateSeries, dt: float) -> tuple[F64, F64, F64]:
    """Body rates (rad/s) from differences of Euler angles (good enough for logs)."""
    if len(st) < 2:
        z = np.zeros(len(st))
        return z, z, z
    return tuple(np.gradient(np.unwrap(a), dt) for a in (st.roll, st.pitch, st.yaw))  # type: ignore[return-value]


# --- tlog ------------------------------------------------------------------------------

# (receive time, order, message name, encoder arguments, source system, source component)
Msg = tuple[float, int, str, tuple[Any, ...], int, int]


class _TlogStreams:
    """Collects stamped messages of all streams, then writes them in receive order."""

    def __init__(self, rep: Reporter, t0: float, t1: float) -> None:
        self.rep, self.t0, self.t1 = rep, t0, t1
        self.msgs: list[Msg] = []

    def add(self, stream: int, t_send: F64, name: str, args: list[tuple[Any, ...]],
            src: tuple[int, int] = (1, 1)) -> None:
        """Messages ``name`` (pymavlink ``<name>_encode`` arguments), sent at ``t_send``."""
        keep = ~self.rep.drops(len(t_send), stream)
        recv = np.asarray(t_send) + self.rep.latency(len(t_send), stream)
        for i in np.flatnonzero(keep):
            self.msgs.append((float(recv[i]), len(self.msgs), name, args[i], src[0], src[1]))

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with TlogWriter(tmp) as w:
            for recv, _, name, args, sys_id, comp in sorted(self.msgs, key=lambda m: (m[0], m[1])):
                msg = getattr(w.mav, name + "_encode")(*args)
                w.write(msg, recv, src_system=sys_id, src_component=comp)
        os.replace(tmp, path)


def _us(t_utc_s: float) -> int:
    return int(round(t_utc_s * 1e6))


def _heartbeats(s: _TlogStreams) -> None:
    rep, clk = s.rep, s.rep.clock
    t = clk.schedule(1.0, 3, s.t0, s.t1)
    armed = (t > clk.takeoff_utc_s - 5.0) & (t < clk.takeoff_utc_s + rep.traj.duration_s + 2.0)
    s.add(1, t, "heartbeat", [(2, 3, 89 | (128 if a else 0), MODE_AUTO, 4 if a else 3, 3)
                              for a in armed])
    s.add(2, t + 0.4, "heartbeat", [(6, 8, 192, 0, 4, 3)] * len(t), (255, 190))
    s.add(3, t + 0.002, "system_time",
          [(_us(x), int(b)) for x, b in zip(t, clk.boot_ms(t), strict=True)])
    s.add(4, np.array([s.t0 + 0.01, s.t0 + 0.02]), "statustext",
          [(6, BANNER.encode()), (6, b"Frame: QUAD/X")])
    th = clk.schedule(0.1, 5, s.t0, s.t1)
    home = rep.position(np.full(len(th), clk.takeoff_utc_s - 5.0), 5, raw=False)
    s.add(5, th, "home_position", [
        (int(la), int(lo), int(al), 0, 0, 0, [1, 0, 0, 0], 0, 0, 0, _us(x))
        for la, lo, al, x in zip(_e7(home.lat_deg), _e7(home.lon_deg),
                                 np.round(home.alt_msl_m * 1000), th, strict=True)])


def _positions(s: _TlogStreams, gps_hz: float, pos_hz: float, geoid_m: float) -> None:
    rep, clk = s.rep, s.rep.clock
    t = clk.schedule(gps_hz, 7, s.t0, s.t1)
    g = rep.position(t, 11, raw=True)
    v = g.vel_enu_m_s
    speed = np.round(np.hypot(v[:, 0], v[:, 1]) * 100)
    cog = np.round(np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360.0 * 100).astype(int) % 36000
    s.add(11, t + 0.005, "gps_raw_int", [
        (_us(x), 3, int(la), int(lo), int(al), 80, 120, int(sp), int(c), 16, int(ae), 900, 1400,
         150, 0, 0)
        for x, la, lo, al, sp, c, ae in zip(
            t, _e7(g.lat_deg), _e7(g.lon_deg), np.round(g.alt_msl_m * 1000), speed, cog,
            np.round((g.alt_msl_m + geoid_m) * 1000), strict=True)])
    t = clk.schedule(pos_hz, 11, s.t0, s.t1)
    p = rep.position(t, 12, raw=False)
    v = np.round(p.vel_enu_m_s * 100).astype(int)
    hdg = np.round(_deg360(p.yaw) * 100).astype(int) % 36000
    s.add(12, t + 0.003, "global_position_int", [
        (int(b), int(la), int(lo), int(al), int(re), int(ve[1]), int(ve[0]), int(-ve[2]), int(h))
        for b, la, lo, al, re, ve, h in zip(
            clk.boot_ms(t), _e7(p.lat_deg), _e7(p.lon_deg), np.round(p.alt_msl_m * 1000),
            np.round(p.alt_rel_m * 1000), v, hdg, strict=True)])
    t = clk.schedule(4.0, 17, s.t0, s.t1)
    h = rep.truth(t)
    s.add(13, t + 0.004, "vfr_hud", [
        (float(sp), float(sp), int(hd), 45, float(al), float(cl))
        for sp, hd, al, cl in zip(np.hypot(h.vel_enu_m_s[:, 0], h.vel_enu_m_s[:, 1]),
                                  np.round(_deg360(h.yaw)).astype(int) % 360, h.alt_msl_m,
                                  h.vel_enu_m_s[:, 2], strict=True)])


def _attitudes(s: _TlogStreams, att_hz: float, gimbal_hz: float) -> None:
    rep, clk = s.rep, s.rep.clock
    t = clk.schedule(att_hz, 13, s.t0, s.t1)
    a = rep.attitude(rep.truth(t), 21)
    rates = _rates(a, 1.0 / att_hz)
    s.add(21, t + 0.001, "attitude", [
        (int(b), float(r), float(p), float(y), float(x), float(yy), float(z))
        for b, r, p, y, x, yy, z in zip(clk.boot_ms(t), a.roll, a.pitch, wrap_pi(a.yaw),
                                        *rates, strict=True)])
    t = clk.schedule(gimbal_hz, 19, s.t0, s.t1)
    g = rep.attitude(rep.truth(t), 22)
    q = euler_to_quat(g.g_roll, g.g_pitch, g.g_yaw)
    nan = float("nan")
    s.add(22, t + 0.006, "gimbal_device_attitude_status", [
        (0, 0, int(b), GDAS_FLAGS, [float(v) for v in qq], nan, nan, nan, 0, float(d), nan, 1)
        for b, qq, d in zip(clk.boot_ms(t), q, wrap_pi(g.g_yaw - g.yaw), strict=True)])


def _camera_feedback(s: _TlogStreams, trig: Triggers) -> None:
    inside = (trig.t_utc_s >= s.t0) & (trig.t_utc_s <= s.t1)
    t, idx = trig.t_utc_s[inside], trig.image_index[inside]
    if len(t) == 0:
        return
    c = s.rep.reported(t, 31)
    s.add(31, t + 0.05, "camera_feedback", [
        (_us(x), 0, 0, int(i), int(la), int(lo), float(am), float(ar), float(r), float(p),
         float(y), trig.focal_length_mm, 0, int(i))
        for x, i, la, lo, am, ar, r, p, y in zip(
            t, idx, _e7(c.lat_deg), _e7(c.lon_deg), c.alt_msl_m, c.alt_rel_m,
            np.degrees(c.roll), np.degrees(c.pitch), _deg360(c.yaw), strict=True)])


def write_tlog(path: Path, rep: Reporter, trig: Triggers, rates: Any, geoid_m: float,
               t0: float | None = None, t1: float | None = None) -> None:
    """The ground station's tlog between UTC ``t0`` and ``t1`` (default: the whole log)."""
    s = _TlogStreams(rep, rep.clock.log_start_utc_s if t0 is None else t0,
                     rep.clock.log_end_utc_s if t1 is None else t1)
    _heartbeats(s)
    _positions(s, rates.gps_hz, rates.position_hz, geoid_m)
    _attitudes(s, rates.attitude_hz, rates.gimbal_hz)
    _camera_feedback(s, trig)
    s.write(path)


# --- DataFlash -------------------------------------------------------------------------

Row = tuple[float, int, str, dict[str, Any]]   # UTC time, order, record name, values


def _df_positions(rep: Reporter, rates: Any) -> list[Row]:
    clk = rep.clock
    rows: list[Row] = []
    t = clk.schedule(rates.gps_hz, 7)
    g = rep.position(t, 11, raw=True)
    week, ms = gps_week_ms(t)
    v = g.vel_enu_m_s
    for i in range(len(t)):
        rows.append((float(t[i]), 1, "GPS", dict(
            TimeUS=int(round((t[i] - clk.boot_utc_s) * 1e6)), I=0, Status=3, GMS=int(ms[i]),
            GWk=int(week[i]), NSats=16, HDop=0.7, Lat=float(g.lat_deg[i]), Lng=float(g.lon_deg[i]),
            Alt=float(g.alt_msl_m[i]), Spd=float(np.hypot(v[i, 0], v[i, 1])),
            GCrs=float(np.degrees(np.arctan2(v[i, 0], v[i, 1])) % 360.0), VZ=float(-v[i, 2]),
            Yaw=float("nan"), U=1)))
    t = clk.schedule(rates.position_hz, 11)
    p = rep.position(t, 12, raw=False)
    for i in range(len(t)):
        rows.append((float(t[i]), 2, "POS", dict(
            TimeUS=int(round((t[i] - clk.boot_utc_s) * 1e6)), Lat=float(p.lat_deg[i]),
            Lng=float(p.lon_deg[i]), Alt=float(p.alt_msl_m[i]), RelHomeAlt=float(p.alt_rel_m[i]),
            RelOriginAlt=float(p.alt_rel_m[i]))))
    return rows


def _df_attitudes(rep: Reporter, rates: Any) -> list[Row]:
    clk = rep.clock
    rows: list[Row] = []
    t = clk.schedule(25.0, 13)
    a = rep.attitude(rep.truth(t), 21)
    r, p, y = np.degrees(a.roll), np.degrees(a.pitch), _deg360(a.yaw)
    y = np.where(np.round(y, 2) >= 360.0, 0.0, y)
    for i in range(len(t)):
        rows.append((float(t[i]), 3, "ATT", dict(
            TimeUS=int(round((t[i] - clk.boot_utc_s) * 1e6)), DesRoll=float(r[i]), Roll=float(r[i]),
            DesPitch=float(p[i]), Pitch=float(p[i]), DesYaw=float(y[i]), Yaw=float(y[i]),
            ErrRP=0.02, ErrYaw=0.05, AEKF=3)))
    t = clk.schedule(rates.gimbal_hz, 19)
    g = rep.attitude(rep.truth(t), 22)
    cmd = rep.truth(t)
    for i in range(len(t)):
        yaw_e = float(np.degrees(wrap_pi(g.g_yaw[i])))
        rows.append((float(t[i]), 4, "MNT", dict(
            TimeUS=int(round((t[i] - clk.boot_utc_s) * 1e6)), I=0, DRoll=0.0,
            Roll=float(np.degrees(g.g_roll[i])), DPitch=float(np.degrees(cmd.g_pitch[i])),
            Pitch=float(np.degrees(g.g_pitch[i])), DYawB=0.0,
            YawB=float(np.degrees(wrap_pi(g.g_yaw[i] - g.yaw[i]))),
            DYawE=float(np.degrees(wrap_pi(cmd.yaw[i]))), YawE=yaw_e)))
    return rows


def _df_cameras(rep: Reporter, trig: Triggers) -> list[Row]:
    clk = rep.clock
    c = rep.reported(trig.t_utc_s, 31)
    raw = rep.position(trig.t_utc_s, 32, raw=True)
    week, ms = gps_week_ms(trig.t_utc_s)
    return [(float(trig.t_utc_s[i]), 5, "CAM", dict(
        TimeUS=int(round((trig.t_utc_s[i] - clk.boot_utc_s) * 1e6)), I=0,
        Img=int(trig.image_index[i]), GPSTime=int(ms[i]), GPSWeek=int(week[i]),
        Lat=float(c.lat_deg[i]), Lng=float(c.lon_deg[i]), Alt=float(c.alt_msl_m[i]),
        RelAlt=float(c.alt_rel_m[i]), GPSAlt=float(raw.alt_msl_m[i]),
        R=float(np.degrees(c.roll[i])), P=float(np.degrees(c.pitch[i])),
        Y=float(_deg360(c.yaw[i])))) for i in range(len(trig.t_utc_s))]


def _df_header(rep: Reporter, trig_dist_m: float) -> list[Row]:
    clk = rep.clock
    t0 = clk.log_start_utc_s
    home_t = clk.takeoff_utc_s - 5.0
    home = rep.position(np.array([home_t]), 5, raw=False)

    def us(t: float) -> int:
        return int(round((t - clk.boot_utc_s) * 1e6))
    rows: list[Row] = [(t0, 0, "MSG", dict(TimeUS=us(t0), Message=BANNER)),
                       (t0, 0, "MSG", dict(TimeUS=us(t0), Message="Frame: QUAD/X"))]
    for name, value in (("CAM_TRIGG_DIST", trig_dist_m), ("MNT1_TYPE", 6.0), ("SYSID_THISMAV", 1.0)):
        rows.append((t0, 0, "PARM", dict(TimeUS=us(t0), Name=name, Value=float(value))))
    rows.append((home_t, 0, "MODE", dict(TimeUS=us(home_t), Mode=MODE_AUTO, ModeNum=MODE_AUTO, Rsn=2)))
    for kind in (0, 1):
        rows.append((home_t, 0, "ORGN", dict(TimeUS=us(home_t), Type=kind,
                                             Lat=float(home.lat_deg[0]), Lng=float(home.lon_deg[0]),
                                             Alt=float(home.alt_msl_m[0]))))
    return rows


def write_dataflash(path: Path, rep: Reporter, trig: Triggers, rates: Any,
                    trig_dist_m: float) -> None:
    """The autopilot's onboard DataFlash log of the whole flight, records in time order."""
    rows = (_df_header(rep, trig_dist_m) + _df_positions(rep, rates) + _df_attitudes(rep, rates)
            + _df_cameras(rep, trig))
    rows.sort(key=lambda r: (r[0], r[1]))
    tmp = path.with_name(path.name + ".tmp")
    with DataFlashWriter(tmp) as w:
        for _, _, name, values in rows:
            w.write(name, **values)
    os.replace(tmp, path)
