"""Registration and adjustment of a synthetic block: seams close to a fraction of a
pixel, the block stays where the GNSS puts it on average, exact poses stay put, and
what cannot be placed is reported."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust
from dronepipe.stitching.regreport import RegistrationReport
from tests.stitching import regsynth
from tests.stitching.synthetic import FRAME, DictLoader, pose_at

ROWS, COLS, STEP, ALT = 4, 3, (40.0, 25.0), 60.0
CAM = CameraModel.from_fov("syn-480", 480, 360, 60.0)
SYNC = RegistrationConfig(scheduler="synchronous")


@pytest.fixture(scope="module")
def ground() -> regsynth.Texture:
    return regsynth.texture(regsynth.extent_for(ROWS, COLS, STEP, 60.0), seed=1)


def make_scene(ground: regsynth.Texture, pos_m: float, yaw_deg: float, seed: int = 5) -> regsynth.Scene:
    shots = regsynth.block_shots(ROWS, COLS, STEP, ALT, seed=seed, pos_m=pos_m, yaw_deg=yaw_deg)
    return regsynth.scene(shots, CAM, ground)


@pytest.fixture(scope="module")
def perturbed(ground: regsynth.Texture) -> tuple[regsynth.Scene, list[GeoFrame], RegistrationReport]:
    sc = make_scene(ground, pos_m=2.0, yaw_deg=1.0)
    calls: list[tuple[str, int, int]] = []
    out, rep = register_and_adjust(sc.reported, sc.loader, RegistrationConfig(scheduler="threads"),
                                   progress=lambda s, d, t: calls.append((s, d, t)))
    assert calls and calls[-1][1] == calls[-1][2] == ROWS * COLS
    return sc, out, rep


def test_seams_close_from_metres_to_a_fraction_of_a_pixel(perturbed) -> None:  # type: ignore[no-untyped-def]
    sc, out, rep = perturbed
    assert rep.frames == 12 and rep.unplaced == () and rep.converged
    assert rep.pairs_accepted == rep.pairs_tried >= 20  # every overlapping pair registers
    assert rep.tie_points > 1000
    assert rep.seam_median_before_m > 1.0 and rep.seam_median_before_px > 7.0
    assert rep.seam_median_after_px < 0.35 and rep.seam_p90_after_px < 1.0
    assert all(p.median_after_px < 0.5 for p in rep.pairs)
    # the frames agree with each other as the truth does: once the block as a whole is
    # aligned (its placement is the priors' business), errors are a tenth of a pixel
    before = regsynth.internal_error_m(sc.truth, sc.reported)
    after = regsynth.internal_error_m(sc.truth, out)
    assert np.sqrt(np.mean(before ** 2)) > 10 * gsd_of(sc)
    assert np.sqrt(np.mean(after ** 2)) < 0.2 * gsd_of(sc)


def test_block_stays_where_the_gnss_puts_it_on_average(perturbed) -> None:  # type: ignore[no-untyped-def]
    sc, out, _ = perturbed
    gnss_mean = regsynth.mean_offset_m(sc.truth, sc.reported)  # the mean GNSS error
    np.testing.assert_allclose(regsynth.mean_offset_m(sc.truth, out), gnss_mean, atol=0.05)
    before = np.concatenate([regsynth.placement_error_m(t, g)
                             for t, g in zip(sc.truth, sc.reported, strict=True)])
    after = np.concatenate([regsynth.placement_error_m(t, g) for t, g in zip(sc.truth, out, strict=True)])
    rms_b, rms_a = np.sqrt(np.mean(before ** 2)), np.sqrt(np.mean(after ** 2))
    assert rms_b > 2.0 and rms_a < 0.3 * rms_b and rms_a < 1.0


def test_exact_poses_get_no_correction(ground: regsynth.Texture) -> None:
    sc = make_scene(ground, pos_m=0.0, yaw_deg=0.0)
    out, rep = register_and_adjust(sc.reported, sc.loader, SYNC)
    assert rep.seam_median_before_px < 0.3 and rep.pairs_accepted == rep.pairs_tried
    for c in rep.corrections:
        assert abs(c.dx_m) < 0.02 and abs(c.dy_m) < 0.02
        assert abs(c.dtheta_deg) < 0.03 and abs(c.scale - 1) < 1e-3  # keypoint noise
    err = np.concatenate([regsynth.placement_error_m(t, g) for t, g in zip(sc.truth, out, strict=True)])
    assert err.max() < 0.25 * gsd_of(sc)


def test_a_systematic_gnss_offset_moves_the_block_and_leaves_seams_alone(ground: regsynth.Texture) -> None:
    shots = regsynth.block_shots(ROWS, COLS, STEP, ALT, seed=5, pos_m=0.0, yaw_deg=0.0)
    sc = regsynth.scene(shots, CAM, ground)
    biased = [geoframe(s.frame_id, regsynth.moved(s.true, 4.0, -3.0), CAM, FRAME, kind="rgb") for s in shots]
    out, rep = register_and_adjust(biased, sc.loader, SYNC)
    assert rep.seam_median_after_px < 0.3
    np.testing.assert_allclose(regsynth.mean_offset_m(sc.truth, out), [4.0, -3.0], atol=0.02)


def test_frames_that_cannot_be_placed_are_listed_and_left_alone(ground: regsynth.Texture) -> None:
    sc = make_scene(ground, pos_m=1.0, yaw_deg=0.5, seed=9)
    far = geoframe("far", pose_at(900.0, 900.0, alt=ALT), CAM, FRAME, kind="rgb")
    broken = sc.reported[5]
    frames = dict(sc.loader.frames, far=sc.loader.frames[sc.reported[0].frame_id])
    del frames[broken.frame_id]
    loader = FailingLoader(frames)
    out, rep = register_and_adjust([*sc.reported, far], loader, SYNC)
    why = dict(rep.unplaced)
    assert set(why) == {"far", broken.frame_id}
    assert why["far"] == "no overlapping frame"
    assert why[broken.frame_id].startswith("unreadable (OSError")
    assert out[-1] is far and out[5] is broken
    assert all(p.reason == "frame unreadable" for p in rep.pairs if broken.frame_id in (p.frame_a, p.frame_b))
    assert rep.seam_median_after_px < 0.35
    json.dumps(rep.to_dict(), allow_nan=False)  # ready for process.json


class FailingLoader(DictLoader):
    def __call__(self, frame_id: str) -> np.ndarray:
        if frame_id not in self.frames:
            raise OSError(f"{frame_id}.jpg: truncated file")
        return self.frames[frame_id]



def gsd_of(sc: regsynth.Scene) -> float:
    return float(np.mean([g.gsd_m for g in sc.truth]))
