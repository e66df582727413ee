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
    (degrees) and height ``sigma_scale`` (fraction of the height above ground)."""

    sigma_rot_deg: float = 3.0
    sigma_scale: float = 0.03

    @property
    def sigmas(self) -> tuple[float, float]:
        """(rotation rad, log scale) standard deviations."""
        return math.radians(self.sigma_rot_deg), math.log1p(self.sigma_scale)


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
