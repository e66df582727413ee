"""True poses: the vehicle and gimbal state at given times, as the pipeline's ``Pose``.

The gimbal is stabilised in the earth frame: roll 0, pitch ``-90 + oblique`` degrees,
yaw following the vehicle's heading. Heights: ``alt_rel_m`` above take-off (the
trajectory's height), ``alt_msl_m`` = take-off ground MSL + that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.sim.trajectory import Trajectory

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class StateSeries:
    """Columnar true (or reported) states at times ``t_utc_s`` (all arrays (N,)).

    Positions: ``lat_deg``, ``lon_deg``, ``alt_msl_m``, ``alt_rel_m``, ``easting_m``,
    ``northing_m``; velocity ``vel_enu_m_s`` (N, 3); vehicle ``roll``, ``pitch``,
    ``yaw`` and gimbal ``g_roll``, ``g_pitch``, ``g_yaw`` (earth frame), radians.
    """

    t_utc_s: F64 = field(repr=False)
    easting_m: F64 = field(repr=False)
    northing_m: F64 = field(repr=False)
    lat_deg: F64 = field(repr=False)
    lon_deg: F64 = field(repr=False)
    alt_msl_m: F64 = field(repr=False)
    alt_rel_m: F64 = field(repr=False)
    vel_enu_m_s: F64 = field(repr=False)
    roll: F64 = field(repr=False)
    pitch: F64 = field(repr=False)
    yaw: F64 = field(repr=False)
    g_roll: F64 = field(repr=False)
    g_pitch: F64 = field(repr=False)
    g_yaw: F64 = field(repr=False)

    def __len__(self) -> int:
        return len(self.t_utc_s)

    def pose(self, i: int, source: str = "truth") -> Pose:
        """The ``i``-th state as a pipeline ``Pose``."""
        return Pose(float(self.t_utc_s[i]), float(self.lat_deg[i]), float(self.lon_deg[i]),
                    float(self.alt_msl_m[i]), float(self.alt_rel_m[i]), float(self.roll[i]),
                    float(self.pitch[i]), float(self.yaw[i]), float(self.g_roll[i]),
                    float(self.g_pitch[i]), float(self.g_yaw[i]), source)


def true_states(traj: Trajectory, t_flight_s: F64, start_utc_s: float, frame: UtmFrame,
                takeoff_msl_m: float, oblique_deg: float) -> StateSeries:
    """True states at flight times ``t_flight_s`` (seconds after take-off)."""
    t = np.asarray(t_flight_s, dtype=np.float64)
    st = traj.at(t)
    e, n, h = st["pos_m"][:, 0], st["pos_m"][:, 1], st["pos_m"][:, 2]
    lon, lat = frame.to_lonlat(e, n)
    zeros = np.zeros_like(t)
    return StateSeries(start_utc_s + t, e, n, np.asarray(lat), np.asarray(lon),
                       takeoff_msl_m + h, h, st["vel_m_s"], st["roll"], st["pitch"], st["yaw"],
                       zeros, zeros + math.radians(oblique_deg - 90.0), st["yaw"].copy())
