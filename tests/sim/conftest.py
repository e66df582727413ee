"""Tiny simulated flights shared by the simulator tests (session scope: built once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dronepipe.sim import ErrorConfig, SimConfig, SimResult, simulate
from dronepipe.sim.config import default_rgb


def tiny_config(**changes: object) -> SimConfig:
    """Six frame pairs at 40 m, a small RGB camera, a 1 s video at 10 fps."""
    base = dict(seed=11, frames=6, height_m=40.0, rgb=default_rgb(480, 360), video_s=1.0,
                video_fps=10.0, truth_cell_m=0.2, world_cell_m=0.05, hotspots=__import__(
                    "dronepipe.sim", fromlist=["HotspotCounts"]).HotspotCounts(1, 3, 1, 1))
    base.update(changes)
    return SimConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def exact_flight(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimConfig, SimResult]:
    """A tiny flight with every error zeroed."""
    cfg = tiny_config(errors=ErrorConfig.none())
    return cfg, simulate(cfg, tmp_path_factory.mktemp("exact"))


@pytest.fixture(scope="session")
def noisy_flight(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimConfig, SimResult]:
    """A tiny flight with the default errors (and a higher drop rate, so drops show)."""
    cfg = tiny_config(seed=12, errors=ErrorConfig(drop_rate=0.1))
    return cfg, simulate(cfg, tmp_path_factory.mktemp("noisy"))


@pytest.fixture(scope="session")
def terrain_flight(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimConfig, SimResult]:
    """A tiny exact flight over gentle terrain (8 m relief), thermal only, no video."""
    cfg = tiny_config(seed=13, frames=4, errors=ErrorConfig.none(), terrain=True,
                      terrain_relief_m=8.0, rgb=None, video_s=0.0)
    return cfg, simulate(cfg, tmp_path_factory.mktemp("terrain"))


@pytest.fixture(scope="session")
def oblique_flight(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimConfig, SimResult]:
    """A tiny exact flight with the gimbal tilted 30 degrees forward, thermal only."""
    cfg = tiny_config(seed=14, frames=4, errors=ErrorConfig.none(), oblique_deg=30.0, rgb=None,
                      video_s=0.0)
    return cfg, simulate(cfg, tmp_path_factory.mktemp("oblique"))


def out(result: SimResult) -> Path:
    return Path(result.out_dir)
