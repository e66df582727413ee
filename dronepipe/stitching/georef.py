"""Direct georeferencing: a camera's position and orientation in the map grid, and the
meeting of its pixel rays with the ground (and back).

A ``CameraPose`` is the camera centre in grid coordinates (easting, northing in the
flight's UTM zone, and a height in the same vertical datum as the ``Ground``) and the
rotation ``R_grid_from_cam`` from OpenCV camera axes to grid east-north-up.

Heights are explicit (DESIGN.md): with ``height_ref="takeoff"`` the camera height is
the relative altitude above take-off and a ``FlatGround`` at 0 m is the ground; with
``height_ref="msl"`` the camera height is the altitude above mean sea level and the
ground is a DEM in MSL (an MSL/ellipsoid mix-up would cost tens of metres, so the DEM
reader states its datum).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.rotations import (
    GIMBAL_FROM_CAMERA,
    euler_to_matrix,
    grid_from_ned,
)
from dronepipe.stitching.camera import CameraModel

F64 = NDArray[np.float64]
HeightRef = Literal["takeoff", "msl"]
_REMAP_WIDTH = 4096


@dataclass(frozen=True)
class Mount:
    """How a camera sits on the vehicle.

    ``lever_arm_body_m``: gimbal centre relative to the position reference (the GNSS
    antenna), in body axes (x forward, y right, z down), metres.
    ``offset_gimbal_m``: this camera's centre relative to the gimbal centre, in gimbal
    axes, metres (thermal and RGB twins sit a few centimetres apart).
    ``boresight_rad``: roll, pitch, yaw of the camera within the gimbal (small
    mounting misalignment), radians.
    ``fixed_rad``: for a camera without gimbal telemetry, its roll, pitch, yaw relative
    to the body (default: looking straight down, image top forward).
    """

    lever_arm_body_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset_gimbal_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    boresight_rad: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fixed_rad: tuple[float, float, float] = (0.0, -np.pi / 2.0, 0.0)


@dataclass(frozen=True)
class CameraPose:
    """Camera centre ``centre_m`` = (easting, northing, height) and ``R_grid_from_cam``."""

    centre_m: F64 = field(compare=False)
    R_grid_from_cam: F64 = field(compare=False)  # noqa: N815 - conventional name

    def to_camera(self, points_grid: ArrayLike) -> F64:
        """Grid points (..., 3) in camera axes."""
        p = np.asarray(points_grid, dtype=np.float64) - self.centre_m
        return p @ self.R_grid_from_cam  # == (R^T p^T)^T


def camera_orientation_ned(pose: Pose, mount: Mount) -> F64:
    """``R_ned_from_camera`` for a pose: the gimbal's earth-frame attitude where the pose
    has one, else the vehicle attitude with the fixed mount angles."""
    if pose.gimbal_pitch_rad is not None:
        r_ned_gimbal = euler_to_matrix(pose.gimbal_roll_rad or 0.0, pose.gimbal_pitch_rad,
                                       pose.yaw_rad if pose.gimbal_yaw_rad is None
                                       else pose.gimbal_yaw_rad)
    else:
        r_ned_body = euler_to_matrix(pose.roll_rad, pose.pitch_rad, pose.yaw_rad)
        r_ned_gimbal = r_ned_body @ euler_to_matrix(*mount.fixed_rad)
    return r_ned_gimbal @ euler_to_matrix(*mount.boresight_rad) @ GIMBAL_FROM_CAMERA


def camera_pose(pose: Pose, frame: UtmFrame, mount: Mount = Mount(),
                height_ref: HeightRef = "takeoff") -> CameraPose:
    """The camera's grid position and orientation for a vehicle pose.

    The camera centre is the position fix plus the lever arm (body axes) plus the
    camera's offset on the gimbal (gimbal axes); grid north is turned against true
    north by the meridian convergence at the vehicle.
    """
    conv = frame.true_north_grid_azimuth(pose.lon_deg, pose.lat_deg)
    r_grid_ned = grid_from_ned(conv)
    r_ned_cam = camera_orientation_ned(pose, mount)
    r_ned_body = euler_to_matrix(pose.roll_rad, pose.pitch_rad, pose.yaw_rad)
    r_ned_gimbal = r_ned_cam @ GIMBAL_FROM_CAMERA.T @ euler_to_matrix(*mount.boresight_rad).T
    offset_ned = (r_ned_body @ np.asarray(mount.lever_arm_body_m)
                  + r_ned_gimbal @ np.asarray(mount.offset_gimbal_m))
    e, n = frame.to_grid(pose.lon_deg, pose.lat_deg)
    height = pose.alt_rel_m if height_ref == "takeoff" else pose.alt_msl_m
    centre = np.array([float(e), float(n), float(height)]) + r_grid_ned @ offset_ned
    return CameraPose(centre, r_grid_ned @ r_ned_cam)


class Ground(Protocol):
    """The ground surface, heights in the same datum as the camera heights."""

    def height_at(self, easting_m: ArrayLike, northing_m: ArrayLike) -> F64:
        """Ground height (metres) at grid points; NaN outside the model."""
        ...


@dataclass(frozen=True)
class FlatGround:
    """A horizontal ground at ``height_m`` (0 = take-off height with ``height_ref="takeoff"``)."""

    height_m: float = 0.0

    def height_at(self, easting_m: ArrayLike, northing_m: ArrayLike) -> F64:
        return np.full(np.broadcast(np.asarray(easting_m), np.asarray(northing_m)).shape,
                       self.height_m)


@dataclass(frozen=True)
class GridGround:
    """Ground heights on a regular north-up grid in the map frame (a DEM resampled to
    the flight's UTM zone). ``heights_m[row, col]`` is the height at the centre of cell
    (col, row); ``origin_m`` = (easting, northing) of the top-left cell's outer corner;
    ``cell_m`` the cell size. Bilinear between cell centres, NaN outside."""

    heights_m: F64 = field(compare=False)
    origin_m: tuple[float, float]
    cell_m: float

    def height_at(self, easting_m: ArrayLike, northing_m: ArrayLike) -> F64:
        e = np.asarray(easting_m, dtype=np.float64)
        n = np.asarray(northing_m, dtype=np.float64)
        shape = np.broadcast(e, n).shape
        col = ((np.broadcast_to(e, shape) - self.origin_m[0]) / self.cell_m - 0.5).ravel()
        row = ((self.origin_m[1] - np.broadcast_to(n, shape)) / self.cell_m - 0.5).ravel()
        # cv2.remap takes maps of fewer than 32767 rows and columns: lay the points out
        # in rows of _REMAP_WIDTH, in blocks of at most _REMAP_WIDTH rows
        heights = self.heights_m.astype(np.float32)
        out = np.empty(col.size, dtype=np.float64)
        block = _REMAP_WIDTH * _REMAP_WIDTH
        for start in range(0, col.size, block):
            c, r = col[start:start + block], row[start:start + block]
            pad = -c.size % _REMAP_WIDTH
            mc = np.pad(c.astype(np.float32), (0, pad), constant_values=-1.0).reshape(-1, _REMAP_WIDTH)
            mr = np.pad(r.astype(np.float32), (0, pad), constant_values=-1.0).reshape(-1, _REMAP_WIDTH)
            got = cv2.remap(heights, mc, mr, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=np.nan)
            out[start:start + c.size] = got.ravel()[:c.size]
        return out.reshape(shape)


def intersect_ground(cam: CameraPose, rays_cam: ArrayLike, ground: Ground,
                     iterations: int = 8) -> F64:
    """Grid points (..., 3) where camera rays (..., 3, camera axes) meet the ground.

    Flat ground is exact; a height model is solved by fixed-point iteration on the
    ray parameter, starting from the height under the camera's nadir. Rays that point
    up, or leave the height model, give NaN.
    """
    d = np.asarray(rays_cam, dtype=np.float64) @ cam.R_grid_from_cam.T
    o = cam.centre_m
    down = d[..., 2] < -1e-9
    dz = np.where(down, d[..., 2], -1.0)
    h = ground.height_at(o[0], o[1])
    h = np.broadcast_to(np.where(np.isfinite(h), h, 0.0), dz.shape)
    n_iter = 1 if isinstance(ground, FlatGround) else iterations
    for _ in range(n_iter):
        t = (h - o[2]) / dz
        e, n = o[0] + t * d[..., 0], o[1] + t * d[..., 1]
        h = ground.height_at(e, n)
    t = (h - o[2]) / dz
    pts = o + t[..., None] * d
    bad = ~down | ~np.isfinite(t) | (t <= 0)
    pts[bad] = np.nan
    return pts


def pixels_to_ground(cam: CameraPose, camera: CameraModel, u: ArrayLike, v: ArrayLike,
                     ground: Ground) -> F64:
    """Grid points (..., 3) seen at pixels ``(u, v)``."""
    return intersect_ground(cam, camera.rays(u, v), ground)


def ground_to_pixels(cam: CameraPose, camera: CameraModel,
                     points_grid: ArrayLike) -> tuple[F64, F64]:
    """Pixel coordinates ``(u, v)`` of grid points (..., 3); NaN behind the camera."""
    return camera.project(cam.to_camera(points_grid))
