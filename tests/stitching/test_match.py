"""Guided matching: tie points between overlapping frames, the gate from the poses'
uncertainty, unguided where a heading is unknown, refusal of pairs that do not overlap;
and the exact search behind it (``nearest``) against OpenCV's BFMatcher, bit for bit."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy.spatial import cKDTree

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.features import FrameFeatures, extract_features
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching import nearest
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.match import (
    Gate,
    MatchConfig,
    first_pass,
    gate_for,
    match_pair,
    pair_rows,
    ratio_matches,
    rows_ratio_matches,
    spread,
)
from dronepipe.stitching.nearest import DescriptorRows, TwoNearest, two_nearest
from dronepipe.stitching.priors import PoseUncertainty, uncertainty_for_pose, uncertainty_from_errors
from tests.stitching import regsynth
from tests.stitching.synthetic import FRAME, pose_at, render

CAM = CameraModel.from_fov("t", 480, 360, 60.0)


@pytest.fixture(scope="module")
def ground() -> regsynth.Texture:
    return regsynth.texture(regsynth.extent_for(1, 3, (40.0, 0.0), 80.0), seed=21)


def frame_and_features(ground: regsynth.Texture, fid: str, de: float, reported_de: float = 0.0,
                       yaw_deg: float = 0.0, reported_yaw_deg: float | None = None
                       ) -> tuple[GeoFrame, GeoFrame, FrameFeatures]:
    """A frame rendered at its true pose, and the frame as reported (shifted east by
    ``reported_de`` metres, heading ``reported_yaw_deg``) with its features."""
    true = geoframe(fid, pose_at(de, 0, alt=60.0, yaw_deg=yaw_deg), CAM, FRAME, kind="rgb")
    ryaw = yaw_deg if reported_yaw_deg is None else reported_yaw_deg
    rep = geoframe(fid, pose_at(de + reported_de, 0, alt=60.0, yaw_deg=ryaw), CAM, FRAME, kind="rgb")
    return true, rep, extract_features(rep, regsynth.rgb_of(render(true, ground)))


def test_guided_match_gives_ties_of_the_same_ground_point(ground: regsynth.Texture) -> None:
    ta, ra, fa = frame_and_features(ground, "a", 0.0, reported_de=3.0)
    tb, rb, fb = frame_and_features(ground, "b", 35.0, yaw_deg=180.0)  # the next line, flown back
    u = PoseUncertainty()
    gate = gate_for(u, u, 45.0, 45.0, fa.work_gsd_m)
    assert gate.guided and 10.0 < gate.radius_m < 20.0
    m = match_pair(fa, fb, ra.correction, rb.correction, gate)
    assert m.accepted and m.inliers > 60 and len(m.idx_a) == MatchConfig().max_ties
    # frame a was reported 3 m east: its ties sit 3 m east of frame b's
    d = fa.raw_m[m.idx_a] - fb.raw_m[m.idx_b]
    np.testing.assert_allclose(np.median(d, axis=0), [3.0, 0.0], atol=0.03)
    assert math.degrees(m.rot_rad) == pytest.approx(0.0, abs=0.05)
    # and the true geometry puts each tie's two pixels on one ground point
    ga = ta.pixels_to_map(*fa.uv_px[m.idx_a].T)[:, :2]
    gb = tb.pixels_to_map(*fb.uv_px[m.idx_b].T)[:, :2]
    assert np.median(np.hypot(*(ga - gb).T)) < 0.3 * ta.gsd_m


def test_an_offset_beyond_the_gate_is_not_matched(ground: regsynth.Texture) -> None:
    _, ra, fa = frame_and_features(ground, "a", 0.0, reported_de=25.0)
    _, rb, fb = frame_and_features(ground, "b", 35.0)
    u = PoseUncertainty(1.0, 0.5, 0.005)
    m = match_pair(fa, fb, ra.correction, rb.correction, gate_for(u, u, 45.0, 45.0, fa.work_gsd_m))
    assert not m.accepted and "RANSAC" in m.reason


def test_unknown_heading_matches_unguided_and_measures_the_rotation(ground: regsynth.Texture) -> None:
    _, ra, fa = frame_and_features(ground, "a", 0.0)
    _, rb, fb = frame_and_features(ground, "b", 35.0, yaw_deg=180.0, reported_yaw_deg=30.0)
    u = PoseUncertainty(2.0, 180.0, 0.02)
    gate = gate_for(u, PoseUncertainty(), 45.0, 45.0, fa.work_gsd_m)
    assert not gate.guided
    m = match_pair(fa, fb, ra.correction, rb.correction, gate)
    # b's heading was reported 150 deg short (clockwise), so its raw ground points are turned
    # 150 deg counter-clockwise about it: the similarity from a's points to b's says so
    assert m.accepted and math.degrees(m.rot_rad) == pytest.approx(150.0, abs=0.2)


def test_a_rotation_beyond_the_uncertainty_is_refused(ground: regsynth.Texture) -> None:
    _, ra, fa = frame_and_features(ground, "a", 0.0)
    _, rb, fb = frame_and_features(ground, "b", 30.0, reported_yaw_deg=8.0)
    u = PoseUncertainty(2.0, 1.0, 0.01)
    gate = gate_for(u, u, 45.0, 45.0, fa.work_gsd_m)
    gate = type(gate)(200.0, False, gate.max_rot_rad, gate.max_log_scale)  # search everywhere
    m = match_pair(fa, fb, ra.correction, rb.correction, gate)
    assert not m.accepted and "implausible" in m.reason


def test_first_pass_on_every_nth_keypoint(ground: regsynth.Texture) -> None:
    """The wide first pass on every second keypoint finds the similarity, and the tight
    second pass on all keypoints gives the ties of the full first pass; a subset's
    matches are indices into all keypoints, and every n = 1 is the plain ratio test."""
    _, ra, fa = frame_and_features(ground, "a", 0.0, reported_de=3.0)
    _, rb, fb = frame_and_features(ground, "b", 35.0, yaw_deg=180.0)
    u = PoseUncertainty()
    gate = gate_for(u, u, 45.0, 45.0, fa.work_gsd_m)
    full = match_pair(fa, fb, ra.correction, rb.correction, gate, MatchConfig(first_pass_every=1))
    half = match_pair(fa, fb, ra.correction, rb.correction, gate, MatchConfig(first_pass_every=2))
    assert full.accepted and half.accepted and half.inliers == full.inliers
    assert np.array_equal(half.idx_a, full.idx_a) and np.array_equal(half.idx_b, full.idx_b)
    rows = pair_rows(fa, fb)
    a, b = fa.raw_m, fb.raw_m
    ia, ib, d = first_pass(rows, a, b, gate.radius_m, 0.8, 3)
    assert len(ia) > 20 and (ia % 3 == 0).all() and (ib % 3 == 0).all()
    ja, jb, _ = rows_ratio_matches((rows[0].subset(ia), rows[1].subset(ib)), a[ia], b[ib],
                                   gate.radius_m, 1.0)
    assert len(ja) > 0.9 * len(ia)  # the subset's matches are the same keypoints again
    for got, want in zip(first_pass(rows, a, b, gate.radius_m, 0.8, 1),
                         ratio_matches(fa, fb, a, b, gate.radius_m, 0.8), strict=True):
        assert np.array_equal(got, want)


def test_first_pass_on_all_keypoints_where_the_subset_finds_nothing() -> None:
    """Too few keypoints in the subset for RANSAC: the first pass runs again on all."""
    fa, fb, a, b = random_pair(5, na=40, nb=40, top=16)
    fb = FrameFeatures("b", np.zeros((len(a), 2)), a.copy(), fa.descriptors.copy(), fa.norm, 0.1)
    gate = Gate(5.0, True, 0.5, 0.1)
    one = match_pair(fa, fb, Correction2D(),
                     Correction2D(), gate,
                     MatchConfig(first_pass_every=1, min_inliers=25))
    four = match_pair(fa, fb, Correction2D(),
                      Correction2D(), gate,
                      MatchConfig(first_pass_every=4, min_inliers=25))  # 10 keypoints a frame
    assert one.accepted and four.accepted and four.inliers == one.inliers == 40


def test_spread_keeps_points_from_every_cell() -> None:
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.uniform(0, 1, (500, 2)), rng.uniform(9, 10, (5, 2))])
    cost = np.concatenate([np.zeros(500), np.ones(5)])  # the far corner's points cost more
    keep = spread(pts, cost, 40, 4)
    assert len(keep) == 40 and (keep >= 500).sum() == 5


def test_uncertainties_from_errors_and_from_the_pose_source() -> None:
    u = uncertainty_from_errors(100.0, gnss_sigma_m=1.5, attitude_sigma_deg=1.0, vertical_sigma_m=2.0)
    assert u.sigma_pos_m == pytest.approx(math.hypot(1.5, 100 * math.radians(1.0)))
    assert u.sigma_scale == pytest.approx(0.02)
    p = pose_at(0, 0)
    assert uncertainty_for_pose(p).rotation_known
    from dataclasses import replace
    tracked = replace(p, source="exif: GPS; attitude: NADIR ASSUMED (...), "
                               "yaw from track of consecutive frames")
    assert not uncertainty_for_pose(tracked).rotation_known


# --- exact guided matching: the cell-sorted search against OpenCV's BFMatcher -------------

def reference_ratio_matches(fa: FrameFeatures, fb: FrameFeatures, a: np.ndarray, b: np.ndarray,
                            radius_m: float | None, ratio: float
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matching this module did before (BFMatcher.knnMatch over a k-d tree gate mask),
    kept here as the reference the faster search must reproduce bit for bit."""
    matcher = cv2.BFMatcher(fa.norm)
    da, db = fa.descriptors, fb.descriptors
    if fa.norm == cv2.NORM_L2:
        da, db = da.astype(np.float32), db.astype(np.float32)
    if radius_m is None:
        knn = matcher.knnMatch(da, db, k=2)
    else:
        mask = reference_gate_mask(a, b, radius_m)
        if not mask.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        knn = matcher.knnMatch(da, db, k=2, mask=mask)
    rows = [(m[0].queryIdx, m[0].trainIdx, m[0].distance) for m in knn
            if len(m) == 1 or len(m) >= 2 and m[0].distance < ratio * m[1].distance]
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    arr = np.array(rows, dtype=np.float64)
    ia, ib, d = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2]
    order = np.argsort(d, kind="stable")
    _, first = np.unique(ib[order], return_index=True)
    keep = np.sort(order[first])
    return ia[keep], ib[keep], d[keep]


def reference_gate_mask(a: np.ndarray, b: np.ndarray, radius_m: float) -> np.ndarray:
    mask = np.zeros((len(a), len(b)), np.uint8)
    near = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius_m, output_type="ndarray")
    mask[near["i"], near["j"]] = 1
    return mask


def reference_two_nearest(fa: FrameFeatures, fb: FrameFeatures, a: np.ndarray, b: np.ndarray,
                          radius_m: float | None) -> TwoNearest:
    """OpenCV's two nearest per keypoint of a, as ``TwoNearest``."""
    out = TwoNearest.none(len(fa))
    if len(fa) == 0 or len(fb) == 0:
        return out
    da, db = fa.descriptors, fb.descriptors
    if fa.norm == cv2.NORM_L2:
        da, db = da.astype(np.float32), db.astype(np.float32)
    mask = None if radius_m is None else reference_gate_mask(a, b, radius_m)
    knn = (cv2.BFMatcher(fa.norm).knnMatch(da, db, k=2) if mask is None
           else cv2.BFMatcher(fa.norm).knnMatch(da, db, k=2, mask=mask))
    for i, m in enumerate(knn):
        if m:
            out.best[i], out.d1[i] = m[0].trainIdx, m[0].distance
        if len(m) > 1:
            out.d2[i] = m[1].distance
    return out


def features(fid: str, desc: np.ndarray, pos: np.ndarray, norm: int = cv2.NORM_L2) -> FrameFeatures:
    return FrameFeatures(fid, np.zeros((len(desc), 2)), pos, np.ascontiguousarray(desc), norm, 0.1)


def random_pair(seed: int, na: int = 300, nb: int = 320, top: int = 256, width: int = 128,
                side_m: float = 60.0, norm: int = cv2.NORM_L2
                ) -> tuple[FrameFeatures, FrameFeatures, np.ndarray, np.ndarray]:
    """Two frames: half of b's keypoints are noisy copies of a's (a few metres away), the
    rest random; descriptors 0..top-1 (a small ``top`` makes many distances tie)."""
    rng = np.random.default_rng(seed)
    da = rng.integers(0, top, (na, width), dtype=np.uint8)
    a = rng.uniform(0.0, side_m, (na, 2)) + [500_000.0, 5_500_000.0]
    pick = rng.choice(na, nb // 2, replace=False)
    noise = rng.integers(-2, 3, (len(pick), width))
    copies = np.clip(da[pick].astype(np.int64) + noise, 0, top - 1).astype(np.uint8)
    db = np.concatenate([copies, rng.integers(0, top, (nb - len(pick), width), dtype=np.uint8)])
    b = np.concatenate([a[pick] + rng.normal(0.0, 2.0, (len(pick), 2)),
                        rng.uniform(0.0, side_m, (nb - len(pick), 2)) + [500_000.0, 5_500_000.0]])
    perm = rng.permutation(nb)
    return features("a", da, a, norm), features("b", db[perm], b[perm], norm), a, b[perm]


def assert_same_matches(fa: FrameFeatures, fb: FrameFeatures, a: np.ndarray, b: np.ndarray,
                        radius_m: float | None, ratio: float = 0.8) -> None:
    got = ratio_matches(fa, fb, a, b, radius_m, ratio)
    want = reference_ratio_matches(fa, fb, a, b, radius_m, ratio)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    nn = two_nearest(*pair_rows(fa, fb), a, b, radius_m)
    ref = reference_two_nearest(fa, fb, a, b, radius_m)
    np.testing.assert_array_equal(nn.best, ref.best)
    np.testing.assert_array_equal(nn.d1, ref.d1)
    np.testing.assert_array_equal(nn.d2, ref.d2)


@pytest.fixture(params=["estimate", "products", "pairs"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test below runs with the CPU estimate's choice and with each way forced."""
    if request.param == "products":
        monkeypatch.setattr(nearest, "NS_PER_PAIR", 1e12)
    elif request.param == "pairs":
        monkeypatch.setattr(nearest, "NS_PER_PAIR", 0.0)
    return str(request.param)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("radius_m", [0.7, 4.0, 15.0, 200.0, None])
def test_guided_matches_are_opencvs(way: str, seed: int, radius_m: float | None) -> None:
    fa, fb, a, b = random_pair(seed)
    assert_same_matches(fa, fb, a, b, radius_m)


@pytest.mark.parametrize("top", [90, 256])  # below / above 2**22: ranked by square or by root
def test_descriptor_ranges(way: str, top: int) -> None:
    fa, fb, a, b = random_pair(7, top=top)
    assert_same_matches(fa, fb, a, b, 6.0)
    assert_same_matches(fa, fb, a, b, 6.0, ratio=1.5)  # ties pass: the tied index matters


@pytest.mark.parametrize("top", [2, 3])
def test_ties_go_to_the_lower_index_of_b(way: str, top: int) -> None:
    fa, fb, a, b = random_pair(11, na=200, nb=400, top=top, width=8)
    dup = features("b", np.concatenate([fb.descriptors, fb.descriptors[::-1]]),
                   np.concatenate([b, b[::-1]]))  # every descriptor twice, same place
    nn = two_nearest(*pair_rows(fa, dup), a, dup.raw_m, 10.0)
    assert (nn.d1 == nn.d2).sum() > 100
    assert_same_matches(fa, dup, a, dup.raw_m, 10.0, ratio=1.01)
    assert_same_matches(fa, fb, a, b, 10.0, ratio=1.01)


def vector_with_square(n: int) -> np.ndarray:
    """A 128-wide uint8 vector whose squared norm is n."""
    v = np.zeros(128, np.int64)
    k = 0
    while n > 3 * 255**2:
        v[k], n, k = 255, n - 255**2, k + 1
    for x in range(min(255, math.isqrt(n)), -1, -1):
        for y in range(min(255, math.isqrt(n - x * x)), -1, -1):
            rest = n - x * x - y * y
            z = math.isqrt(rest)
            w = math.isqrt(rest - z * z)
            if z <= 255 and z * z + w * w == rest:
                v[k:k + 4] = x, y, z, w
                return v.astype(np.uint8)
    raise AssertionError(n)


def test_squares_with_one_float32_root_tie_as_in_opencv(way: str) -> None:
    n = next(n for n in range(8_000_000, 8_100_000)
             if np.sqrt(np.float32(n)) == np.sqrt(np.float32(n + 1)))
    db = np.stack([vector_with_square(m) for m in (n + 5, n + 1, n, n + 1)])
    fa = features("a", np.zeros((1, 128), np.uint8), np.zeros((1, 2)))
    fb = features("b", db, np.zeros((4, 2)))
    assert_same_matches(fa, fb, fa.raw_m, fb.raw_m, 1.0, ratio=1.5)
    assert two_nearest(*pair_rows(fa, fb), fa.raw_m, fb.raw_m, 1.0).best[0] == 1


def test_binary_descriptors_by_hamming_distance(way: str) -> None:
    fa, fb, a, b = random_pair(3, width=32, norm=cv2.NORM_HAMMING)
    for radius_m in (3.0, 20.0, None):
        assert_same_matches(fa, fb, a, b, radius_m)
        assert_same_matches(fa, fb, a, b, radius_m, ratio=1.2)


def test_the_gate_includes_its_edge(way: str) -> None:
    rng = np.random.default_rng(5)
    a = np.array([[0.0, 0.0], [10.0, 10.0]])
    b = np.array([[3.0, 4.0], [0.0, 5.0], [5.0, 0.0], [-5.0, 0.0], [0.0, 5.0000001], [13.0, 14.0],
                  [10.0, 10.0], [4.0, 3.0]])
    fa = features("a", rng.integers(0, 256, (2, 128), dtype=np.uint8), a)
    fb = features("b", rng.integers(0, 256, (8, 128), dtype=np.uint8), b)
    for radius_m in (5.0, 0.0, 4.9999999):
        assert_same_matches(fa, fb, a, b, radius_m, ratio=1.5)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0), (1, 1), (1, 30), (30, 1)])
def test_few_keypoints(way: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    fa = features("a", rng.integers(0, 256, (shape[0], 128), dtype=np.uint8),
                  rng.uniform(0, 5, (shape[0], 2)))
    fb = features("b", rng.integers(0, 256, (shape[1], 128), dtype=np.uint8),
                  rng.uniform(0, 5, (shape[1], 2)))
    for radius_m in (2.0, 100.0, None):
        assert_same_matches(fa, fb, fa.raw_m, fb.raw_m, radius_m)


def test_no_candidate_within_the_gate_and_all_within(way: str) -> None:
    fa, fb, a, b = random_pair(2, na=100, nb=100)
    far = b + [1000.0, 0.0]
    assert_same_matches(fa, fb, a, far, 5.0)
    assert len(ratio_matches(fa, fb, a, far, 5.0, 0.8)[0]) == 0
    assert_same_matches(fa, fb, a, b, 90.0)  # the gate spans every pair
    assert_same_matches(fa, fb, a, b, math.inf)
    assert_same_matches(fa, fb, a, b, -1.0)


def test_bad_input_is_refused() -> None:
    fa, fb, a, b = random_pair(0, na=10, nb=10)
    with pytest.raises(ValueError, match="uint8"):
        DescriptorRows.of(fa.descriptors.astype(np.float32), cv2.NORM_L2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not supported"):
        DescriptorRows.of(fa.descriptors, cv2.NORM_L1)
    ra, rb = pair_rows(fa, fb)
    with pytest.raises(ValueError, match="finite"):
        two_nearest(ra, rb, np.where(a > 0, np.nan, a), b, 5.0)
    with pytest.raises(ValueError, match=r"\(10, 2\)"):
        two_nearest(ra, rb, a[:5], b, 5.0)
    with pytest.raises(ValueError, match="differ"):
        two_nearest(ra, DescriptorRows.of(fb.descriptors[:, :64], cv2.NORM_L2), a, b, 5.0)
    with pytest.raises(ValueError, match="NaN"):
        two_nearest(ra, rb, a, b, math.nan)
