"""Guided matching: tie points between overlapping frames, the gate from the poses'
uncertainty, unguided where a heading is unknown, refusal of pairs that do not overlap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.features import FrameFeatures, extract_features
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.match import MatchConfig, gate_for, match_pair, spread
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
