"""GPS time to UTC, and mapping an autopilot's boot clock to UTC.

GPS time runs ahead of UTC by the leap seconds inserted since 1980-01-06 (18 s since
2017-01-01). Autopilots log their own boot clock (microseconds or milliseconds since
boot) on every record and, on GPS records, the GPS week and time of week; the offset
between the two clocks maps every record to UTC. The offset is taken as the median
over all usable pairs, so a few late or bogus GPS records do not move it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

GPS_EPOCH_UNIX_S = 315964800.0
"""1980-01-06T00:00:00Z, the start of GPS week 0, in Unix seconds."""

SECONDS_PER_WEEK = 604800.0

# (first UTC day of the new offset as Unix seconds, GPS - UTC in seconds from then on)
_LEAP_SECONDS: tuple[tuple[float, int], ...] = (
    (315964800.0, 0),    # 1980-01-06
    (362793600.0, 1),    # 1981-07-01
    (394329600.0, 2),    # 1982-07-01
    (425865600.0, 3),    # 1983-07-01
    (489024000.0, 4),    # 1985-07-01
    (567993600.0, 5),    # 1988-01-01
    (631152000.0, 6),    # 1990-01-01
    (662688000.0, 7),    # 1991-01-01
    (709948800.0, 8),    # 1992-07-01
    (741484800.0, 9),    # 1993-07-01
    (773020800.0, 10),   # 1994-07-01
    (820454400.0, 11),   # 1996-01-01
    (867715200.0, 12),   # 1997-07-01
    (915148800.0, 13),   # 1999-01-01
    (1136073600.0, 14),  # 2006-01-01
    (1230768000.0, 15),  # 2009-01-01
    (1341100800.0, 16),  # 2012-07-01
    (1435708800.0, 17),  # 2015-07-01
    (1483228800.0, 18),  # 2017-01-01
)

MIN_PLAUSIBLE_UTC_S = 946684800.0   # 2000-01-01: earlier "UTC" times are unset clocks
MAX_PLAUSIBLE_UTC_S = 4102444800.0  # 2100-01-01


def leap_seconds_at_gps(gps_as_unix_s: ArrayLike) -> NDArray[np.float64]:
    """GPS - UTC in seconds for GPS times given as seconds since 1970 (no leap applied)."""
    starts = np.array([utc + leap for utc, leap in _LEAP_SECONDS])
    leaps = np.array([leap for _, leap in _LEAP_SECONDS], dtype=np.float64)
    idx = np.searchsorted(starts, np.asarray(gps_as_unix_s, dtype=np.float64), side="right") - 1
    return leaps[np.clip(idx, 0, len(leaps) - 1)]


def gps_week_ms_to_utc_s(week: ArrayLike, time_of_week_ms: ArrayLike) -> NDArray[np.float64]:
    """UTC seconds since the Unix epoch of GPS week numbers and milliseconds of the week."""
    gps = (GPS_EPOCH_UNIX_S + np.asarray(week, dtype=np.float64) * SECONDS_PER_WEEK
           + np.asarray(time_of_week_ms, dtype=np.float64) / 1000.0)
    return gps - leap_seconds_at_gps(gps)


def plausible_utc(t_utc_s: ArrayLike) -> NDArray[np.bool_]:
    """Which times look like a set clock (2000..2100), not zero or boot time."""
    t = np.asarray(t_utc_s, dtype=np.float64)
    return np.isfinite(t) & (t > MIN_PLAUSIBLE_UTC_S) & (t < MAX_PLAUSIBLE_UTC_S)


def median_offset_s(t_utc_s: ArrayLike, t_boot_s: ArrayLike) -> float:
    """Median of ``t_utc_s - t_boot_s`` over the plausible pairs (NaN where there are none)."""
    utc = np.asarray(t_utc_s, dtype=np.float64)
    boot = np.asarray(t_boot_s, dtype=np.float64)
    ok = plausible_utc(utc) & np.isfinite(boot)
    if not np.any(ok):
        return float("nan")
    return float(np.median(utc[ok] - boot[ok]))


def boot_segments(t_boot_s: ArrayLike, reset_s: float = 5.0) -> NDArray[np.int64]:
    """Boot-session number (0, 1, ...) of each time in file order.

    A new session starts where the boot clock jumps back by more than ``reset_s``
    seconds (a reboot, or two logs written into one file). NaN times stay in the
    current session.
    """
    t = np.asarray(t_boot_s, dtype=np.float64)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(t))
    seg = np.zeros(t.size, dtype=np.int64)
    if finite.size < 2:
        return seg
    drops = np.diff(t[finite]) < -reset_s
    starts = finite[1:][drops]
    seg[starts] = 1
    return np.cumsum(seg)


def isolated_outliers(t: ArrayLike, jump_s: float = 60.0) -> NDArray[np.bool_]:
    """Times (in file order) more than ``jump_s`` away from both neighbours while the
    neighbours agree with each other: single corrupted time stamps."""
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros(t.size, dtype=bool)
    if t.size < 3:
        return out
    prev, cur, nxt = t[:-2], t[1:-1], t[2:]
    with np.errstate(invalid="ignore"):
        out[1:-1] = ((np.abs(cur - prev) > jump_s) & (np.abs(nxt - cur) > jump_s)
                     & (np.abs(nxt - prev) <= jump_s))
    return out
