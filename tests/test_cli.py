"""The CLI's shared options: ``-q/--quiet`` works before and after the command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dronepipe.cli import cli
from dronepipe.sim import HotspotCounts, SimConfig, simulate


@pytest.fixture(scope="module")
def tiny_flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four thermal frames and their log, no RGB."""
    cfg = SimConfig(seed=3, frames=4, height_m=60.0, rgb=None, video_s=0.0, truth_cell_m=0.5,
                    hotspots=HotspotCounts(1, 0, 0, 0))
    return Path(simulate(cfg, tmp_path_factory.mktemp("tiny")).out_dir)


@pytest.mark.parametrize("quiet_args, bars", [([], True), (["-q"], False), (["--quiet"], False)])
def test_process_quiet_after_the_command_hides_the_progress_bars(
        tiny_flight: Path, tmp_path: Path, quiet_args: list[str], bars: bool) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["process", str(tiny_flight), "-o", str(out), "--only", "thermal",
                                   "--no-register", *quiet_args])
    assert res.exit_code == 0, res.output
    assert ("placement" in res.stderr) is bars
    assert "4 of 4 frames placed" in res.stdout
    assert (out / "ortho_thermal.tif").is_file()


def test_quiet_before_the_command_still_works(tiny_flight: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["-q", "process", str(tiny_flight), "-o", str(tmp_path / "o"),
                                   "--only", "thermal", "--no-register"])
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
