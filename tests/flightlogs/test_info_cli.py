"""``dronepipe info`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dronepipe.cli import cli
from tests.conftest import realdata_files
from tests.flightlogs import oracle, synth

pytestmark = pytest.mark.filterwarnings("ignore::dronepipe.errors.DronepipeWarning")


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-q", "info", *args])


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("info") / "flight.bin"
    path.write_bytes(synth.dataflash_flight())
    return path


def test_info_json(flight: Path) -> None:
    result = _run("--json", str(flight))
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    counts, _ = oracle.dataflash_messages(str(flight))
    assert info["messages"] == dict(counts)
    assert info["start_utc"] == "2024-02-08T11:59:42.000Z"   # first ATT, boot 10 s
    assert info["duration_s"] == pytest.approx(59.9, abs=1e-6)
    assert info["camera_events"] == 50 and info["camera_sources"] == {"TRIG": 25, "CAM": 25}
    west, south, east, north = info["bbox"]
    assert (west, east) == (pytest.approx(synth.LON0), pytest.approx(synth.LON0))
    assert south == pytest.approx(float(synth.Truth.lat(synth.np.array(11.0))), abs=1e-7)
    assert north == pytest.approx(float(synth.Truth.lat(synth.np.array(69.8))), abs=1e-7)
    assert info["distance_m"] == pytest.approx(5.0 * 58.8, rel=0.01)
    assert info["alt_rel_m"] == pytest.approx([1.0, 59.8], abs=0.01)
    assert info["gps"] == {"fix_types": {"3": 295}, "satellites": [12.0, 12.0], "hdop": [0.8, 0.8]}
    assert [g["track"] for g in info["gaps"]] == ["attitude"]
    assert info["vehicle"] == "Copter (QUAD/X)" and info["firmware"] == "ArduCopter V4.5.7 (abcdef12)"
    assert "earth-frame yaw" in info["gimbal"] and "body-frame yaw" in info["gimbal"]
    assert info["stats"]["no_fix_positions"] == 5 and info["time_source"] == "autopilot"


def test_info_text(flight: Path) -> None:
    result = _run(str(flight))
    assert result.exit_code == 0
    out = result.stdout
    assert "start        2024-02-08T11:59:42.000Z (time from autopilot)" in out
    assert "camera       50 events (TRIG 25, CAM 25)" in out
    assert "  GPS                          300" in out


def test_info_on_a_non_log_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "notes.tlog"
    path.write_text("not telemetry at all\n" * 50)
    result = _run("--json", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {path}: not a flight log "
                                                  "(neither a tlog, nor a DataFlash .bin or text log)"]


@pytest.mark.parametrize("path", realdata_files("mavlink/*/*.tlog"), ids=lambda p: p.name)
def test_info_on_real_tlogs(path: Path) -> None:
    result = _run("--json", str(path))
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    counts, _ = oracle.tlog_messages(str(path))
    assert info["messages"] == dict(counts)
    assert info["start_utc"][:4] in ("2013", "2021")
    assert info["camera_events"] == 0 and info["bbox"] is not None
