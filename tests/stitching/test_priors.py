"""Priors of the adjustment: the block's common scale bias from the height reference."""

from __future__ import annotations

import math

import pytest

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import geoframe
from dronepipe.stitching.priors import BlockBias
from dronepipe.stitching.register import height_above_ground
from tests.stitching.synthetic import FRAME, pose_at


def test_block_scale_sigma_is_the_height_error_over_the_height_within_limits() -> None:
    bias = BlockBias(sigma_height_m=1.0)
    assert bias.scale_sigma(70.0) == pytest.approx(1.0 / 70.0)
    assert bias.scale_sigma(10.0) == pytest.approx(0.05)      # clamped above: 10 % -> 5 %
    assert bias.scale_sigma(1000.0) == pytest.approx(0.003)   # clamped below: 0.1 % -> 0.3 %
    rot, log_scale = bias.sigmas_at(70.0)
    assert rot == pytest.approx(math.radians(3.0))
    assert log_scale == pytest.approx(math.log1p(1.0 / 70.0))


def test_block_bias_rejects_non_positive_sigmas() -> None:
    with pytest.raises(ValueError):
        BlockBias(sigma_height_m=0.0)
    with pytest.raises(ValueError):
        BlockBias(scale_limits=(0.05, 0.01))


def test_msl_heights_over_a_dem_get_a_looser_block_scale_than_heights_above_take_off() -> None:
    assert BlockBias.for_height_ref("takeoff").scale_sigma(70.0) == pytest.approx(1.0 / 70.0)
    assert BlockBias.for_height_ref("msl").scale_sigma(70.0) == pytest.approx(3.0 / 70.0)


def test_height_above_ground_of_a_frame_over_flat_ground() -> None:
    cam = CameraModel.from_fov("t", 640, 512, 40.0)
    gf = geoframe("f1", pose_at(0, 0, alt=85.0, pitch_deg=-80.0), cam, FRAME)
    assert height_above_ground(gf) == pytest.approx(85.0, abs=1e-6)
