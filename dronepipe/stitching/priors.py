"""How far a frame's direct georeferencing may be off: the prior of its correction.

The adjustment pulls each frame's correction ``(dx, dy, dtheta, log scale)`` towards
its prior mean (zero: where the GNSS pose puts the frame) with these standard
deviations, and the matcher searches for partners within a few of them. The errors of
direct georeferencing map into the correction as

- position: the GNSS error, plus the footprint shift from roll/pitch errors
  (height above ground x angle error, radians);
- rotation: the yaw error (gimbal or vehicle heading);
- scale: the height error over the height above ground.

A heading taken from the flight track (frames without gimbal angles, like the Toledo
set) can be anything at the end of a line, so such frames get an unknown rotation.

Part of the rotation and scale error is common to all frames of a flight (a compass
or gimbal yaw calibration error, a barometric height offset): ``BlockBias``. The tie
points cannot see it (it turns and scales the whole block), and frame priors that take
each frame's error as independent would average it in as if it were truth (a simulated
0.8 degree gimbal yaw bias left the block turned by 0.66 degrees). With the bias as a
block unknown, the frame priors hold only each frame's own noise, and the block's
rotation and scale come from the spread of its GNSS positions.

The GNSS error of an uncorrected receiver is not independent from frame to frame: it
wanders (multipath, atmosphere, satellite geometry) with correlation times of tens of
seconds to minutes, so consecutive frames share most of it: ``GnssWalk``. Taken as
independent per frame, the priors fit the block's rotation and scale to the walk's
excursions as if they were many independent measurements; on simulated flights (lines
of 12 frames flown in 17 s, a 20 s walk of 1 m) the frames agreed to 0.1 m while the
block was turned and scaled after the walk. As a first-order Gauss-Markov process plus
a white part per frame (``walk``: sparse, one link per consecutive pair of frames), the
same positions tell the block's shape better: on 12 simulated 70-frame flights at 70 m
the block's rotation error went from 0.44 to 0.23 degrees rms and its scale error from
0.84 to 0.58 %, the RGB frames' placement error against the true poses from 0.96 to
0.80 m rms (0.64 to 0.41 m once each block's mean offset, mostly the flight's mean
GNSS error, is taken out). The least-squares covariance of the block's similarity
hardly depends on the assumed correlation time (20-300 s assumed for a 20 s or 120 s
walk: within 15 % of the best), the block's position does (too long an assumed time
leans on the ends of the flight), so the default is a middle 60 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dronepipe.flightlogs.records import Pose

UNKNOWN_ROTATION_DEG = 180.0


@dataclass(frozen=True)
class PoseUncertainty:
    """Standard deviations of a frame's correction: ``sigma_pos_m`` metres (east and
    north each), ``sigma_rot_deg`` degrees, ``sigma_scale`` (fraction, 0.02 = 2 %)."""

    sigma_pos_m: float = 2.0
    sigma_rot_deg: float = 2.0
    sigma_scale: float = 0.02

    def __post_init__(self) -> None:
        if not (self.sigma_pos_m > 0 and self.sigma_rot_deg > 0 and self.sigma_scale > 0):
            raise ValueError(f"pose uncertainties must be positive: {self}")

    @property
    def sigmas(self) -> tuple[float, float, float, float]:
        """(dx m, dy m, dtheta rad, log scale) standard deviations."""
        return (self.sigma_pos_m, self.sigma_pos_m, math.radians(self.sigma_rot_deg),
                math.log1p(self.sigma_scale))

    @property
    def rotation_known(self) -> bool:
        """Whether the rotation is constrained well enough to guide matching (< 10 deg)."""
        return self.sigma_rot_deg < 10.0


@dataclass(frozen=True)
class BlockBias:
    """Standard deviations of the errors common to all frames: heading ``sigma_rot_deg``
    (degrees) and the height reference ``sigma_height_m`` (metres: the take-off
    altitude's and the barometer's drift over a flight for heights above take-off, the
    GNSS vertical error and the DEM's datum for altitudes over a DEM). The block's scale
    error is that height error over the height above ground, kept within
    ``scale_limits`` (fractions): 1 m at 70 m is 1.4 %.

    A fixed 3 % scale sigma (2 m at 70 m, more than a barometric height reference is
    off) let a GNSS walk's excursions set the block's scale: a simulated flight whose
    heights were 0.1 % off came out 1.4 % small (mosaic RMSE 1.07 m; 0.97 m with the
    block's scale tied to a 1 m height reference, ``bench/accuracy.py`` seed 6)."""

    sigma_rot_deg: float = 3.0
    sigma_height_m: float = 1.0
    scale_limits: tuple[float, float] = (0.003, 0.05)

    def __post_init__(self) -> None:
        lo, hi = self.scale_limits
        if not (self.sigma_rot_deg > 0 and self.sigma_height_m > 0 and 0 < lo <= hi):
            raise ValueError(f"block bias sigmas must be positive: {self}")

    @classmethod
    def for_height_ref(cls, height_ref: str) -> BlockBias:
        """The prior for the flight's height reference: heights above take-off
        (``"takeoff"``: barometric, relative) are off by about a metre over a flight;
        altitudes MSL over a DEM (``"msl"``) carry the GNSS vertical error and the
        DEM's own, about 3 m."""
        return cls(sigma_height_m=1.0 if height_ref == "takeoff" else 3.0)

    def scale_sigma(self, height_above_ground_m: float) -> float:
        """The block's scale standard deviation (fraction) at a height above ground (m)."""
        lo, hi = self.scale_limits
        return min(max(self.sigma_height_m / max(height_above_ground_m, 1.0), lo), hi)

    def sigmas_at(self, height_above_ground_m: float) -> tuple[float, float]:
        """(rotation rad, log scale) standard deviations at a height above ground (m)."""
        return (math.radians(self.sigma_rot_deg),
                math.log1p(self.scale_sigma(height_above_ground_m)))


@dataclass(frozen=True)
class GnssWalk:
    """GNSS position errors correlated in time: a first-order Gauss-Markov process of
    correlation time ``tau_s`` (seconds) plus ``white_m`` (metres, one sigma per axis)
    independent per frame (receiver noise, attitude noise times height, time sync). The
    walk takes the rest of each frame's position sigma."""

    tau_s: float = 60.0
    white_m: float = 0.5

    def __post_init__(self) -> None:
        if not (self.tau_s > 0 and self.white_m > 0):
            raise ValueError(f"GNSS walk parameters must be positive: {self}")


def uncertainty_from_errors(height_above_ground_m: float, gnss_sigma_m: float = 1.5,
                            attitude_sigma_deg: float = 1.0, yaw_sigma_deg: float = 2.0,
                            vertical_sigma_m: float = 2.0) -> PoseUncertainty:
    """The correction's uncertainty for given GNSS and attitude errors (see module)."""
    h = max(height_above_ground_m, 1.0)
    tilt_m = h * math.radians(attitude_sigma_deg)
    return PoseUncertainty(math.hypot(gnss_sigma_m, tilt_m), yaw_sigma_deg,
                           max(vertical_sigma_m / h, 1e-4))


def uncertainty_for_pose(pose: Pose, base: PoseUncertainty = PoseUncertainty()) -> PoseUncertainty:
    """``base``, with an unknown rotation where the heading came from the flight track
    rather than from a gimbal or compass (``frames.exif_pose`` says so in ``source``)."""
    src = pose.source.lower()
    if "yaw from track" in src or "nadir assumed" in src and "xmp flightyaw" not in src:
        return PoseUncertainty(base.sigma_pos_m, UNKNOWN_ROTATION_DEG, base.sigma_scale)
    return base
