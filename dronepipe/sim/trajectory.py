"""The true flight: position, velocity and attitude of the vehicle over time.

The path is the plan's polyline (climb at home, transit, survey lines joined by
semicircular turns, transit home, descent), sampled every few centimetres. Speed along
it is limited by the segment (cruise, turn radius at a lateral acceleration limit,
vertical speed) and by a longitudinal acceleration limit in a forward-backward pass;
the vehicle stops at sharp corners, as a multirotor in AUTO does at waypoints. The
path is then resampled in time at ``SAMPLE_HZ``; between samples the truth is the
linear interpolation of these samples (``Trajectory.at``), the single definition of
where the vehicle was.

Attitude: yaw follows the horizontal track (rate limited, held when hovering); roll
and pitch tilt the thrust vector to produce the (smoothed) acceleration plus a linear
air drag, as a multirotor must. Angles are radians; yaw is against true north (the
grid heading minus the meridian convergence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter1d

from dronepipe.rotations import wrap_pi
from dronepipe.sim.flightplan import FlightPlan

F64 = NDArray[np.float64]
SAMPLE_HZ = 50.0
GRAVITY = 9.80665
DRAG_PER_S = 0.2          # linear drag: about 7 degrees of pitch at 6 m/s
A_LONG = 1.5              # m/s^2 along the path
A_LAT = 2.0               # m/s^2 in turns
V_VERT = 2.5              # m/s climb and descent
YAW_RATE = np.radians(60.0)
DS = 0.05                 # path sampling, metres


@dataclass(frozen=True)
class Trajectory:
    """True state on a uniform time base ``t_s`` (seconds after take-off).

    ``pos_m`` (N, 3): grid easting, northing and height above take-off; ``vel_m_s``,
    ``acc_m_s2`` (N, 3) in east-north-up; ``roll``, ``pitch``, ``yaw`` (N,) radians
    (yaw unwrapped, against true north). ``trigger_t_s``: survey trigger times, and
    ``trigger_line``: the line of each trigger.
    """

    t_s: F64 = field(repr=False)
    pos_m: F64 = field(repr=False)
    vel_m_s: F64 = field(repr=False)
    acc_m_s2: F64 = field(repr=False)
    roll: F64 = field(repr=False)
    pitch: F64 = field(repr=False)
    yaw: F64 = field(repr=False)
    trigger_t_s: F64 = field(repr=False)
    trigger_line: NDArray[np.int64] = field(repr=False)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def at(self, t_s: NDArray[np.float64] | float) -> dict[str, F64]:
        """The true state at times ``t_s`` (clamped to the flight; on the ground before/after)."""
        t = np.clip(np.asarray(t_s, dtype=np.float64), self.t_s[0], self.t_s[-1])
        out = {k: np.stack([np.interp(t, self.t_s, a[:, i]) for i in range(3)], axis=-1)
               for k, a in (("pos_m", self.pos_m), ("vel_m_s", self.vel_m_s))}
        for k in ("roll", "pitch", "yaw"):
            out[k] = np.interp(t, self.t_s, getattr(self, k))
        out["yaw"] = wrap_pi(out["yaw"])
        return out


@dataclass
class _Path:
    pts: list[F64] = field(default_factory=list)   # (n, 3) chunks
    vmax: list[F64] = field(default_factory=list)

    def segment(self, a: F64, b: F64, v: float) -> None:
        n = max(2, int(np.ceil(np.linalg.norm(b - a) / DS)) + 1)
        f = np.linspace(0.0, 1.0, n)[:, None]
        self._add(a + f * (b - a), np.full(n, v))

    def arc(self, a: F64, b: F64, forward: F64, v: float) -> None:
        c = (a + b) / 2.0
        r = float(np.linalg.norm(b - a)) / 2.0
        n = max(3, int(np.ceil(np.pi * r / DS)) + 1)
        phi = np.linspace(0.0, np.pi, n)[:, None]
        radial = (a - c) / max(r, 1e-9)
        self._add(c + r * (np.cos(phi) * radial + np.sin(phi) * forward),
                  np.full(n, min(v, np.sqrt(A_LAT * max(r, 0.1)))))

    def _add(self, p: F64, v: F64) -> None:
        if self.pts:  # the joint point: keep the lower limit, drop the duplicate
            v[0] = min(v[0], self.vmax[-1][-1])
            self.pts[-1], self.vmax[-1] = self.pts[-1][:-1], self.vmax[-1][:-1]
        self.pts.append(p)
        self.vmax.append(v)

    def corner(self) -> None:
        self.vmax[-1][-1] = 0.0

    def length(self) -> float:
        p = np.concatenate(self.pts)
        return float(np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1)))


def _build_path(plan: FlightPlan, speed: float) -> tuple[F64, F64, list[float]]:
    """Dense path points (n, 3), speed limits (n,), arc length where each line's
    trigger segment starts."""
    h = plan.height_m
    home = np.array([*plan.home_m, 0.0])
    p = _Path()
    p.segment(home, home + [0, 0, h], V_VERT)
    p.corner()
    starts = []
    for i, line in enumerate(plan.lines):
        a = np.array([*line.start_m, h])
        b = np.array([*line.end_m, h])
        u = (b - a) / max(np.linalg.norm(b - a), 1e-9) if line.triggers > 1 else \
            np.array([np.sin(plan.azimuth_rad), np.cos(plan.azimuth_rad), 0.0]) * (-1) ** i
        a_in, b_out = a - plan.run_in_m * u, b + plan.run_in_m * u
        if i == 0:
            p.segment(home + [0, 0, h], a_in, speed)
            p.corner()
        p.segment(a_in, a, speed)
        starts.append(p.length())
        p.segment(a, b, speed)
        p.segment(b, b_out, speed)
        if i + 1 < len(plan.lines):
            nxt = plan.lines[i + 1]
            na = np.array([*nxt.start_m, h])
            nb = np.array([*nxt.end_m, h])
            nu = (nb - na) / max(np.linalg.norm(nb - na), 1e-9) if nxt.triggers > 1 else -u
            n_in = na - plan.run_in_m * nu
            # project so the turn is a clean semicircle even for a shorter last line
            n_in_aligned = b_out + np.dot(n_in - b_out, np.cross([0, 0, 1.0], u)) * \
                np.cross([0, 0, 1.0], u)
            p.arc(b_out, n_in_aligned, u, speed)
            if np.linalg.norm(n_in - n_in_aligned) > 1e-6:
                p.segment(n_in_aligned, n_in, speed)
    p.corner()
    p.segment(p.pts[-1][-1], home + [0, 0, h], speed)
    p.corner()
    p.segment(home + [0, 0, h], home, V_VERT)
    pts = np.concatenate(p.pts)
    vmax = np.concatenate(p.vmax)
    vmax[0] = vmax[-1] = 0.0
    return pts, vmax, starts


def _speed_profile(s: F64, vmax: F64) -> F64:
    """Speeds under ``vmax`` reachable with the longitudinal acceleration limit."""
    v = vmax.copy()
    ds = np.diff(s)
    for i in range(len(v) - 1):
        v[i + 1] = min(v[i + 1], np.sqrt(v[i] ** 2 + 2.0 * A_LONG * ds[i]))
    for i in range(len(v) - 2, -1, -1):
        v[i] = min(v[i], np.sqrt(v[i + 1] ** 2 + 2.0 * A_LONG * ds[i]))
    return v


def _attitude(vel: F64, acc: F64, yaw_grid: F64, convergence_rad: float) -> tuple[F64, F64, F64]:
    """Roll, pitch (tilt of the thrust) and true yaw, radians."""
    thrust_enu = acc + DRAG_PER_S * vel + np.array([0.0, 0.0, GRAVITY])
    fwd = np.stack([np.sin(yaw_grid), np.cos(yaw_grid)], axis=-1)
    right = np.stack([np.cos(yaw_grid), -np.sin(yaw_grid)], axis=-1)
    t_fwd = np.sum(thrust_enu[:, :2] * fwd, axis=1)
    t_right = np.sum(thrust_enu[:, :2] * right, axis=1)
    t_up = thrust_enu[:, 2]
    norm = np.sqrt(t_fwd ** 2 + t_right ** 2 + t_up ** 2)
    roll = np.arcsin(np.clip(t_right / norm, -1.0, 1.0))
    pitch = -np.arctan2(t_fwd, t_up)
    return roll, pitch, yaw_grid - convergence_rad


def _yaw_track(vel: F64, dt: float, initial: float) -> F64:
    """Grid heading following the horizontal track, rate-limited, held when hovering."""
    speed_h = np.hypot(vel[:, 0], vel[:, 1])
    target = np.arctan2(vel[:, 0], vel[:, 1])
    yaw = np.empty(len(vel))
    cur = initial
    step = YAW_RATE * dt
    for i in range(len(vel)):
        if speed_h[i] > 0.5:
            cur = cur + float(np.clip(wrap_pi(target[i] - cur), -step, step))
        yaw[i] = cur
    return yaw


def fly(plan: FlightPlan, speed_m_s: float, convergence_rad: float) -> Trajectory:
    """The true trajectory of a plan flown at ``speed_m_s`` (see the module docstring)."""
    pts, vmax, starts = _build_path(plan, speed_m_s)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    v = _speed_profile(s, vmax)
    vm = v[:-1] + v[1:]
    dt = np.where(vm > 0, 2.0 * np.diff(s) / np.where(vm > 0, vm, 1.0), 0.0)
    t_path = np.concatenate([[0.0], np.cumsum(dt)])
    t = np.arange(0.0, t_path[-1], 1.0 / SAMPLE_HZ)
    s_t = np.interp(t, t_path, s)
    pos = np.stack([np.interp(s_t, s, pts[:, i]) for i in range(3)], axis=-1)
    step = 1.0 / SAMPLE_HZ
    vel = np.gradient(pos, step, axis=0)
    acc = gaussian_filter1d(np.gradient(vel, step, axis=0), sigma=0.15 * SAMPLE_HZ, axis=0)
    first = np.array([*plan.lines[0].start_m]) - np.array(plan.home_m)
    yaw_grid = _yaw_track(vel, step, float(np.arctan2(first[0], first[1])))
    roll, pitch, yaw = _attitude(vel, acc, yaw_grid, convergence_rad)
    trig_s, trig_line = [], []
    for i, (line, s0) in enumerate(zip(plan.lines, starts, strict=True)):
        trig_s.extend(s0 + k * plan.trigger_dist_m for k in range(line.triggers))
        trig_line.extend([i] * line.triggers)
    trig_t = np.interp(np.asarray(trig_s), s, t_path)
    return Trajectory(t, pos, vel, acc, roll, pitch, yaw, trig_t, np.asarray(trig_line))
