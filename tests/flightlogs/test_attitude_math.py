"""Euler angles, quaternions and slerp (dronepipe.flightlogs.rotations)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronepipe.flightlogs.rotations import (
    euler_to_matrix, euler_to_quat, quat_slerp, quat_to_euler, slerp_euler, wrap_pi,
)


def test_quaternion_round_trip_gives_the_same_rotation() -> None:
    rng = np.random.default_rng(1)
    r, p, y = rng.uniform(-math.pi, math.pi, (3, 500))
    p = p / 2
    back = quat_to_euler(euler_to_quat(r, p, y))
    assert np.allclose(euler_to_matrix(*back), euler_to_matrix(r, p, y), atol=1e-12)


def test_quaternion_matches_rotation_matrix() -> None:
    q = euler_to_quat(0.3, -0.2, 2.5)
    w, x, y, z = q
    m = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                  [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                  [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    assert np.allclose(m, euler_to_matrix(0.3, -0.2, 2.5), atol=1e-12)


@pytest.mark.parametrize("pitch", [-math.pi / 2, math.pi / 2])
def test_gimbal_lock_puts_the_rotation_into_yaw(pitch: float) -> None:
    r, p, y = quat_to_euler(euler_to_quat(0.0, pitch, 0.7))
    assert (float(r), float(p), float(y)) == pytest.approx((0.0, pitch, 0.7), abs=1e-9)
    r, p, y = quat_to_euler(euler_to_quat(0.2, pitch, 0.7))
    assert np.allclose(euler_to_matrix(r, p, y), euler_to_matrix(0.2, pitch, 0.7), atol=1e-9)


def test_slerp_across_yaw_wrap_takes_the_short_way() -> None:
    a, b = math.radians(179.0), math.radians(-179.0)
    _, _, yaw = slerp_euler(0.0, 0.0, a, 0.0, 0.0, b, 0.5)
    assert abs(float(wrap_pi(yaw - math.pi))) < 1e-9
    _, _, yaw = slerp_euler(0.0, 0.0, a, 0.0, 0.0, b, 0.25)
    assert math.degrees(float(yaw)) == pytest.approx(179.5, abs=1e-9)


def test_slerp_is_constant_speed_and_hits_the_ends() -> None:
    q0, q1 = euler_to_quat(0, 0, 0), euler_to_quat(0, 0, 1.0)
    f = np.linspace(0, 1, 11)
    _, _, y = quat_to_euler(quat_slerp(np.broadcast_to(q0, (11, 4)), np.broadcast_to(q1, (11, 4)), f))
    assert np.allclose(y, f * 1.0, atol=1e-12)


def test_slerp_euler_keeps_identical_ends_untouched() -> None:
    r, p, y = slerp_euler(0.1, -math.pi / 2, 0.5, 0.1, -math.pi / 2, 0.5, 0.3)
    assert (float(r), float(p), float(y)) == (0.1, -math.pi / 2, 0.5)
