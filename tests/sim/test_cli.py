"""``dronepipe simulate`` builds the config from its options and writes a flight."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dronepipe.cli import cli


def test_simulate_command_writes_a_flight(tmp_path: Path) -> None:
    out = tmp_path / "flight"
    run = CliRunner().invoke(cli, [
        "-q", "simulate", str(out), "--frames", "2", "--height", "35", "--rgb-size", "160x120",
        "--video-seconds", "0", "--no-errors", "--truth-cell", "0.25", "--hotspots", "0,1,1,0",
        "--oblique", "20", "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.output)
    assert summary["frames"] == 2 and summary["video_frames"] == 0 and summary["hotspots"] == 2
    meta = json.loads((out / "truth/flight.json").read_text())
    assert meta["config"]["oblique_deg"] == 20.0 and meta["config"]["errors"]["drop_rate"] == 0.0
    assert sorted(p.name for p in (out / "rgb").iterdir()) == ["RGB_0001.jpg", "RGB_0002.jpg"]
    rows = json.loads((out / "truth/poses.json").read_text())["frames"]
    assert {round(r["gimbal_pitch_deg"], 6) for r in rows} == {-70.0}


def test_simulate_rejects_bad_options(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["simulate", str(tmp_path / "x"), "--overlap", "0.8"])
    assert run.exit_code != 0 and "--overlap" in run.output
    run = CliRunner().invoke(cli, ["simulate", str(tmp_path / "x"), "--world-cell", "0.05",
                                   "--truth-cell", "0.07"])
    assert run.exit_code != 0 and "multiple" in run.output
