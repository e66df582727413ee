"""GeoFrame: footprint, GSD, the pixel <-> map mapping, and the per-frame correction."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from dronepipe.errors import GeoreferenceError
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import geoframe, polygon_centroid
from dronepipe.stitching.georef import FlatGround, GridGround
from tests.stitching.synthetic import FRAME, origin_en, pose_at, small_camera

DIST = (-0.2, 0.05, 0.001, -0.001, 0.0)


def test_nadir_footprint_and_gsd() -> None:
    cam = CameraModel.from_fov("t", 640, 512, 40.0)
    gf = geoframe("f1", pose_at(0, 0, alt=100.0), cam, FRAME)
    e0, n0 = origin_en()
    half_w = 100 * np.tan(np.radians(20))  # half the ground width
    fp = gf.footprint_m  # 16 points per side, clockwise from the top-left corner
    assert len(fp) == 64
    assert np.linalg.norm(fp[16] - fp[0]) == pytest.approx(2 * half_w, rel=1e-6)
    assert np.linalg.norm(fp[48] - fp[0]) == pytest.approx(2 * half_w * 512 / 640, rel=1e-6)
    # image top points to true north, turned by the meridian convergence in the grid
    conv = FRAME.true_north_grid_azimuth(pose_at(0, 0).lon_deg, pose_at(0, 0).lat_deg)
    left_edge = fp[0] - fp[48]
    assert np.arctan2(left_edge[0], left_edge[1]) == pytest.approx(conv, abs=1e-6)
    assert gf.gsd_m == pytest.approx(2 * half_w / 640, rel=1e-4)
    assert gf.correction_centre_m == pytest.approx((e0, n0), abs=1e-3)
    assert gf.kind == "thermal" and gf.radiometric and gf.epsg == FRAME.epsg
    assert gf.t_utc_s == 1.7e9


@pytest.mark.parametrize("pitch", [-90.0, -55.0])
def test_map_and_pixels_round_trip_with_distortion(pitch: float) -> None:
    gf = geoframe("f", pose_at(5, -3, 80.0, yaw_deg=33, pitch_deg=pitch, roll_deg=2.0),
                  small_camera(DIST), FRAME, ground=FlatGround(-4.0))
    u, v = np.meshgrid(np.linspace(0, 159, 7), np.linspace(0, 127, 6))
    p = gf.pixels_to_map(u, v)
    assert np.allclose(p[..., 2], -4.0)
    u2, v2, cos_view = gf.map_to_pixels(p[..., 0], p[..., 1])
    assert np.max(np.hypot(u2 - u, v2 - v)) < 1e-6
    assert np.all((cos_view > 0) & (cos_view <= 1))


def test_correction_moves_the_frame_on_the_map() -> None:
    gf = geoframe("f", pose_at(0, 0, 100.0, yaw_deg=10), small_camera(), FRAME)
    moved = gf.with_correction(dx_m=3.0, dy_m=-2.0, dtheta_rad=0.01, scale=1.001)
    assert moved.correction.centre_m == gf.correction_centre_m
    c = np.asarray(gf.correction_centre_m)
    # the footprint centroid moves by exactly (dx, dy)
    assert np.asarray(polygon_centroid(moved.footprint_m)) - c == pytest.approx([3.0, -2.0], abs=1e-6)
    # a pixel lands moved, and the moved point maps back to the same pixel
    p0 = gf.pixels_to_map(30.0, 100.0)
    p1 = moved.pixels_to_map(30.0, 100.0)
    assert np.hypot(*(p1[:2] - p0[:2])) > 2.0
    u, v, _ = moved.map_to_pixels(p1[0], p1[1])
    assert (float(u), float(v)) == pytest.approx((30.0, 100.0), abs=1e-6)
    # replacing, not stacking
    again = moved.with_correction(dx_m=3.0, dy_m=-2.0, dtheta_rad=0.01, scale=1.001)
    assert again.correction == moved.correction


def test_points_outside_the_view_are_not_mapped_even_where_distortion_folds() -> None:
    strong = (-0.45, 0.0, 0.0, 0.0, 0.0)  # folds back beyond r = 0.86
    gf = geoframe("f", pose_at(0, 0, 50.0), small_camera(strong), FRAME)
    e0, n0 = origin_en()
    far = np.array([[e0 + 80.0, n0, 0.0]])  # x = 1.6 in normalised terms, far outside the view
    u_fold, v_fold = gf.camera.project(gf.pose.to_camera(far))
    assert 0 <= u_fold[0] < 160 and 0 <= v_fold[0] < 128  # the polynomial folds it into the image
    u, _, c = gf.map_to_pixels(np.array([e0, e0 + 80.0, e0 + 4000.0]), np.array([n0, n0, n0]))
    assert np.isfinite(u[0]) and np.isnan(u[1:]).all() and np.isnan(c[1:]).all()


def test_oblique_footprint_is_bounded_by_the_off_nadir_limit() -> None:
    # looking 10 degrees below the horizon: the image top sees the sky
    gf = geoframe("f", pose_at(0, 0, 50.0, pitch_deg=-10.0), small_camera(), FRAME,
                  max_off_nadir_deg=70.0)
    fp = gf.footprint_m - np.asarray(origin_en())
    assert np.isfinite(fp).all()
    assert np.hypot(fp[:, 0], fp[:, 1]).max() == pytest.approx(50.0 * np.tan(np.radians(70)), rel=1e-6)
    with pytest.raises(GeoreferenceError, match="centre does not see the ground"):
        geoframe("g", pose_at(0, 0, 50.0, pitch_deg=10.0), small_camera(), FRAME)
    with pytest.raises(GeoreferenceError, match="not above the ground"):
        geoframe("h", pose_at(0, 0, 50.0), small_camera(), FRAME, ground=FlatGround(60.0))


def test_grid_ground_is_cropped_to_the_footprint_and_frames_pickle_small() -> None:
    e0, n0 = origin_en()
    cell = 1.0
    ee = e0 - 1000 + cell * (np.arange(2000) + 0.5)
    heights = np.tile(0.05 * (ee - e0), (2000, 1))  # 5 % slope up to the east
    ground = GridGround(heights, (e0 - 1000, n0 + 1000), cell)
    pose = pose_at(0, 0, 100.0)
    gf = geoframe("f", pose, small_camera(DIST), FRAME, ground=ground, height_ref="takeoff")
    assert gf.ground.heights_m.size < 200 * 200
    assert len(pickle.dumps(gf)) < 400_000
    u, v = np.meshgrid(np.linspace(0, 159, 5), np.linspace(0, 127, 5))
    p = gf.pixels_to_map(u, v)
    assert np.allclose(p[..., 2], 0.05 * (p[..., 0] - e0), atol=1e-3)
    u2, v2, _ = gf.map_to_pixels(p[..., 0], p[..., 1])
    assert np.max(np.hypot(u2 - u, v2 - v)) < 1e-3


def test_polygon_centroid_of_a_square_and_a_triangle() -> None:
    assert polygon_centroid([[0, 0], [2, 0], [2, 2], [0, 2]]) == pytest.approx((1.0, 1.0))
    assert polygon_centroid([[0, 0], [3, 0], [0, 3]]) == pytest.approx((1.0, 1.0))
