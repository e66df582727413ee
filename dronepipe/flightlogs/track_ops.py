"""Operations shared by the DataFlash and MAVLink track builders."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.interpolate import bracket, interpolate_attitude, interpolate_gimbal
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack
from dronepipe.rotations import wrap_pi


def sample_and_hold(t_from: NDArray[np.float64], values: NDArray, t_to: NDArray[np.float64],
                    fill: float) -> NDArray[np.float64]:
    """The latest value at or before each time in ``t_to`` (``fill`` before the first)."""
    ok = np.isfinite(t_from)
    t_from, vals = t_from[ok], np.asarray(values, dtype=np.float64)[ok]
    if vals.size == 0:
        return np.full(np.shape(t_to), fill, dtype=np.float64)
    order = np.argsort(t_from, kind="stable")
    t_from, vals = t_from[order], vals[order]
    idx = np.searchsorted(t_from, t_to, side="right") - 1
    return np.where(idx >= 0, vals[np.maximum(idx, 0)], fill)


def drop_bad_positions(track: PositionTrack, min_fix_type: int) -> tuple[PositionTrack, int, int]:
    """The track without samples whose known fix type is below ``min_fix_type`` and without
    impossible positions (non-finite, 0/0, out of range), sorted by time; and the counts
    (no fix, bad values)."""
    no_fix = (track.fix_type >= 0) & (track.fix_type < min_fix_type)
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(track.lat_deg) | ~np.isfinite(track.lon_deg)
               | ((track.lat_deg == 0) & (track.lon_deg == 0)) | (np.abs(track.lat_deg) > 90)
               | (np.abs(track.lon_deg) > 180) | ~np.isfinite(track.alt_msl_m))
    keep = ~no_fix & ~bad
    return (track.take(keep).sorted(), int(np.count_nonzero(no_fix)),
            int(np.count_nonzero(bad & ~no_fix)))


def vehicle_yaw_at(attitude: AttitudeTrack, t: NDArray[np.float64],
                   max_gap_s: float) -> NDArray[np.float64]:
    """Vehicle yaw (rad) at times t by slerp, NaN outside the track or in gaps."""
    return interpolate_attitude(attitude, bracket(attitude.t_utc_s, t, max_gap_s))[2]


def gimbal_track(t: NDArray[np.float64], roll: NDArray[np.float64], pitch: NDArray[np.float64],
                 yaw: NDArray[np.float64], yaw_is_earth: NDArray[np.bool_],
                 attitude: AttitudeTrack, max_gap_s: float, source: str) -> GimbalTrack:
    """A gimbal track (radians) with the earth-frame yaw worked out from the vehicle's yaw;
    samples with non-finite angles or times are dropped."""
    yaw_is_earth = np.asarray(yaw_is_earth, dtype=bool)
    earth = np.where(yaw_is_earth, wrap_pi(yaw),
                     wrap_pi(yaw + vehicle_yaw_at(attitude, t, max_gap_s)))
    keep = np.isfinite(roll) & np.isfinite(pitch) & np.isfinite(yaw) & np.isfinite(t)
    track = GimbalTrack(t, roll, pitch, yaw, yaw_is_earth, earth, source=source)
    return track.take(keep).sorted()


def gimbal_at(gimbal: GimbalTrack | None, t: NDArray[np.float64],
              max_gap_s: float) -> tuple[NDArray[np.float64], ...] | None:
    """Earth-frame gimbal (roll, pitch, yaw) in radians at times t, None without a gimbal."""
    if gimbal is None:
        return None
    return interpolate_gimbal(gimbal, bracket(gimbal.t_utc_s, t, max_gap_s))
