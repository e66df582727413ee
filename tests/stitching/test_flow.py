"""Thermal tie points by guided optical flow: ties that the truth confirms on a block
flown in both directions and on frames rendered from real thermal scenes, refusal on
sensor noise, the phase correlation's shift, the window correlation, and the switch
back to features where a heading is unknown."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import tifffile

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.flow import FlowConfig, flow_pair, frame_image, phase_shift, window_ncc
from dronepipe.stitching.features import extract_features
from dronepipe.stitching.match import Gate, MatchConfig
from dronepipe.stitching.pairs import Pair, select_pairs
from dronepipe.stitching.priors import PoseUncertainty
from dronepipe.stitching.register import RegistrationConfig, block_pairs, flow_for, pair_gate
from dronepipe.stitching.tiepoints import pair_result
from dronepipe.thermal.registry import decode_thermal
from tests.stitching import regsynth
from tests.stitching.synthetic import FRAME

THERMAL = CameraModel.from_fov("thermal-640", 640, 512, 45.0)
ROWS, COLS, STEP, ALT = 2, 2, (30.0, 22.0), 60.0
CONFIG = RegistrationConfig(scheduler="synchronous")


@pytest.fixture(scope="module")
def shots() -> list[regsynth.Shot]:
    return regsynth.block_shots(ROWS, COLS, STEP, ALT, seed=7, pos_m=2.0, yaw_deg=1.0)


def _scene(shots: list[regsynth.Shot], ground: regsynth.Texture) -> regsynth.Scene:
    return regsynth.scene(shots, THERMAL, ground, kind="thermal", noise=0.05, suffix="_t")


def _pairs(sc: regsynth.Scene) -> list[tuple[int, int, Gate]]:
    gfs = sc.reported
    unc = PoseUncertainty()
    return [(p.i, p.j, pair_gate(gfs[p.i], gfs[p.j], unc, unc, CONFIG))
            for p in select_pairs([g.footprint_m for g in gfs], CONFIG.pairs)]


@pytest.fixture(scope="module")
def textured(shots) -> regsynth.Scene:  # type: ignore[no-untyped-def]
    return _scene(shots, regsynth.smooth_field(regsynth.extent_for(ROWS, COLS, STEP, 60.0), detail=0.3))


@pytest.mark.parametrize(("config", "p90_px"), [(FlowConfig(), 0.5), (FlowConfig(fb_max_px=0.0), 1.0)],
                         ids=["there-and-back", "one-way"])  # the way back drops the stray ones
def test_flow_ties_are_the_same_ground_point_in_both_frames(shots, textured, config, p90_px) -> None:  # type: ignore[no-untyped-def]
    sc = textured
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    assert images[0].scale == pytest.approx(2.0) and len(images[0]) > 100
    pairs = _pairs(sc)
    assert any(abs(shots[i].true.yaw_rad - shots[j].true.yaw_rad) > 3.0
               for i, j, _ in pairs)  # lines flown in opposite directions are tied too
    for i, j, gate in pairs:
        ft = flow_pair(sc.reported[i], sc.reported[j], images[i], images[j], gate, MatchConfig(), config)
        assert ft.match.accepted, ft.match.reason
        assert len(ft.match.idx_a) >= 30
        ua, ub = ft.uv_a[ft.match.idx_a], ft.uv_b[ft.match.idx_b]
        err_px = _truth_px(sc, i, j, ua, ub)
        assert np.median(err_px) < 0.2 and np.percentile(err_px, 90) < p90_px
        # the raw ground points are the frames' own uncorrected geometry at those pixels
        np.testing.assert_allclose(ft.raw_b[ft.match.idx_b],
                                   sc.reported[j].pixels_to_map(ub[:, 0], ub[:, 1])[:, :2],
                                   atol=1e-6)


def test_sensor_noise_alone_ties_nothing(shots) -> None:  # type: ignore[no-untyped-def]
    ext = regsynth.extent_for(ROWS, COLS, STEP, 60.0)
    flat = regsynth.smooth_field(ext)
    flat = replace(flat, image=np.full_like(flat.image, 18.0))
    sc = _scene(shots, flat)
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    for i, j, gate in _pairs(sc):
        ft = flow_pair(sc.reported[i], sc.reported[j], images[i], images[j], gate)
        assert not ft.match.accepted and len(ft.match.idx_a) == 0
        assert ft.match.reason in ("too few corners tracked", "too few RANSAC inliers")


def test_phase_shift_finds_a_known_shift() -> None:
    rng = np.random.default_rng(4)
    img = cv2.GaussianBlur(rng.integers(0, 255, (300, 340)).astype(np.float32), (0, 0), 2.0)
    a = np.clip(img[20:276, 10:330], 0, 255).astype(np.uint8)
    b = np.clip(img[20 - 9:276 - 9, 10 + 5:330 + 5], 0, 255).astype(np.uint8)  # b(x) = a(x + (5, -9))
    both = np.full(a.shape, 255, np.uint8)
    np.testing.assert_allclose(phase_shift(a, b, both, 0.05), [-5.0, 9.0], atol=0.7)
    # too small an overlap: no shift (the flow then starts from the placement)
    small = np.zeros_like(both)
    small[:40, :40] = 255
    assert phase_shift(a, b, small, 0.05) is None
    assert phase_shift(a, np.full_like(b, 7), both, 0.05) is None  # no peak in a flat image


def test_window_ncc_tells_texture_from_noise() -> None:
    rng = np.random.default_rng(5)
    img = cv2.GaussianBlur(rng.integers(0, 255, (120, 140)).astype(np.float32), (0, 0), 1.5)
    a = np.clip(img, 0, 255).astype(np.uint8)
    pts = rng.uniform(20, 100, (50, 2))
    same = window_ncc(a, a, pts, pts, 15)
    np.testing.assert_allclose(same, 1.0, atol=1e-9)
    shifted = np.roll(a, (3, -2), axis=(0, 1))  # shifted(x, y) = a(x + 2, y - 3)
    moved = window_ncc(a, shifted, pts, pts + [-2.0, 3.0], 15)
    np.testing.assert_allclose(moved, 1.0, atol=1e-9)
    noise = rng.integers(0, 255, a.shape).astype(np.uint8)
    assert np.abs(window_ncc(a, noise, pts, pts, 15)).mean() < 0.2
    assert window_ncc(a, a, np.zeros((0, 2)), np.zeros((0, 2)), 15).shape == (0,)


def test_frame_image_masks_unread_pixels_and_refuses_an_empty_frame(shots) -> None:  # type: ignore[no-untyped-def]
    ext = regsynth.extent_for(ROWS, COLS, STEP, 60.0)
    sc = _scene(shots[:1], regsynth.smooth_field(ext, detail=0.3))
    gf = sc.reported[0]
    t = sc.loader(gf.frame_id).copy()
    t[:, :200] = np.nan
    im = frame_image(gf, t)
    assert np.isfinite(im.temps).all() and im.valid[:, :100].max() == 0
    assert len(im) > 50 and im.corners[:, 0].min() >= 100  # none in the unread part
    assert np.isfinite(im.corners_raw).all() and im.lattice_raw.shape == (FlowConfig().grid ** 2, 2)
    with pytest.raises(ValueError, match="no readable pixel"):
        frame_image(gf, np.full_like(t, np.nan))
    with pytest.raises(ValueError, match="one band"):
        frame_image(gf, np.zeros((4, 4, 3), np.float32))


def test_flow_only_where_every_heading_is_known() -> None:
    guided = Gate(5.0, True, 0.1, 0.05)
    unguided = Gate(50.0, False, np.pi, 0.05)
    assert flow_for(CONFIG, [guided, guided]) == CONFIG.flow is not None
    assert flow_for(CONFIG, [guided, unguided]) is None
    assert flow_for(replace(CONFIG, flow=None), [guided]) is None
    assert MatchConfig().min_inliers <= FlowConfig().tracked


REAL_FRAMES = {  # real thermal scenes as the ground: (file, what its values are)
    "flir-duo-pro-r-low-contrast": "thermal/flir_fff/frame_000000.fff",
    "dji-h20t-road-nadir": "thermal/dji_sdk_groundtruth/test.tiff",
}


def _real_ground(realdata, name: str) -> regsynth.Texture:  # type: ignore[no-untyped-def]
    path = realdata / REAL_FRAMES[name]
    if not path.exists():
        pytest.skip(f"{path.name} is absent")
    if path.suffix == ".tiff":  # DJI Thermal SDK's temperature map: degrees C x 10
        temps = tifffile.imread(path).astype(np.float32) / 10.0
    else:
        temps = np.asarray(decode_thermal(path).celsius, np.float32)
    ext = regsynth.extent_for(ROWS, COLS, REAL_STEP, 0.0)
    centre = (0.5 * (ext[0] + ext[2]), 0.5 * (ext[1] + ext[3]))
    cell = 0.1  # about the frames' ground sample distance below
    h, w = temps.shape
    return regsynth.Texture(temps, (centre[0] - 0.5 * w * cell, centre[1] + 0.5 * h * cell), cell)


REAL_STEP = (12.0, 9.0)


@pytest.mark.parametrize("name", sorted(REAL_FRAMES))
def test_flow_ties_frames_of_real_thermal_scenes(realdata, name) -> None:  # type: ignore[no-untyped-def]
    """Frames rendered from a real thermal frame (its texture, its own sensor noise, 0.05 K
    more in each frame) at 0.05 m a pixel, reported 2 m and 1 deg off (up to 6 m between
    two frames: 60 working pixels): every pair ties, the ties are the same ground point
    to a quarter of a pixel, and closer than SIFT's ties of the same pairs over the block
    (on the low-contrast FLIR scene, median 0.14-0.22 px a pair against 0.62-0.83 px)."""
    ground = _real_ground(realdata, name)
    shots = regsynth.block_shots(ROWS, COLS, REAL_STEP, 40.0, seed=11, pos_m=2.0, yaw_deg=1.0)
    sc = _scene(shots, ground)
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    sift = [extract_features(g, sc.loader(g.frame_id)) for g in sc.reported]
    flow_err, sift_err = [], []
    for i, j, gate in _pairs(sc):
        ga, gb = sc.reported[i], sc.reported[j]
        ft = flow_pair(ga, gb, images[i], images[j], gate)
        assert ft.match.accepted, ft.match.reason
        err_px = _truth_px(sc, i, j, ft.uv_a[ft.match.idx_a], ft.uv_b[ft.match.idx_b])
        assert len(err_px) >= 20 and np.median(err_px) < 0.25 and np.percentile(err_px, 90) < 0.5
        by_sift = pair_result(Pair(i, j, 0.5), sift[i], sift[j], ga.correction, gb.correction, gate,
                              MatchConfig())
        flow_err.append(err_px)
        sift_err.append(_truth_px(sc, i, j, by_sift.uv_a, by_sift.uv_b))
    f, s = np.concatenate(flow_err), np.concatenate(sift_err)
    assert np.median(f) < np.median(s) and np.percentile(f, 90) < np.percentile(s, 90)


def _truth_px(sc: regsynth.Scene, i: int, j: int, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """How far apart (full pixels) the truth puts the two frames' pixels of each tie."""
    ta = sc.truth[i].pixels_to_map(ua[:, 0], ua[:, 1])[:, :2]
    tb = sc.truth[j].pixels_to_map(ub[:, 0], ub[:, 1])[:, :2]
    return np.hypot(*(ta - tb).T) / sc.truth[i].gsd_m


def test_a_thermal_block_tied_by_flow_keeps_fewer_partners_a_frame() -> None:
    shots = regsynth.block_shots(3, 4, (15.0, 8.0), 60.0, seed=3, pos_m=1.0, yaw_deg=0.5)
    gfs = [geoframe(s.frame_id, s.reported, THERMAL, FRAME, kind="thermal") for s in shots]
    unc = [PoseUncertainty()] * len(gfs)
    pairs, gates, flow = block_pairs(gfs, unc, CONFIG)
    assert flow == CONFIG.flow and len(gates) == len(pairs)
    every8 = select_pairs([g.footprint_m for g in gfs], CONFIG.pairs)
    every6 = select_pairs([g.footprint_m for g in gfs], replace(CONFIG.pairs, max_per_frame=6))
    assert pairs == every6 and len(every6) < len(every8)
    rgb = [replace(g, kind="rgb") for g in gfs]
    pairs, _, flow = block_pairs(rgb, unc, CONFIG)
    assert flow is None and pairs == every8  # RGB ties by features, with all 8 partners
    unknown = [replace(u, sigma_rot_deg=180.0) for u in unc]  # headings from nothing
    pairs, _, flow = block_pairs(gfs, unknown, CONFIG)
    assert flow is None and pairs == every8


def test_phase_shift_on_odd_sized_images() -> None:
    rng = np.random.default_rng(6)
    img = cv2.GaussianBlur(rng.integers(0, 255, (320, 360)).astype(np.float32), (0, 0), 2.0)
    a = np.clip(img[20:275, 10:331], 0, 255).astype(np.uint8)  # 255 x 321
    b = np.clip(img[20 + 6:275 + 6, 10 - 4:331 - 4], 0, 255).astype(np.uint8)  # b(x) = a(x + (-4, 6))
    np.testing.assert_allclose(phase_shift(a, b, np.full(a.shape, 255, np.uint8), 0.05),
                               [4.0, -6.0], atol=0.7)


def test_frames_with_a_fire_still_tie(shots) -> None:  # type: ignore[no-untyped-def]
    """Three fires of 6 m radius at 350 C fill 6-12 % of each frame, so the stretch runs to
    350 C and the ground keeps a few grey levels: the fires' edges carry the ties (SIFT,
    on the same frames, ties 1 pair of 6)."""
    ext = regsynth.extent_for(ROWS, COLS, STEP, 60.0)
    ground = regsynth.smooth_field(ext, detail=0.3)
    img = ground.image.copy()
    h, w = img.shape
    for cx, cy in [(0.5, 0.5), (0.3, 0.4), (0.7, 0.6)]:
        cv2.circle(img, (int(cx * w), int(cy * h)), int(6.0 / ground.cell_m), 350.0, -1)
    sc = _scene(shots, replace(ground, image=img))
    hot = [float((sc.loader(g.frame_id) > 100.0).mean()) for g in sc.reported]
    assert min(hot) > 0.05
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    assert all(im.span[1] > 300.0 for im in images)
    for i, j, gate in _pairs(sc):
        ft = flow_pair(sc.reported[i], sc.reported[j], images[i], images[j], gate)
        assert ft.match.accepted, ft.match.reason
        err_px = _truth_px(sc, i, j, ft.uv_a[ft.match.idx_a], ft.uv_b[ft.match.idx_b])
        assert len(err_px) >= 20 and np.median(err_px) < 0.3


def test_the_frame_with_more_corners_is_tracked_from_and_the_outcome_reads_a_to_b(shots, textured) -> None:  # type: ignore[no-untyped-def]
    sc = textured
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    i, j, gate = _pairs(sc)[0]
    few = replace(images[i], corners=images[i].corners[:40], corners_raw=images[i].corners_raw[:40])
    ft = flow_pair(sc.reported[i], sc.reported[j], few, images[j], gate)  # b has more: from b
    back = flow_pair(sc.reported[j], sc.reported[i], images[j], few, gate)
    assert ft.match.accepted and len(ft.match.idx_a) > 40  # more than a's corners: b's
    np.testing.assert_array_equal(ft.uv_a, back.uv_b)
    np.testing.assert_array_equal(ft.raw_b, back.raw_a)
    assert ft.match.rot_rad == pytest.approx(-back.match.rot_rad)
    err_px = _truth_px(sc, i, j, ft.uv_a[ft.match.idx_a], ft.uv_b[ft.match.idx_b])
    assert np.median(err_px) < 0.2


def test_tracking_in_rounds_keeps_what_tracking_at_once_keeps(shots, textured) -> None:  # type: ignore[no-untyped-def]
    """The first 64 corners of the spread, then the rest only where fewer than 40 of
    them held: on texture the first round is often enough; with the threshold out of
    reach the two rounds give exactly what tracking every corner at once gives (each
    corner is tracked on its own), corner for corner."""
    sc = textured
    images = [frame_image(g, sc.loader(g.frame_id)) for g in sc.reported]
    saved = 0
    for i, j, gate in _pairs(sc):
        args = (sc.reported[i], sc.reported[j], images[i], images[j], gate, MatchConfig())
        once = flow_pair(*args, FlowConfig(tracked_first=96))
        rounds = flow_pair(*args, FlowConfig(enough_tracked=10**6))
        first = flow_pair(*args, FlowConfig())
        assert once.match.accepted and first.match.accepted
        np.testing.assert_array_equal(rounds.uv_a, once.uv_a)
        np.testing.assert_array_equal(rounds.uv_b, once.uv_b)
        assert set(map(tuple, first.uv_a)) <= set(map(tuple, once.uv_a))
        assert len(first.uv_a) >= min(40, len(once.uv_a))
        saved += len(first.uv_a) < len(once.uv_a)
    assert saved >= 1
