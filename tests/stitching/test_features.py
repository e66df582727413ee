"""Contrast normalisation and features: working images, thermal stretch, keypoints
placed on the ground through the raw geometry, and no sub-pixel bias."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.features import FeatureConfig, extract_features
from dronepipe.stitching.featurestore import FeatureStore
from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.normalise import NormaliseConfig, frame_stats, work_image
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
