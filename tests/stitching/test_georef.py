"""Direct georeferencing: rays meet the ground where geometry says they must."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame, mgrs_of, utm_epsg_for
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import (
    FlatGround,
    GridGround,
    Mount,
    camera_pose,
    ground_to_pixels,
    pixels_to_ground,
)

KL = (7.7689, 49.4447)  # Kaiserslautern, lon/lat


def nadir_pose(yaw_deg: float = 0.0, alt: float = 100.0) -> Pose:
    return Pose(0.0, KL[1], KL[0], 300.0 + alt, alt, 0.0, 0.0, np.radians(yaw_deg),
                0.0, -np.pi / 2, np.radians(yaw_deg))


def test_utm_zone_and_mgrs() -> None:
    assert utm_epsg_for(*KL) == 32632
    assert utm_epsg_for(-79.8472, -2.0741) == 32717
    assert mgrs_of(KL[1], KL[0]).startswith("32U ")
    assert len(mgrs_of(KL[1], KL[0]).split()) == 4


def test_convergence_and_scale_in_zone_32() -> None:
    frame = UtmFrame.for_point(*KL)
    conv = np.degrees(frame.true_north_grid_azimuth(*KL))
    # west of the central meridian (9 E) in the north: true north points east of grid north
    assert conv == pytest.approx((9.0 - KL[0]) * np.sin(np.radians(KL[1])), abs=0.01)
    # k = k0 (1 + x^2 / 2R^2), x the distance from the central meridian
    x_km = (9.0 - KL[0]) * 111.32 * np.cos(np.radians(KL[1]))
    assert frame.scale_factor(*KL) == pytest.approx(0.9996 * (1 + (x_km / 6371) ** 2 / 2), abs=2e-6)


def test_nadir_centre_pixel_lands_under_the_camera() -> None:
    frame = UtmFrame.for_point(*KL)
    cam = CameraModel.from_fov("t", 640, 512, 40.0)
    cp = camera_pose(nadir_pose(), frame)
    p = pixels_to_ground(cp, cam, cam.cx, cam.cy, FlatGround(0.0))
    e, n = frame.to_grid(*KL)
    assert p == pytest.approx([float(e), float(n), 0.0], abs=1e-6)
    # image width covers 2 * 100 m * tan(20 deg) on the ground
    left = pixels_to_ground(cp, cam, -0.5, cam.cy, FlatGround(0.0))
    right = pixels_to_ground(cp, cam, 639.5, cam.cy, FlatGround(0.0))
    assert np.linalg.norm(right - left) == pytest.approx(200 * np.tan(np.radians(20)), rel=1e-9)


def test_image_top_points_along_the_heading_in_grid() -> None:
    frame = UtmFrame.for_point(*KL)
    cam = CameraModel.from_fov("t", 640, 512, 40.0)
    conv = frame.true_north_grid_azimuth(*KL)
    for yaw in (0.0, 90.0, -135.0):
        cp = camera_pose(nadir_pose(yaw), frame)
        top = pixels_to_ground(cp, cam, cam.cx, 0.0, FlatGround(0.0))
        d = top - cp.centre_m
        grid_az = np.arctan2(d[0], d[1])
        assert np.degrees(grid_az - conv) == pytest.approx(yaw, abs=1e-6) or \
            abs(abs(np.degrees(grid_az - conv) - yaw) - 360) < 1e-6


def test_round_trip_with_distortion_oblique_and_lever_arm() -> None:
    frame = UtmFrame.for_point(*KL)
    cam = CameraModel.from_fov("t", 640, 512, 40.0, dist=(-0.2, 0.05, 0.001, -0.001, 0.0))
    pose = Pose(0.0, KL[1], KL[0], 380.0, 80.0, 0.05, -0.03, 1.0, 0.02, np.radians(-60), 1.2)
    mount = Mount(lever_arm_body_m=(0.1, 0.0, 0.2), offset_gimbal_m=(0.0, 0.05, 0.0),
                  boresight_rad=(0.01, 0.0, -0.01))
    cp = camera_pose(pose, frame, mount)
    u, v = np.meshgrid(np.linspace(0, 639, 9), np.linspace(0, 511, 7))
    pts = pixels_to_ground(cp, cam, u, v, FlatGround(-5.0))
    assert np.allclose(pts[..., 2], -5.0)
    u2, v2 = ground_to_pixels(cp, cam, pts)
    assert np.max(np.hypot(u2 - u, v2 - v)) < 1e-6


def test_terrain_intersection_on_a_slope() -> None:
    frame = UtmFrame.for_point(*KL)
    cam = CameraModel.from_fov("t", 640, 512, 40.0)
    cp = camera_pose(nadir_pose(alt=100.0), frame)
    e0, n0 = cp.centre_m[0], cp.centre_m[1]
    cell = 1.0
    ee = e0 - 200 + cell * (np.arange(400) + 0.5)
    heights = np.tile(0.1 * (ee - e0), (400, 1))  # 10 % slope rising to the east
    ground = GridGround(heights, (e0 - 200, n0 + 200), cell)
    u, v = np.meshgrid(np.linspace(0, 639, 5), np.linspace(0, 511, 5))
    pts = pixels_to_ground(cp, cam, u, v, ground)
    assert np.allclose(pts[..., 2], 0.1 * (pts[..., 0] - e0), atol=1e-3)
    u2, v2 = ground_to_pixels(cp, cam, pts)
    assert np.max(np.hypot(u2 - u, v2 - v)) < 1e-3


def test_grid_ground_answers_for_more_points_than_remap_takes_in_one_row() -> None:
    """cv2.remap limits maps to 32767 rows; a whole image's rays are millions of points."""
    cell = 1.0
    ee = 500.0 + cell * (np.arange(200) + 0.5)
    heights = np.tile(0.1 * (ee - 500.0), (100, 1)) + 230.0    # 10 % slope rising east
    ground = GridGround(heights, (500.0, 1000.0), cell)
    rng = np.random.default_rng(0)
    e = rng.uniform(501.0, 699.0, 70_007)
    n = rng.uniform(901.0, 999.0, 70_007)
    h = ground.height_at(e.reshape(7, 10_001), n.reshape(7, 10_001))
    assert h.shape == (7, 10_001)
    np.testing.assert_allclose(h.ravel(), 230.0 + 0.1 * (e - 500.0), atol=2e-3)
    assert np.isnan(ground.height_at(400.0, 950.0))
