"""Attitude conventions: the one place every frame conversion is checked."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe import rotations as rot


def test_euler_matrix_round_trip() -> None:
    rng = np.random.default_rng(1)
    r, p, y = rng.uniform(-3, 3, 50), rng.uniform(-1.5, 1.5, 50), rng.uniform(-3, 3, 50)
    m = rot.euler_to_matrix(r, p, y)
    assert np.allclose(m @ np.swapaxes(m, -1, -2), np.eye(3), atol=1e-12)
    r2, p2, y2 = rot.matrix_to_euler(m)
    assert np.allclose(rot.wrap_pi(r2 - r), 0, atol=1e-9)
    assert np.allclose(p2, p, atol=1e-9)
    assert np.allclose(rot.wrap_pi(y2 - y), 0, atol=1e-9)


def test_quaternion_matches_matrix() -> None:
    rng = np.random.default_rng(2)
    r, p, y = rng.uniform(-3, 3, 20), rng.uniform(-1.5, 1.5, 20), rng.uniform(-3, 3, 20)
    r2, p2, y2 = rot.quat_to_euler(rot.euler_to_quat(r, p, y))
    assert np.allclose(rot.euler_to_matrix(r2, p2, y2), rot.euler_to_matrix(r, p, y), atol=1e-9)


def test_yaw_turns_forward_axis_clockwise_from_north() -> None:
    east = rot.euler_to_matrix(0.0, 0.0, np.pi / 2) @ np.array([1.0, 0.0, 0.0])
    assert np.allclose(east, [0.0, 1.0, 0.0])


def test_slerp_takes_the_short_way_across_pi() -> None:
    q0 = rot.euler_to_quat(0.0, 0.0, np.radians(170.0))
    q1 = rot.euler_to_quat(0.0, 0.0, np.radians(-170.0))
    _, _, yaw = rot.quat_to_euler(rot.slerp(q0, q1, 0.5))
    assert abs(abs(np.degrees(yaw)) - 180.0) < 1e-6
    _, _, yaw = rot.quat_to_euler(rot.slerp(q0, q1, 0.25))
    assert np.degrees(yaw) == pytest.approx(175.0, abs=1e-6)


def test_nadir_camera_looks_down_with_image_top_forward() -> None:
    r_ned_cam = rot.camera_in_ned(0.0, -np.pi / 2, 0.0)
    assert np.allclose(r_ned_cam @ [0, 0, 1], [0, 0, 1], atol=1e-12)  # optical axis down
    assert np.allclose(r_ned_cam @ [0, -1, 0], [1, 0, 0], atol=1e-12)  # image up = north
    assert np.allclose(r_ned_cam @ [1, 0, 0], [0, 1, 0], atol=1e-12)  # image right = east


def test_level_camera_looks_forward() -> None:
    r_ned_cam = rot.camera_in_ned(0.0, 0.0, np.pi / 2)  # facing east
    assert np.allclose(r_ned_cam @ [0, 0, 1], [0, 1, 0], atol=1e-12)


def test_grid_from_ned_applies_convergence() -> None:
    # true north lies 1 degree east of grid north: a northward vector has grid azimuth +1 deg
    v = rot.grid_from_ned(np.radians(1.0)) @ [1.0, 0.0, 0.0]
    assert np.degrees(np.arctan2(v[0], v[1])) == pytest.approx(1.0)
    assert np.allclose(rot.grid_from_ned(0.0) @ [0, 0, 1], [0, 0, -1])


def test_quaternion_round_trip_gives_the_same_rotation() -> None:
    rng = np.random.default_rng(1)
    r, p, y = rng.uniform(-np.pi, np.pi, (3, 500))
    p = p / 2
    back = rot.quat_to_euler(rot.euler_to_quat(r, p, y))
    assert np.allclose(rot.euler_to_matrix(*back), rot.euler_to_matrix(r, p, y), atol=1e-12)


def test_quaternion_matches_rotation_matrix_formula() -> None:
    q = rot.euler_to_quat(0.3, -0.2, 2.5)
    w, x, y, z = q
    m = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                  [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                  [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    assert np.allclose(m, rot.euler_to_matrix(0.3, -0.2, 2.5), atol=1e-12)


@pytest.mark.parametrize("pitch", [-np.pi / 2, np.pi / 2])
def test_gimbal_lock_puts_the_rotation_into_yaw(pitch: float) -> None:
    r, p, y = rot.quat_to_euler(rot.euler_to_quat(0.0, pitch, 0.7))
    assert (float(r), float(p), float(y)) == pytest.approx((0.0, pitch, 0.7), abs=1e-9)
    r, p, y = rot.quat_to_euler(rot.euler_to_quat(0.2, pitch, 0.7))
    assert np.allclose(rot.euler_to_matrix(r, p, y), rot.euler_to_matrix(0.2, pitch, 0.7),
                       atol=1e-9)


def test_quat_to_euler_takes_unnormalised_quaternions() -> None:
    q = rot.euler_to_quat(0.1, 0.2, 0.3)
    assert np.allclose(rot.quat_to_euler(3.0 * q), (0.1, 0.2, 0.3), atol=1e-12)
    assert np.all(np.isfinite(rot.quat_to_euler(np.zeros(4))))


def test_slerp_is_constant_speed_and_hits_the_ends() -> None:
    q0, q1 = rot.euler_to_quat(0, 0, 0), rot.euler_to_quat(0, 0, 1.0)
    f = np.linspace(0, 1, 11)
    _, _, y = rot.quat_to_euler(rot.slerp(np.broadcast_to(q0, (11, 4)),
                                          np.broadcast_to(q1, (11, 4)), f))
    assert np.allclose(y, f * 1.0, atol=1e-12)


def test_slerp_euler_across_yaw_wrap_takes_the_short_way() -> None:
    a, b = np.radians(179.0), np.radians(-179.0)
    _, _, yaw = rot.slerp_euler(0.0, 0.0, a, 0.0, 0.0, b, 0.5)
    assert abs(float(rot.wrap_pi(yaw - np.pi))) < 1e-9
    _, _, yaw = rot.slerp_euler(0.0, 0.0, a, 0.0, 0.0, b, 0.25)
    assert np.degrees(float(yaw)) == pytest.approx(179.5, abs=1e-9)


def test_slerp_euler_keeps_identical_ends_untouched() -> None:
    r, p, y = rot.slerp_euler(0.1, -np.pi / 2, 0.5, 0.1, -np.pi / 2, 0.5, 0.3)
    assert (float(r), float(p), float(y)) == (0.1, -np.pi / 2, 0.5)


def test_slerp_euler_returns_the_ends_at_0_and_1() -> None:
    ends = (0.1, -np.pi / 2, 3.5), (0.0, -1.2, -0.4)
    r, p, y = rot.slerp_euler(*ends[0], *ends[1], np.array([0.0, 1.0]))
    assert np.array_equal(r, [0.1, 0.0]) and np.array_equal(p, [-np.pi / 2, -1.2])
    assert np.array_equal(y, rot.wrap_pi([3.5, -0.4]))
