"""Thermal frames: registered on their own contrast-normalised images, through their
RGB twins, or both; measured on a twin rig whose thermal boresight is 0.3 deg off what
the pipeline believes (a realistic mount calibration error)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.georef import Mount
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust
from dronepipe.stitching.twins import pair_twins, register_thermal, transfer_from_twins
from tests.stitching import regsynth
from tests.stitching.synthetic import FRAME, pose_at

ROWS, COLS, STEP, ALT = 4, 3, (40.0, 25.0), 60.0
RGB = CameraModel.from_fov("rgb-480", 480, 360, 60.0)
THERMAL = CameraModel.from_fov("thermal-320", 320, 256, 45.0)
TRUE_MOUNT = Mount(offset_gimbal_m=(0.05, 0.02, 0.0), boresight_rad=tuple(np.radians([0.3, -0.3, 0.2])))
BELIEVED = Mount(offset_gimbal_m=(0.05, 0.02, 0.0))
SYNC = RegistrationConfig(scheduler="synchronous")


@pytest.fixture(scope="module")
def rig() -> tuple[list[regsynth.Shot], list[GeoFrame], tuple[float, float, float, float]]:
    """Shots, the registered RGB frames, and the ground's extent."""
    ext = regsynth.extent_for(ROWS, COLS, STEP, 60.0)
    shots = regsynth.block_shots(ROWS, COLS, STEP, ALT, seed=5, pos_m=2.0, yaw_deg=1.0)
    rgb = regsynth.scene(shots, RGB, regsynth.texture(ext, seed=1))
    out, rep = register_and_adjust(rgb.reported, rgb.loader, SYNC)
    assert rep.seam_median_after_px < 0.35
    return shots, out, ext


def thermal_scene(rig, detail_k: float) -> regsynth.Scene:  # type: ignore[no-untyped-def]
    shots, _, ext = rig
    return regsynth.scene(shots, THERMAL, regsynth.smooth_field(ext, detail=detail_k), kind="thermal",
                          mount=TRUE_MOUNT, reported_mount=BELIEVED, noise=0.05, suffix="_t")


def internal_px(sc: regsynth.Scene, got: list[GeoFrame]) -> float:
    e = regsynth.internal_error_m(sc.truth, got)
    return float(np.sqrt(np.mean(e ** 2)) / np.mean([g.gsd_m for g in sc.truth]))


def test_textured_thermal_registers_directly_and_best_through_the_twin_then_refined(rig) -> None:  # type: ignore[no-untyped-def]
    sc = thermal_scene(rig, detail_k=0.5)
    direct, rep = register_and_adjust(sc.reported, sc.loader, SYNC)
    assert rep.unplaced == () and rep.seam_median_after_px < 0.4
    twin, lonely = transfer_from_twins(sc.reported, rig[1])
    both, rep_both, _ = register_thermal(sc.reported, rig[1], sc.loader, SYNC)
    assert lonely == [] and rep_both.unplaced == ()
    before, d, t, b = (internal_px(sc, x) for x in (sc.reported, direct, twin, both))
    assert before > 10.0
    assert d < 0.5  # contrast-normalised thermal registers on its own
    assert 1.5 < t < 4.0  # the twin alone carries the boresight error into the seams
    assert b < 0.4 and b <= d + 0.05  # twin, then refined on the thermal images


def test_flat_thermal_does_not_register_by_features_and_says_so_while_the_twin_places_it(rig) -> None:  # type: ignore[no-untyped-def]
    sc = thermal_scene(rig, detail_k=0.05)  # scene detail at the sensor's noise level
    features = replace(SYNC, flow=None)
    direct, rep = register_and_adjust(sc.reported, sc.loader, features)
    assert rep.tied_by == "features"
    assert rep.pairs_accepted == 0 and len(rep.unplaced) == len(sc.reported)
    assert all("no accepted pair" in why for _, why in rep.unplaced)
    assert all(a is b for a, b in zip(direct, sc.reported, strict=True))  # left as they were
    both, rep_both, _ = register_thermal(sc.reported, rig[1], sc.loader, features)
    twin, _ = transfer_from_twins(sc.reported, rig[1])
    assert internal_px(sc, both) == pytest.approx(internal_px(sc, twin), abs=1e-9)
    assert internal_px(sc, twin) < 4.0 < internal_px(sc, sc.reported)


def test_flat_thermal_ties_by_flow_on_its_large_warm_and_cool_areas(rig) -> None:  # type: ignore[no-untyped-def]
    sc = thermal_scene(rig, detail_k=0.05)  # what SIFT cannot describe, the flow follows
    direct, rep = register_and_adjust(sc.reported, sc.loader, SYNC)
    assert rep.tied_by == "flow" and "pairs by flow" in rep.summary()
    assert 0 < rep.pairs_accepted < rep.pairs_tried  # part of the block: the rest is flat
    assert internal_px(sc, direct) < 0.5 * internal_px(sc, sc.reported)
    both, _, _ = register_thermal(sc.reported, rig[1], sc.loader, SYNC)
    twin, _ = transfer_from_twins(sc.reported, rig[1])
    assert internal_px(sc, both) < 0.5 * internal_px(sc, twin)  # 0.7 px against 2.5


def test_twins_pair_by_capture_time() -> None:
    cam = CameraModel.from_fov("c", 64, 48, 40.0)

    def gf(fid: str, t: float) -> GeoFrame:
        return geoframe(fid, pose_at(0, 0, t=t), cam, FRAME)

    rgb = [gf("r0", 100.0), gf("r1", 103.0), gf("r2", 106.0)]
    thermal = [gf("t0", 100.01), gf("t1", 104.0), gf("t2", 105.98), gf("t3", 106.02)]
    assert pair_twins(thermal, rgb) == [0, None, 2, None]  # r2 serves its nearer twin only once


def test_transferred_correction_is_the_same_map_transform() -> None:
    cam = CameraModel.from_fov("c", 64, 48, 40.0)
    r = geoframe("r", pose_at(0, 0, t=5.0), cam, FRAME).with_correction(1.5, -2.0, 0.02, 1.01)
    t = geoframe("t", pose_at(3, 1, t=5.0), CameraModel.from_fov("c", 32, 24, 30.0), FRAME)
    (moved,), lonely = transfer_from_twins([t], [r])
    assert lonely == [] and moved.correction.centre_m == t.correction_centre_m
    pts = np.array([[t.correction_centre_m[0] + 10.0, t.correction_centre_m[1] - 7.0], [0.0, 0.0]])
    np.testing.assert_allclose(np.stack(moved.correction.apply(*pts.T), -1),
                               np.stack(r.correction.apply(*pts.T), -1), atol=1e-9)
    assert isinstance(moved.correction, Correction2D)
