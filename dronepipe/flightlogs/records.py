"""Records shared by every telemetry source: ``Pose`` and ``CameraEvent``.

Conventions (DESIGN.md): times are UTC seconds since the Unix epoch (``t_utc_s``);
angles are radians; vehicle attitude is the aerospace Z-Y-X Euler triple of the body
frame against local NED (yaw clockwise from true north); gimbal attitude is given in
the earth frame (roll and pitch against the horizon, pitch -pi/2 looking straight
down, yaw clockwise from true north), which is what a stabilised gimbal holds. Heights
are explicit: ``alt_msl_m`` above mean sea level, ``alt_rel_m`` above take-off (home).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pose:
    """Where the vehicle and its camera gimbal were at one instant.

    ``gimbal_*_rad`` are ``None`` where the log has no gimbal attitude; the camera is
    then taken as fixed to the vehicle (see ``dronepipe.stitching.camera_pose``).
    ``source`` says where the pose came from (for example ``"tlog:interpolated"``,
    ``"CAMERA_FEEDBACK"``, ``"exif"``), for provenance.
    """

    t_utc_s: float
    lat_deg: float
    lon_deg: float
    alt_msl_m: float
    alt_rel_m: float
    roll_rad: float
    pitch_rad: float
    yaw_rad: float
    gimbal_roll_rad: float | None = None
    gimbal_pitch_rad: float | None = None
    gimbal_yaw_rad: float | None = None
    source: str = ""


@dataclass(frozen=True)
class CameraEvent:
    """One camera trigger as the autopilot recorded it (CAMERA_FEEDBACK, CAM, TRIG ...).

    ``image_index`` is the autopilot's running image number (``None`` where the message
    has none); ``pose`` is the vehicle pose the autopilot stored with the trigger, or
    ``None`` where the message carries no pose (CAMERA_TRIGGER).
    """

    t_utc_s: float
    image_index: int | None
    pose: Pose | None
    source: str
