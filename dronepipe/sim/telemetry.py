"""What the autopilot reports: the true states with the flight's errors, on the
schedules at which an ArduPilot copter streams (tlog) and logs (DataFlash) them.

All sample times are whole milliseconds of UTC, and the autopilot's boot clock is UTC
minus ``boot_utc_s`` (a whole second), so that time_boot_ms, GPS week/ms and
SYSTEM_TIME describe the same instants exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from dronepipe.geodesy import UtmFrame
from dronepipe.sim.errors_model import ErrorModel
from dronepipe.sim.poses import StateSeries, true_states
from dronepipe.sim.trajectory import Trajectory

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class FlightClock:
    """The times of one flight (UTC seconds): take-off, log span, autopilot boot."""

    takeoff_utc_s: float
    log_start_utc_s: float
    log_end_utc_s: float
    boot_utc_s: float

    def boot_ms(self, t_utc_s: F64) -> NDArray[np.int64]:
        """time_boot_ms of UTC instants."""
        return np.round((np.asarray(t_utc_s) - self.boot_utc_s) * 1000.0).astype(np.int64)

    def schedule(self, hz: float, phase_ms: int = 0, start: float | None = None,
                 end: float | None = None) -> F64:
        """Sample times at ``hz`` on whole milliseconds, offset by ``phase_ms``."""
        t0 = self.log_start_utc_s if start is None else start
        t1 = self.log_end_utc_s if end is None else end
        step_ms = int(round(1000.0 / hz))
        first = math.ceil(t0 * 1000.0) + phase_ms
        return np.arange(first, t1 * 1000.0, step_ms, dtype=np.float64) / 1000.0


@dataclass(frozen=True)
class Reporter:
    """Turns true states into reported ones (the flight's errors applied)."""

    traj: Trajectory
    frame: UtmFrame
    takeoff_msl_m: float
    oblique_deg: float
    clock: FlightClock
    errors: ErrorModel

    def truth(self, t_utc_s: F64) -> StateSeries:
        """True states at UTC times. The gimbal truly points off its commanded (and
        reported) attitude by minus the configured bias: reported - true = bias."""
        st = true_states(self.traj, np.asarray(t_utc_s) - self.clock.takeoff_utc_s,
                         self.clock.takeoff_utc_s, self.frame, self.takeoff_msl_m,
                         self.oblique_deg)
        b = self.errors.gimbal_bias_rad
        return replace(st, g_roll=st.g_roll - b[0], g_pitch=st.g_pitch - b[1],
                       g_yaw=st.g_yaw - b[2])

    def position(self, t_utc_s: F64, stream: int, raw: bool) -> StateSeries:
        """States with the GNSS error (``raw``: plus the receiver's white noise)."""
        st = self.truth(t_utc_s)
        err = self.errors.gnss_at(st.t_utc_s)
        if raw and self.errors.config.gnss_white_m > 0:
            rng = self.errors.rng(stream)
            err = err + rng.standard_normal(err.shape) * self.errors.config.gnss_white_m
        e, n = st.easting_m + err[:, 0], st.northing_m + err[:, 1]
        lon, lat = self.frame.to_lonlat(e, n)
        return replace(st, easting_m=e, northing_m=n, lat_deg=np.asarray(lat),
                       lon_deg=np.asarray(lon), alt_msl_m=st.alt_msl_m + err[:, 2],
                       alt_rel_m=st.alt_rel_m + err[:, 2])

    def attitude(self, st: StateSeries, stream: int) -> StateSeries:
        """Vehicle and gimbal attitude with white noise; the gimbal's commanded attitude
        (true + bias) is what it reports."""
        cfg = self.errors.config
        rng = self.errors.rng(stream)
        n = len(st)
        va = math.radians(cfg.attitude_noise_deg)
        ga = math.radians(cfg.gimbal_noise_deg)
        vr, vp, vy = (rng.standard_normal(n) * va for _ in range(3))
        gr, gp, gy = (rng.standard_normal(n) * ga for _ in range(3))
        b = self.errors.gimbal_bias_rad
        return replace(st, roll=st.roll + vr, pitch=st.pitch + vp, yaw=st.yaw + vy,
                       g_roll=st.g_roll + b[0] + gr, g_pitch=st.g_pitch + b[1] + gp,
                       g_yaw=st.g_yaw + b[2] + gy)

    def reported(self, t_utc_s: F64, stream: int, raw: bool = False) -> StateSeries:
        """Position and attitude as the autopilot reports them at UTC times."""
        return self.attitude(self.position(t_utc_s, stream, raw), stream + 1000)

    def drops(self, n: int, stream: int) -> NDArray[np.bool_]:
        """Which of ``n`` messages of a stream the radio link loses."""
        rate = self.errors.config.drop_rate
        if rate <= 0:
            return np.zeros(n, dtype=bool)
        return self.errors.rng(stream + 2000).uniform(size=n) < rate

    def latency(self, n: int, stream: int) -> F64:
        """Ground-station receive delays (s) of ``n`` messages."""
        lo, hi = self.errors.config.link_latency_s
        if hi <= 0:
            return np.zeros(n)
        return self.errors.rng(stream + 3000).uniform(lo, hi, size=n)
