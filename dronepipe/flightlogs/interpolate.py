"""Interpolating tracks at query times, refusing to invent data outside or across gaps.

``bracket`` finds, for every query time, the two samples around it and the fraction
between them, or a reason why there are none (before the first sample, after the last,
or inside a gap longer than ``max_gap_s``). Positions are interpolated linearly (the
longitude across the antimeridian too), attitudes by quaternion slerp.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack
from dronepipe.rotations import slerp_euler, wrap_pi


class Miss(IntEnum):
    """Why a track has no value at a time (0 = it has one)."""

    OK = 0
    EMPTY = 1
    BEFORE = 2
    AFTER = 3
    GAP = 4
    BAD_TIME = 5


@dataclass(frozen=True, eq=False)
class Bracket:
    """Samples around each query time: ``i0``/``i1`` indices, ``frac`` in [0, 1] from
    i0 to i1, and ``miss`` (a ``Miss`` code per query; indices are 0 where it is not OK)."""

    i0: NDArray[np.int64]
    i1: NDArray[np.int64]
    frac: NDArray[np.float64]
    miss: NDArray[np.int8]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """Which query times have a value."""
        return self.miss == Miss.OK


def bracket(t_track: NDArray[np.float64], t_query: ArrayLike, max_gap_s: float) -> Bracket:
    """Bracket query times (UTC s) in a sorted sample-time array (UTC s)."""
    t = np.atleast_1d(np.asarray(t_query, dtype=np.float64))
    n = t_track.size
    miss = np.full(t.shape, Miss.OK, dtype=np.int8)
    if n == 0:
        zeros = np.zeros(t.shape, dtype=np.int64)
        return Bracket(zeros, zeros, np.zeros(t.shape), np.full(t.shape, Miss.EMPTY, np.int8))
    i1 = np.searchsorted(t_track, t, side="right")
    i0 = i1 - 1
    i0c, i1c = np.clip(i0, 0, n - 1), np.clip(i1, 0, n - 1)
    exact = (i0 >= 0) & (t_track[i0c] == t)
    i1c = np.where(exact, i0c, i1c)
    miss[(i0 < 0)] = Miss.BEFORE
    miss[~exact & (i1 >= n)] = Miss.AFTER
    span = t_track[i1c] - t_track[i0c]
    miss[(miss == Miss.OK) & ~exact & (span > max_gap_s)] = Miss.GAP
    miss[~np.isfinite(t)] = Miss.BAD_TIME
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(exact | (span <= 0), 0.0, (t - t_track[i0c]) / span)
    ok = miss == Miss.OK
    return Bracket(np.where(ok, i0c, 0), np.where(ok, i1c, 0),
                   np.where(ok, np.clip(frac, 0.0, 1.0), 0.0), miss)


def _lerp(values: NDArray[np.float64], b: Bracket) -> NDArray[np.float64]:
    v0, v1 = values[b.i0], values[b.i1]
    out = v0 + (v1 - v0) * b.frac
    return np.where(b.ok, out, np.nan)


def interpolate_position(track: PositionTrack, b: Bracket) -> dict[str, NDArray[np.float64]]:
    """Latitude, longitude (degrees), altitudes (m) and ground speed (m/s) at the bracketed
    times, NaN where ``b`` has no value."""
    if len(track) == 0:
        keys = ("lat_deg", "lon_deg", "alt_msl_m", "alt_rel_m", "ground_speed_m_s")
        return {k: np.full(b.frac.shape, np.nan) for k in keys}
    lon0, lon1 = track.lon_deg[b.i0], track.lon_deg[b.i1]
    dlon = lon1 - lon0
    dlon = np.where(dlon > 180.0, dlon - 360.0, np.where(dlon < -180.0, dlon + 360.0, dlon))
    lon = lon0 + dlon * b.frac
    lon = np.where(lon > 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    return {"lat_deg": _lerp(track.lat_deg, b),
            "lon_deg": np.where(b.ok, lon, np.nan),
            "alt_msl_m": _lerp(track.alt_msl_m, b),
            "alt_rel_m": _lerp(track.alt_rel_m, b),
            "ground_speed_m_s": _lerp(track.ground_speed_m_s, b)}


def _slerp_track(roll: NDArray[np.float64], pitch: NDArray[np.float64],
                 yaw: NDArray[np.float64], b: Bracket) -> tuple[NDArray[np.float64], ...]:
    r, p, y = slerp_euler(roll[b.i0], pitch[b.i0], yaw[b.i0],
                          roll[b.i1], pitch[b.i1], yaw[b.i1], b.frac)
    nan = np.nan
    return np.where(b.ok, r, nan), np.where(b.ok, p, nan), np.where(b.ok, wrap_pi(y), nan)


def interpolate_attitude(track: AttitudeTrack, b: Bracket) -> tuple[NDArray[np.float64], ...]:
    """Vehicle (roll, pitch, yaw) in radians at the bracketed times (slerp)."""
    if len(track) == 0:
        nan = np.full(b.frac.shape, np.nan)
        return nan, nan.copy(), nan.copy()
    return _slerp_track(track.roll_rad, track.pitch_rad, track.yaw_rad, b)


def interpolate_gimbal(track: GimbalTrack, b: Bracket) -> tuple[NDArray[np.float64], ...]:
    """Gimbal (roll, pitch, yaw) in radians, yaw in the earth frame, at the bracketed
    times (slerp); NaN where a bracketing sample has no earth-frame yaw."""
    if len(track) == 0:
        nan = np.full(b.frac.shape, np.nan)
        return nan, nan.copy(), nan.copy()
    yaw = track.yaw_earth_rad
    bad = ~np.isfinite(yaw[b.i0]) | ~np.isfinite(yaw[b.i1])
    r, p, y = _slerp_track(track.roll_rad, track.pitch_rad, np.nan_to_num(yaw), b)
    return np.where(bad, np.nan, r), np.where(bad, np.nan, p), np.where(bad, np.nan, y)


def find_gaps(t: NDArray[np.float64], max_gap_s: float) -> list[tuple[float, float]]:
    """(start, end) UTC seconds of every interval between samples longer than ``max_gap_s``."""
    if t.size < 2:
        return []
    d = np.diff(t)
    idx = np.flatnonzero(d > max_gap_s)
    return [(float(t[i]), float(t[i + 1])) for i in idx]
