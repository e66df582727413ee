"""Live registration: each new keyframe against the frames already placed (fixed)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.correction_ops import recentred
from dronepipe.stitching.featurestore import FeatureStore
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.live_register import LiveRegistrar, register_new
from dronepipe.stitching.register import RegistrationConfig
from tests.stitching import regsynth

ROWS, COLS, STEP, ALT = 4, 3, (40.0, 25.0), 60.0
CAM = CameraModel.from_fov("syn-480", 480, 360, 60.0)


@pytest.fixture(scope="module")
def scene() -> regsynth.Scene:
    ground = regsynth.texture(regsynth.extent_for(ROWS, COLS, STEP, 60.0), seed=1)
    shots = regsynth.block_shots(ROWS, COLS, STEP, ALT, seed=5, pos_m=2.0, yaw_deg=1.0)
    return regsynth.scene(shots, CAM, ground)


def gsd(sc: regsynth.Scene) -> float:
    return float(np.mean([g.gsd_m for g in sc.truth]))


def test_a_new_frame_is_placed_against_fixed_true_neighbours(scene: regsynth.Scene) -> None:
    store = FeatureStore(loader=scene.loader)
    # neighbours placed exactly (their reported geometry corrected onto the truth)
    placed = [_onto_truth(scene, k) for k in (0, 1, 2, 7)]
    new = scene.reported[6]
    out, res = register_new(new, scene.loader(new.frame_id), placed, store)
    assert res.placed and res.pairs_accepted >= 3 and res.median_after_px < 0.4
    assert res.median_before_px > 5.0
    err = regsynth.placement_error_m(scene.truth[6], out)
    assert err.max() < 0.3 * gsd(scene)
    assert new.frame_id in store  # kept for the frames that come next


def test_frames_fed_in_flight_order_form_a_seamless_map(scene: regsynth.Scene) -> None:
    reg = LiveRegistrar(RegistrationConfig(), loader=scene.loader)
    results = [reg.add(g, scene.loader(g.frame_id))[1] for g in scene.reported]
    assert not results[0].placed and results[0].reason == "no neighbour"
    assert all(r.placed for r in results[1:])
    assert max(r.median_after_px for r in results[1:]) < 0.5
    # the frames agree with each other; the map as a whole sits where the first frames'
    # GNSS put it (the batch adjustment at the end averages over all frames)
    internal = regsynth.internal_error_m(scene.truth, reg.placed)
    assert np.sqrt(np.mean(internal ** 2)) < 0.5 * gsd(scene)
    assert len(reg.placed) == len(scene.reported)


def test_a_frame_with_nothing_around_it_keeps_its_placement(scene: regsynth.Scene) -> None:
    store = FeatureStore()  # no loader, nothing cached: neighbours' features unavailable
    new = scene.reported[3]
    out, res = register_new(new, scene.loader(new.frame_id), [scene.reported[2]], store)
    assert out is new and not res.placed
    assert res.reason == "no accepted pair: neighbour features unavailable"


def _onto_truth(sc: regsynth.Scene, k: int) -> GeoFrame:
    """The reported frame with the similarity correction that best puts it on its truth."""
    rep, true = sc.reported[k], sc.truth[k]
    u, v = np.meshgrid(np.linspace(0, 479, 5), np.linspace(0, 359, 5))
    a = rep.pixels_to_map(u, v)[..., :2].reshape(-1, 2)
    b = true.pixels_to_map(u, v)[..., :2].reshape(-1, 2)
    o = a.mean(axis=0)
    m, _ = cv2.estimateAffinePartial2D(a - o, b - o)
    corr = Correction2D(float(m[0, 2]), float(m[1, 2]), float(np.arctan2(m[1, 0], m[0, 0])),
                        float(np.hypot(m[0, 0], m[1, 0])), (float(o[0]), float(o[1])))
    return replace(rep, correction=recentred(corr, rep.correction_centre_m))
