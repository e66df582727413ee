"""Rotations: every attitude convention of dronepipe lives here, and only here.

Frames
- NED: local north-east-down, north = true north.
- body: vehicle x forward, y right, z down; attitude = aerospace Z-Y-X Euler angles
  (yaw about down, then pitch, then roll), ``R_ned_from_body = Rz(yaw) Ry(pitch) Rx(roll)``.
- gimbal: like body, but the attitude is the gimbal's own, in the earth frame
  (pitch -pi/2 looks straight down, yaw clockwise from true north).
- camera: OpenCV axes, x right, y down, z forward along the optical axis. With the
  gimbal level (pitch 0) the optical axis is the gimbal's x axis, camera x is the
  gimbal's y (right) and camera y the gimbal's z (down). Looking straight down with
  yaw 0, the top of the image points north.
- grid: map east-north-up in the flight's UTM zone. Grid north differs from true
  north by the meridian convergence; ``grid_from_ned`` takes it into account.

All functions take radians and broadcast over leading array dimensions.
Quaternions are ``(w, x, y, z)`` (MAVLink's order), rotating body vectors into NED.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

_LOCK_EPS = 1e-10  # |sin(pitch)| above 1 - this is treated as gimbal lock

# Columns are the camera axes (x right, y down, z forward) written in the gimbal frame.
GIMBAL_FROM_CAMERA: F64 = np.array([[0.0, 0.0, 1.0],
                                    [1.0, 0.0, 0.0],
                                    [0.0, 1.0, 0.0]])

# ENU from NED: swap north/east, flip down.
ENU_FROM_NED: F64 = np.array([[0.0, 1.0, 0.0],
                              [1.0, 0.0, 0.0],
                              [0.0, 0.0, -1.0]])


def euler_to_matrix(roll: ArrayLike, pitch: ArrayLike, yaw: ArrayLike) -> F64:
    """``R_ned_from_body`` (..., 3, 3) from Z-Y-X Euler angles in radians."""
    r, p, y = (np.asarray(a, dtype=np.float64) for a in (roll, pitch, yaw))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    m = np.empty(np.broadcast(r, p, y).shape + (3, 3))
    m[..., 0, 0] = cy * cp
    m[..., 0, 1] = cy * sp * sr - sy * cr
    m[..., 0, 2] = cy * sp * cr + sy * sr
    m[..., 1, 0] = sy * cp
    m[..., 1, 1] = sy * sp * sr + cy * cr
    m[..., 1, 2] = sy * sp * cr - cy * sr
    m[..., 2, 0] = -sp
    m[..., 2, 1] = cp * sr
    m[..., 2, 2] = cp * cr
    return m


def matrix_to_euler(m: ArrayLike) -> tuple[F64, F64, F64]:
    """Z-Y-X Euler angles ``(roll, pitch, yaw)`` in radians from ``R_ned_from_body``."""
    m = np.asarray(m, dtype=np.float64)
    pitch = -np.arcsin(np.clip(m[..., 2, 0], -1.0, 1.0))
    roll = np.arctan2(m[..., 2, 1], m[..., 2, 2])
    yaw = np.arctan2(m[..., 1, 0], m[..., 0, 0])
    return roll, pitch, yaw


def euler_to_quat(roll: ArrayLike, pitch: ArrayLike, yaw: ArrayLike) -> F64:
    """Unit quaternion (..., 4) ``(w, x, y, z)`` from Z-Y-X Euler angles in radians."""
    r, p, y = (np.asarray(a, dtype=np.float64) / 2.0 for a in (roll, pitch, yaw))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.stack([cr * cp * cy + sr * sp * sy,
                     sr * cp * cy - cr * sp * sy,
                     cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy], axis=-1)


def quat_to_euler(q: ArrayLike) -> tuple[F64, F64, F64]:
    """Z-Y-X Euler angles ``(roll, pitch, yaw)`` in radians from quaternions ``(w, x, y, z)``.

    At gimbal lock (pitch at +-90 degrees, a nadir camera) roll and yaw are not
    separable; the whole rotation about the vertical is then put into yaw and roll is 0.
    The quaternions need not be normalised.
    """
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    q = q / np.where(n > 0, n, 1.0)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    sinp = np.clip(2.0 * (w * y - z * x), -1.0, 1.0)
    roll = np.arctan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = np.arcsin(sinp)
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    lock = np.abs(sinp) > 1.0 - _LOCK_EPS
    if np.any(lock):
        roll = np.where(lock, 0.0, roll)
        pitch = np.where(lock, np.copysign(np.pi / 2, sinp), pitch)
        yaw = np.where(lock, wrap_pi(2.0 * np.arctan2(z, w)), yaw)
    return roll, pitch, yaw


def slerp(q0: ArrayLike, q1: ArrayLike, f: ArrayLike) -> F64:
    """Spherical interpolation between unit quaternions (..., 4) at fractions ``f`` in [0, 1].

    Takes the short way round (flips ``q1`` where the dot product is negative), so
    a yaw crossing +-pi interpolates through pi, not through 0.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-9
    safe = np.where(small, 1.0, sin_t)
    w0 = np.where(small, 1.0 - f, np.sin((1.0 - f) * theta) / safe)
    w1 = np.where(small, f, np.sin(f * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def slerp_euler(roll0: ArrayLike, pitch0: ArrayLike, yaw0: ArrayLike,
                roll1: ArrayLike, pitch1: ArrayLike, yaw1: ArrayLike,
                f: ArrayLike) -> tuple[F64, F64, F64]:
    """Slerp between two Z-Y-X Euler attitudes (radians) at fractions ``f``; returns
    ``(roll, pitch, yaw)`` in radians.

    Where both ends are the same attitude, or ``f`` is exactly 0 or 1, the input
    angles come back unchanged (no round trip through a quaternion, so a nadir gimbal
    keeps its yaw/roll split); yaw is wrapped into [-pi, pi).
    """
    q0 = euler_to_quat(roll0, pitch0, yaw0)
    q1 = euler_to_quat(roll1, pitch1, yaw1)
    r, p, y = quat_to_euler(slerp(q0, q1, f))
    same = ((np.asarray(roll0) == roll1) & (np.asarray(pitch0) == pitch1)
            & (np.asarray(yaw0) == yaw1))
    f = np.asarray(f, dtype=np.float64)
    at0 = same | (f == 0.0)
    at1 = ~at0 & (f == 1.0)
    return (np.where(at0, roll0, np.where(at1, roll1, r)),
            np.where(at0, pitch0, np.where(at1, pitch1, p)),
            np.where(at0, wrap_pi(yaw0), np.where(at1, wrap_pi(yaw1), y)))


def rot_z(angle: ArrayLike) -> F64:
    """Rotation (..., 3, 3) about the z axis by ``angle`` radians (right-handed)."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1], m[..., 2, 2] = c, -s, s, c, 1.0
    return m


def grid_from_ned(convergence_rad: ArrayLike) -> F64:
    """``R_grid_from_ned``: NED (true north) to map grid ENU (grid north).

    ``convergence_rad`` is the grid azimuth of true north (clockwise from grid north,
    radians), as ``dronepipe.geodesy.UtmFrame.true_north_grid_azimuth`` returns it: a
    direction with true azimuth ``a`` has grid azimuth ``a + convergence``.
    """
    # An azimuth increase is a rotation about "down" in NED.
    return ENU_FROM_NED @ rot_z(convergence_rad)


def camera_in_ned(gimbal_roll: ArrayLike, gimbal_pitch: ArrayLike, gimbal_yaw: ArrayLike) -> F64:
    """``R_ned_from_camera`` for a gimbal with earth-frame attitude in radians."""
    return euler_to_matrix(gimbal_roll, gimbal_pitch, gimbal_yaw) @ GIMBAL_FROM_CAMERA


def wrap_pi(angle: ArrayLike) -> F64:
    """Angle(s) wrapped into [-pi, pi)."""
    a = np.asarray(angle, dtype=np.float64)
    return (a + np.pi) % (2.0 * np.pi) - np.pi
