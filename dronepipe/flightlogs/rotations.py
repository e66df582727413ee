"""Attitude math in one place: Euler angles, quaternions, slerp, angle wrapping.

Conventions (see ``records.py``): the aerospace Z-Y-X Euler triple (yaw about down,
then pitch about the new east/right axis, then roll about the new forward axis),
radians, body frame against local NED. Quaternions are ``[w, x, y, z]`` arrays in the
last axis, Hamilton convention, rotating body vectors into NED. Every function is
vectorised over leading axes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_LOCK_EPS = 1e-10  # |sin(pitch)| above 1 - this is treated as gimbal lock


def wrap_pi(angle_rad: ArrayLike) -> NDArray[np.float64]:
    """Angles wrapped into [-pi, pi) (radians in, radians out)."""
    a = np.asarray(angle_rad, dtype=np.float64)
    return (a + np.pi) % (2.0 * np.pi) - np.pi


def euler_to_quat(roll_rad: ArrayLike, pitch_rad: ArrayLike,
                  yaw_rad: ArrayLike) -> NDArray[np.float64]:
    """Quaternions ``[..., 4]`` (w, x, y, z) of Z-Y-X Euler angles in radians."""
    hr = np.asarray(roll_rad, dtype=np.float64) * 0.5
    hp = np.asarray(pitch_rad, dtype=np.float64) * 0.5
    hy = np.asarray(yaw_rad, dtype=np.float64) * 0.5
    cr, sr, cp, sp, cy, sy = np.cos(hr), np.sin(hr), np.cos(hp), np.sin(hp), np.cos(hy), np.sin(hy)
    return np.stack([cr * cp * cy + sr * sp * sy,
                     sr * cp * cy - cr * sp * sy,
                     cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy], axis=-1)


def quat_to_euler(q: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                         NDArray[np.float64]]:
    """Z-Y-X Euler angles (roll, pitch, yaw) in radians of quaternions ``[..., 4]``.

    At gimbal lock (pitch at +-90 degrees, a nadir camera) roll and yaw are not
    separable; the whole rotation about the vertical is then put into yaw and roll is 0.
    The quaternions need not be normalised.
    """
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    q = q / np.where(n > 0, n, 1.0)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    sinp = np.clip(2.0 * (w * y - z * x), -1.0, 1.0)
    pitch = np.arcsin(sinp)
    roll = np.arctan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    lock = np.abs(sinp) > 1.0 - _LOCK_EPS
    if np.any(lock):
        roll = np.where(lock, 0.0, roll)
        pitch = np.where(lock, np.copysign(np.pi / 2, sinp), pitch)
        yaw = np.where(lock, wrap_pi(2.0 * np.arctan2(z, w)), yaw)
    return roll, pitch, yaw


def quat_slerp(q0: ArrayLike, q1: ArrayLike, frac: ArrayLike) -> NDArray[np.float64]:
    """Spherical linear interpolation from ``q0`` (frac 0) to ``q1`` (frac 1), shortest arc."""
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    f = np.asarray(frac, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    near = sin_t < 1e-9
    safe = np.where(near, 1.0, sin_t)
    w0 = np.where(near, 1.0 - f, np.sin((1.0 - f) * theta) / safe)
    w1 = np.where(near, f, np.sin(f * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def slerp_euler(roll0: ArrayLike, pitch0: ArrayLike, yaw0: ArrayLike,
                roll1: ArrayLike, pitch1: ArrayLike, yaw1: ArrayLike,
                frac: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                          NDArray[np.float64]]:
    """Slerp between two Euler attitudes (radians); returns (roll, pitch, yaw) in radians.

    Where both ends are the same attitude, or ``frac`` is exactly 0 or 1, the input
    angles come back unchanged (no round trip through a quaternion, so a nadir gimbal
    keeps its yaw/roll split).
    """
    q0 = euler_to_quat(roll0, pitch0, yaw0)
    q1 = euler_to_quat(roll1, pitch1, yaw1)
    r, p, y = quat_to_euler(quat_slerp(q0, q1, frac))
    same = ((np.asarray(roll0) == roll1) & (np.asarray(pitch0) == pitch1)
            & (np.asarray(yaw0) == yaw1))
    f = np.asarray(frac, dtype=np.float64)
    at0 = same | (f == 0.0)
    at1 = ~at0 & (f == 1.0)
    return (np.where(at0, roll0, np.where(at1, roll1, r)),
            np.where(at0, pitch0, np.where(at1, pitch1, p)),
            np.where(at0, wrap_pi(yaw0), np.where(at1, wrap_pi(yaw1), y)))


def euler_to_matrix(roll_rad: ArrayLike, pitch_rad: ArrayLike,
                    yaw_rad: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrices ``[..., 3, 3]`` (body to NED) of Z-Y-X Euler angles in radians."""
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.stack([
        np.stack([cp * cy, sr * sp * cy - cr * sy, cr * sp * cy + sr * sy], axis=-1),
        np.stack([cp * sy, sr * sp * sy + cr * cy, cr * sp * sy - sr * cy], axis=-1),
        np.stack([-sp, sr * cp, cr * cp], axis=-1)], axis=-2)
