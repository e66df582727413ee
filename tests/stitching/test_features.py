"""Contrast normalisation and features: working images, thermal stretch, keypoints
placed on the ground through the raw geometry, and no sub-pixel bias."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.features import (
    RGB_FEATURES,
    THERMAL_FEATURES,
    FeatureConfig,
    KindFeatures,
    extract_features,
    work_gsd_m,
)
from dronepipe.stitching.featurestore import FeatureStore
from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.normalise import NormaliseConfig, frame_stats, work_image
from dronepipe.stitching.orb import level_sizes, level_to_base, orb_positions
from dronepipe.stitching.register import RegistrationConfig
from tests.stitching import regsynth
from tests.stitching.synthetic import FRAME, pose_at, render


@pytest.fixture(scope="module")
def ground() -> regsynth.Texture:
    return regsynth.texture(regsynth.extent_for(1, 1, (0.0, 0.0), 80.0), seed=11)


def test_rgb_is_downscaled_to_the_working_size_and_maps_back() -> None:
    img = np.zeros((1800, 2400, 3), np.uint8)
    w = work_image(img, "rgb", NormaliseConfig(max_side_px=1200))
    assert w.gray.shape == (900, 1200) and w.scale == pytest.approx(2.0)
    u, v = w.to_full_px(np.array([0.0, 1199.0]), np.array([0.0, 899.0]))
    assert (u.tolist(), v.tolist()) == ([0.5, 2398.5], [0.5, 1798.5])  # pixel centres


def test_thermal_stretch_uses_the_frame_own_range_and_masks_unread_pixels() -> None:
    rng = np.random.default_rng(0)
    t = (20.0 + 0.3 * rng.standard_normal((256, 320))).astype(np.float32)  # 0.3 K of contrast
    t[0:10, 0:10] = np.nan
    t[100, 100] = 400.0  # one hot pixel does not squash the rest
    w = work_image(t, "thermal")
    body = w.gray[20:, 20:].astype(float)
    assert body.std() > 40  # spread over the 8-bit range
    assert (w.mask[0:8, 0:8] == 0).all() and (w.mask[50:200, 50:200] == 255).all()


def thermal_scene(shape: tuple[int, int] = (512, 640), seed: int = 0) -> np.ndarray:
    """A thermal frame: smooth ground 12-22 C, sensor noise, a few hot roofs, unread corner."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    t = 17.0 + 5.0 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + 0.2 * rng.standard_normal(shape)
    for _ in range(12):
        r, c = rng.integers(0, shape[0] - 30), rng.integers(0, shape[1] - 30)
        t[r:r + 25, c:c + 25] = rng.uniform(30.0, 60.0)
    t[:12, :16] = np.nan
    return t.astype(np.float32)


def test_sampled_frame_stats_equal_np_percentile_within_a_percent_of_the_span() -> None:
    """The stretch's statistics from a 40,000-pixel strided sample: within 1 % of the
    1..99 % span of the whole frame's ``np.percentile`` (and exactly it, sampling off)."""
    t = thermal_scene()
    read = t[np.isfinite(t)]
    lo, hi, med = np.percentile(read, (1.0, 99.0, 50.0))
    fast = frame_stats(t, (1.0, 99.0), 40_000)
    np.testing.assert_allclose(fast, (lo, hi, med), atol=0.01 * (hi - lo))
    np.testing.assert_allclose(frame_stats(t, (1.0, 99.0), 0), (lo, hi, med), rtol=1e-12, atol=1e-9)
    small = t[100:180, 200:300]  # under the sample size: every pixel, exact
    np.testing.assert_allclose(frame_stats(small, (1.0, 99.0), 40_000),
                               np.percentile(small, (1.0, 99.0, 50.0)), rtol=1e-12, atol=1e-9)


def test_sampled_stretch_matches_the_full_frame_stretch() -> None:
    t = thermal_scene()
    fast = work_image(t, "thermal", NormaliseConfig(max_side_px=640))
    full = work_image(t, "thermal", NormaliseConfig(max_side_px=640, stats_sample_px=0))
    assert (fast.mask == full.mask).all()
    assert np.abs(fast.gray.astype(int) - full.gray).mean() < 2.0  # grey levels, of 255


def test_keypoints_are_placed_on_the_ground_through_the_raw_geometry(ground: regsynth.Texture) -> None:
    cam = CameraModel.from_fov("t", 480, 360, 60.0, (-0.1, 0.02, 0.0, 0.0, 0.0))
    gf = geoframe("a", pose_at(0, 0, alt=60.0, yaw_deg=30.0), cam, FRAME, kind="rgb")
    img = regsynth.rgb_of(render(gf, ground))
    corrected = gf.with_correction(5.0, -3.0, 0.1, 1.01)
    f = extract_features(corrected, img)
    assert len(f) > 300 and f.descriptors.dtype == np.uint8
    raw = gf.pixels_to_map(f.uv_px[:, 0], f.uv_px[:, 1])[:, :2]
    np.testing.assert_allclose(f.raw_m, raw, atol=1e-6)  # the correction is not in raw_m
    assert f.work_gsd_m == pytest.approx(gf.gsd_m)


def test_sift_keypoints_have_no_half_pixel_bias(ground: regsynth.Texture) -> None:
    """An image and the same image turned by 180 degrees give the same keypoints: a bias
    would show as frames flown in opposite directions disagreeing by twice its size."""
    cam = CameraModel.from_fov("t", 480, 360, 60.0)
    gf = geoframe("a", pose_at(0, 0, alt=60.0), cam, FRAME, kind="rgb")
    img = regsynth.rgb_of(render(gf, ground))
    fa = extract_features(gf, img)
    fb = extract_features(gf, np.ascontiguousarray(img[::-1, ::-1]))
    m = cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(fa.descriptors.astype(np.float32),
                                                           fb.descriptors.astype(np.float32))
    pa = fa.uv_px[[x.queryIdx for x in m]]
    pb = fb.uv_px[[x.trainIdx for x in m]]
    s = pa + pb - [cam.width - 1, cam.height - 1]  # 2 x bias for true matches
    s = s[np.hypot(s[:, 0], s[:, 1]) < 2.0]
    assert len(s) > 200
    assert np.abs(np.median(s, axis=0) / 2).max() < 0.03  # pixels


def test_orb_works_too(ground: regsynth.Texture) -> None:
    cam = CameraModel.from_fov("t", 480, 360, 60.0)
    gf = geoframe("a", pose_at(0, 0, alt=60.0), cam, FRAME, kind="rgb")
    f = extract_features(gf, regsynth.rgb_of(render(gf, ground)), FeatureConfig(detector="orb"))
    assert len(f) > 300 and f.descriptors.shape[1] == 32 and f.norm == cv2.NORM_HAMMING


def test_orb_pyramid_levels_map_to_pixel_centres() -> None:
    sizes = level_sizes(480, 360)
    assert sizes[:3] == [(480, 360), (400, 300), (333, 250)]
    # the centre of level 1 is the centre of level 0; its first pixel centre is 0.1 px in
    np.testing.assert_allclose(level_to_base(np.array([[199.5, 149.5], [0.0, 0.0]]), 1, sizes),
                               [[239.5, 179.5], [0.1, 0.1]])


def orb_pairs(ground: regsynth.Texture, subpixel: bool, change) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Positions of cross-checked ORB matches (M, 4): (u, v) in an image and in ``change(image)``."""
    cam = CameraModel.from_fov("t", 480, 360, 60.0)
    gf = geoframe("a", pose_at(0, 0, alt=60.0), cam, FRAME, kind="rgb")
    img = regsynth.rgb_of(render(gf, ground))
    cfg = FeatureConfig(detector="orb", orb_subpixel=subpixel)
    fa, fb = extract_features(gf, img, cfg), extract_features(gf, change(img), cfg)
    m = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(fa.descriptors, fb.descriptors)
    return np.hstack([fa.uv_px[[x.queryIdx for x in m]], fb.uv_px[[x.trainIdx for x in m]]])


@pytest.mark.parametrize("subpixel", [False, True])
def test_orb_keypoints_of_a_shifted_image_shift_by_the_same_full_res_pixels(
        ground: regsynth.Texture, subpixel: bool) -> None:
    dx, dy = 7, 5

    def shifted(img: np.ndarray) -> np.ndarray:
        out = np.zeros_like(img)
        out[dy:, dx:] = img[:-dy, :-dx]
        return out

    p = orb_pairs(ground, subpixel, shifted)
    r = p[:, 2:] - p[:, :2] - [dx, dy]
    r = r[np.hypot(r[:, 0], r[:, 1]) < 3.0]  # true matches
    assert len(r) > 500
    assert np.abs(np.median(r, axis=0)).max() < 0.05  # pixels, every pyramid level together


@pytest.mark.parametrize("subpixel", [False, True])
def test_orb_keypoints_have_no_pyramid_bias(ground: regsynth.Texture, subpixel: bool) -> None:
    """As for SIFT: an image turned by 180 degrees gives the same keypoints. OpenCV's own
    positions (level position x 1.2^level) put them 0.17 px up-left in the median."""
    p = orb_pairs(ground, subpixel, lambda img: np.ascontiguousarray(img[::-1, ::-1]))
    s = p[:, :2] + p[:, 2:] - [479, 359]  # 2 x bias for true matches
    s = s[np.hypot(s[:, 0], s[:, 1]) < 2.0]
    assert len(s) > 500
    assert np.abs(np.median(s, axis=0) / 2).max() < 0.03


def test_orb_positions_without_keypoints_are_empty() -> None:
    assert orb_positions([], np.zeros((10, 10), np.uint8)).shape == (0, 2)


def thermal_frame(ground: regsynth.Texture):  # type: ignore[no-untyped-def]
    cam = CameraModel.from_fov("th", 640, 512, 45.0)
    return geoframe("t", pose_at(0, 0, alt=60.0), cam, FRAME, kind="thermal")


def test_each_frame_kind_picks_its_own_feature_settings(ground: regsynth.Texture) -> None:
    assert RegistrationConfig().features == KindFeatures(THERMAL_FEATURES, RGB_FEATURES)
    th = thermal_frame(ground)
    rgb_cam = CameraModel.from_fov("rgb", 2000, 1500, 70.0)
    rgb = geoframe("r", pose_at(0, 0, alt=60.0), rgb_cam, FRAME, kind="rgb")
    kinds = KindFeatures()
    assert kinds.of("thermal") is kinds.thermal and kinds.of("rgb") is kinds.rgb
    assert work_gsd_m(th, kinds) == pytest.approx(2.0 * th.gsd_m)  # 640 px on a 320 px working image
    assert work_gsd_m(rgb, kinds) == pytest.approx(2.0 * rgb.gsd_m)  # 2000 px on 1000 px
    few = KindFeatures(thermal=FeatureConfig(max_features=60), rgb=FeatureConfig(max_features=90))
    t_img = render(th, ground) * (30.0 / 255.0) + 10.0  # degrees C
    assert len(extract_features(th, t_img, few)) <= 60
    cam = CameraModel.from_fov("t", 480, 360, 60.0)
    gf = geoframe("a", pose_at(0, 0, alt=60.0), cam, FRAME, kind="rgb")
    assert 60 < len(extract_features(gf, regsynth.rgb_of(render(gf, ground)), few)) <= 90
    store = FeatureStore(few)
    assert len(store.extract(th, t_img)) <= 60


def test_textured_thermal_frame_stays_at_half_size(ground: regsynth.Texture) -> None:
    th = thermal_frame(ground)
    f = extract_features(th, render(th, ground) * (30.0 / 255.0) + 10.0)
    assert len(f) >= 0.5 * THERMAL_FEATURES.max_features
    assert f.work_gsd_m == pytest.approx(2.0 * th.gsd_m)


def test_low_texture_thermal_frame_falls_back_to_full_size(ground: regsynth.Texture) -> None:
    """A field with a gentle gradient and a few warm patches: under half of max_features on
    the 320 px working image, so the full-size one is used, and finds more."""
    th = thermal_frame(ground)
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:512, 0:640]
    t = (15.0 + 3.0 * xx / 640 + np.sin(yy / 90.0)).astype(np.float32)
    t += 0.01 * rng.standard_normal(t.shape).astype(np.float32)
    for _ in range(40):
        r, c = rng.integers(20, 480), rng.integers(20, 600)
        t[r:r + rng.integers(3, 9), c:c + rng.integers(3, 9)] = rng.uniform(20.0, 25.0)
    t = cv2.GaussianBlur(t, (0, 0), 0.7)
    half = extract_features(th, t, replace(THERMAL_FEATURES, fallback_side_px=0))
    got = extract_features(th, t, THERMAL_FEATURES)
    assert len(half) < 0.5 * THERMAL_FEATURES.max_features
    assert half.work_gsd_m == pytest.approx(2.0 * th.gsd_m)
    assert len(got) > len(half) and got.work_gsd_m == pytest.approx(th.gsd_m)


def test_feature_store_keeps_the_most_recent_and_reextracts_through_the_loader(
        ground: regsynth.Texture) -> None:
    cam = CameraModel.from_fov("t", 240, 180, 60.0)
    gfs = [geoframe(f"f{k}", pose_at(10.0 * k, 0, alt=60.0), cam, FRAME, kind="rgb") for k in range(3)]
    pixels = {g.frame_id: regsynth.rgb_of(render(g, ground)) for g in gfs}
    store = FeatureStore(max_frames=2)
    for g in gfs:
        store.extract(g, pixels[g.frame_id])
    assert len(store) == 2 and "f0" not in store and store.get(gfs[0]) is None
    store.loader = pixels.__getitem__
    assert store.get(gfs[0]) is not None and "f0" in store and "f1" not in store
    assert store.nbytes > 0
