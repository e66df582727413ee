"""Registration on simulated flights (``dronepipe.sim``), against the true poses.

The frames are placed as the pipeline places them (log, time sync, camera file, flat
ground); the truth is each frame's true camera pose. With the default errors (GNSS
random walk, attitude and gimbal noise, a gimbal bias) registration closes the seams to
a fraction of a pixel; what stays is the flight's mean GNSS error and the block rotation
its GNSS positions cannot resolve (on this 16-frame block about 1.3 m all told; on a
40-frame, 100 m block 0.55 m thermal / 0.63 m RGB, against 1.4 / 1.6 m direct). With
exact telemetry, registration leaves the frames where they are (to a few millimetres).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dronepipe.flightlogs.reader import read_telemetry
from dronepipe.flightlogs.timesync import pose_frames
from dronepipe.frames.discover import discover_frames
from dronepipe.frames.refs import Posed
from dronepipe.pipeline.inputs import find_inputs
from dronepipe.pipeline.loader import FrameLoader, frame_id
from dronepipe.pipeline.place import CameraResolver, Placement, place_frames, utm_frame_of
from dronepipe.sim import ErrorConfig, HotspotCounts, SimConfig, simulate
from dronepipe.sim.config import default_rgb
from dronepipe.stitching.cameras import load_camera_file
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.georef import CameraPose
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust
from dronepipe.stitching.twins import register_thermal
from tests.stitching import regsynth

Flight = tuple[dict[str, list[GeoFrame]], dict[str, list[GeoFrame]], FrameLoader, dict[str, float]]


def flight(out: Path, errors: ErrorConfig) -> Flight:
    """Simulate a 16-frame survey at 60 m and place its frames as the pipeline does:
    (reported, truth) GeoFrames by kind, the pixel loader, the realised errors."""
    cfg = SimConfig(seed=5, frames=16, height_m=60.0, rgb=default_rgb(480, 360), video_s=0.0,
                    hotspots=HotspotCounts(0, 0, 0, 0), errors=errors)
    simulate(cfg, out)
    inputs = find_inputs(out)
    found = discover_frames(list(inputs.frame_sources))
    results, _ = pose_frames(found.frames, read_telemetry(inputs.log))
    posed = [r for r in results if isinstance(r, Posed)]
    cams = CameraResolver(load_camera_file(inputs.cameras) if inputs.cameras else ())
    placed, rejected = place_frames(posed, cams, Placement(utm_frame_of(posed)))
    assert not rejected and len(placed) == 32
    truth_json = json.loads((out / "truth/poses.json").read_text())
    truth = {Path(t["file"]).name: t for t in truth_json["frames"]}
    reported: dict[str, list[GeoFrame]] = {}
    true: dict[str, list[GeoFrame]] = {}
    for gf in placed:
        t = truth[Path(gf.frame_id).name]
        rot = np.array([[t[f"r{i}{j}"] for j in range(3)] for i in range(3)])
        centre = np.array([t["easting_m"], t["northing_m"], t["alt_rel_m"]])
        reported.setdefault(gf.kind, []).append(gf)
        true.setdefault(gf.kind, []).append(replace(gf, pose=CameraPose(centre, rot)))
    realised = json.loads((out / "truth/flight.json").read_text())["errors_realised"]
    return reported, true, FrameLoader({frame_id(f): f for f in found.frames}), realised


@pytest.fixture(scope="session")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Flight:
    return flight(tmp_path_factory.mktemp("reg_noisy"), ErrorConfig())


@pytest.fixture(scope="session")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Flight:
    return flight(tmp_path_factory.mktemp("reg_exact"), ErrorConfig.none())


def rms(truth: list[GeoFrame], got: list[GeoFrame]) -> float:
    e = np.concatenate([regsynth.placement_error_m(t, g) for t, g in zip(truth, got, strict=True)])
    return float(np.sqrt(np.mean(e ** 2)))


def internal_px(truth: list[GeoFrame], got: list[GeoFrame]) -> float:
    e = regsynth.internal_error_m(truth, got)
    return float(np.sqrt(np.mean(e ** 2)) / np.mean([g.gsd_m for g in truth]))


@pytest.mark.parametrize("kind", ["thermal", "rgb"])
def test_default_errors_seams_close_and_the_block_keeps_the_mean_gnss_placement(noisy: Flight,
                                                                                kind: str) -> None:
    reported, truth, loader, realised = noisy
    out, rep = register_and_adjust(reported[kind], loader, RegistrationConfig(scheduler="synchronous"))
    assert rep.unplaced == () and rep.pairs_accepted == rep.pairs_tried
    assert rep.seam_median_before_px > 5.0 and rep.seam_median_after_px < 0.5
    assert internal_px(truth[kind], reported[kind]) > 5.0 > 1.0 > internal_px(truth[kind], out)
    before, after = rms(truth[kind], reported[kind]), rms(truth[kind], out)
    gnss_mean = float(np.hypot(*realised["gnss_mean_at_exposures_enu_m"][:2]))
    assert after < before and after < gnss_mean + 0.3


def test_thermal_through_the_rgb_twin_matches_thermal_alone(noisy: Flight) -> None:
    reported, truth, loader, _ = noisy
    cfg = RegistrationConfig(scheduler="synchronous")
    rgb, _ = register_and_adjust(reported["rgb"], loader, cfg)
    both, rep, lonely = register_thermal(reported["thermal"], rgb, loader, cfg)
    assert lonely == [] and rep.unplaced == ()
    assert internal_px(truth["thermal"], both) < 0.6


def test_exact_telemetry_stays_exact(exact: Flight) -> None:
    reported, truth, loader, _ = exact
    out, rep = register_and_adjust(reported["thermal"], loader, RegistrationConfig(scheduler="synchronous"))
    assert rep.seam_median_before_px < 0.5 and rep.seam_median_after_px < 0.5
    gsd = float(np.mean([g.gsd_m for g in truth["thermal"]]))
    assert rms(truth["thermal"], out) < 0.2 * gsd  # under a pixel: a fifth of one
