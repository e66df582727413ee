"""The evaluation measures what it claims: zero on the truth itself, and known shifts."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dronepipe.cli import cli
from dronepipe.evaluation import EvalConfig, evaluate
from tests.evaluation.conftest import make_result

KEYS = ("mosaic_rmse_m", "temperature_mae_c", "hotspot_recall", "hotspot_precision",
        "hotspot_error_p50_m", "hotspot_error_p90_m", "false_alarms_per_ha")


def test_truth_against_itself_is_perfect(truth_dir: Path, tmp_path: Path) -> None:
    ev = evaluate(make_result(truth_dir, tmp_path / "self"), truth_dir)
    assert ev.mosaic_rmse_m == pytest.approx(0.0, abs=1e-3)
    assert ev.details["mosaic_points"] > 100
    assert ev.details["mosaic_thermal"]["rmse_m"] == pytest.approx(0.0, abs=0.01)
    assert ev.temperature_mae_c == pytest.approx(0.0, abs=1e-6)
    assert ev.details["temperature_cells"] > 500
    assert ev.hotspot_recall == 1.0 and ev.hotspot_precision == 1.0
    assert ev.hotspot_error_p90_m == pytest.approx(0.0, abs=1e-3)
    assert ev.false_alarms_per_ha == 0.0
    assert ev.details["hotspots_true"] == 5           # fire, 3 ember nests, person (not the car)


@pytest.mark.parametrize("shift", [(2.0, 0.0), (0.0, -2.0), (1.37, -0.85), (-3.1, 2.45)])
def test_a_shifted_mosaic_reads_its_shift(truth_dir: Path, tmp_path: Path,
                                          shift: tuple[float, float]) -> None:
    ev = evaluate(make_result(truth_dir, tmp_path / "shifted", shift), truth_dir)
    expected = math.hypot(*shift)
    assert ev.mosaic_rmse_m == pytest.approx(expected, abs=0.03)
    assert ev.details["mosaic_rgb"]["median_shift_m"] == pytest.approx(list(shift), abs=0.03)
    assert ev.details["mosaic_thermal"]["median_shift_m"] == pytest.approx(list(shift), abs=0.05)
    # the temperature comparison undoes the measured shift: radiometry is still exact
    assert ev.temperature_mae_c == pytest.approx(0.0, abs=0.05)


def test_shifted_hotspots_read_their_shift(truth_dir: Path, tmp_path: Path) -> None:
    res = make_result(truth_dir, tmp_path / "hot", hotspot_shift_m=(1.2, -1.6))
    ev = evaluate(res, truth_dir)
    assert ev.hotspot_recall == 1.0
    assert ev.hotspot_error_p50_m == pytest.approx(2.0, abs=1e-3)
    assert ev.hotspot_error_p90_m == pytest.approx(2.0, abs=1e-3)
    far = evaluate(res, truth_dir, EvalConfig(match_radius_m=1.5))
    assert far.hotspot_recall == 0.0 and far.hotspot_precision == 0.0


def test_false_alarms_and_duplicates_count_per_hectare(truth_dir: Path, tmp_path: Path) -> None:
    hot = json.loads((truth_dir / "hotspots.geojson").read_text())["features"]
    p = hot[0]["properties"]
    extra = [(p["easting_m"] + 0.5, p["northing_m"]),          # a duplicate of a true one
             (p["easting_m"] + 40.0, p["northing_m"] + 40.0)]   # nothing there
    ev = evaluate(make_result(truth_dir, tmp_path / "fa", extra_detections=extra), truth_dir)
    assert ev.details["false_alarms"] == 2
    assert ev.details["covered_area_ha"] > 0
    assert ev.false_alarms_per_ha == pytest.approx(2 / ev.details["covered_area_ha"], rel=1e-3)
    assert ev.hotspot_precision == pytest.approx(6 / 8)
    assert ev.hotspot_recall == 1.0


def test_missing_products_give_none(truth_dir: Path, tmp_path: Path) -> None:
    ev = evaluate(make_result(truth_dir, tmp_path / "thermal_only", rgb=False, hotspots=False), truth_dir)
    assert ev.details["mosaic_rgb"]["rmse_m"] is None
    assert ev.mosaic_rmse_m == pytest.approx(0.0, abs=0.01)     # falls back to the thermal mosaic
    assert ev.hotspot_recall is None and ev.false_alarms_per_ha is None
    empty = tmp_path / "empty"
    empty.mkdir()
    ev = evaluate(empty, truth_dir.parent)                         # the flight folder works too
    assert all(ev.as_dict()[k] is None for k in KEYS)


def test_cli_json_has_the_documented_keys(truth_dir: Path, tmp_path: Path) -> None:
    res = make_result(truth_dir, tmp_path / "cli", (2.0, 0.0))
    run = CliRunner().invoke(cli, ["evaluate", str(res), "--truth", str(truth_dir), "--json"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output)
    assert list(out)[:7] == list(KEYS)
    assert out["mosaic_rmse_m"] == pytest.approx(2.0, abs=0.03)
    text = CliRunner().invoke(cli, ["evaluate", str(res), "--truth", str(truth_dir)])
    assert text.exit_code == 0 and "mosaic RMSE" in text.output


def test_the_flights_mean_gnss_error_is_taken_out_where_the_truth_records_it(
        truth_dir: Path, tmp_path: Path) -> None:
    """A mosaic displaced by exactly the flight's mean GNSS error: nothing is left once
    that (which no processing removes without ground control) is taken out."""
    truth = tmp_path / "truth"
    shutil.copytree(truth_dir, truth)
    meta = json.loads((truth / "flight.json").read_text())
    meta["errors_realised"]["gnss_mean_at_exposures_enu_m"] = [1.2, -0.7, 0.3]
    (truth / "flight.json").write_text(json.dumps(meta))
    ev = evaluate(make_result(truth, tmp_path / "res", (1.2, -0.7)), truth)
    assert ev.mosaic_rmse_m == pytest.approx(math.hypot(1.2, 0.7), abs=0.03)
    assert ev.details["gnss_mean_m"] == [1.2, -0.7]
    for kind in ("mosaic_rgb", "mosaic_thermal"):
        assert ev.details[kind]["rmse_minus_gnss_mean_m"] == pytest.approx(0.0, abs=0.03)
        assert ev.details[kind]["rmse_about_median_m"] == pytest.approx(0.0, abs=0.03)


def test_the_issue_5_target_set_has_its_own_recall(truth_dir: Path, tmp_path: Path) -> None:
    """Ember nests of 0.25 m2 and more at 60 C and more: a miss among them counts there,
    a miss of another target only in the overall recall."""
    hot = json.loads((truth_dir / "hotspots.geojson").read_text())["features"]
    props = [f["properties"] for f in hot]
    in_set = [p["id"] for p in props if p["class"] == "ember_nest" and p["area_m2"] >= 0.25
              and p["temperature_c"] >= 60.0 and p["seen_in_frames"] > 0]
    assert in_set, "the fixture needs a nest of the target set"
    res = make_result(truth_dir, tmp_path / "all")
    ev = evaluate(res, truth_dir)
    assert ev.details["recall_target_set"] == 1.0
    assert ev.details["target_set"]["true"] == len(in_set)
    found = json.loads((res / "hotspots.geojson").read_text())
    keep = [f for f, p in zip(found["features"], props, strict=True) if p["id"] != in_set[0]]
    (res / "hotspots.geojson").write_text(json.dumps({**found, "features": keep}))
    ev = evaluate(res, truth_dir)
    assert ev.details["target_set"]["matched"] == len(in_set) - 1
    assert ev.details["recall_target_set"] == pytest.approx((len(in_set) - 1) / len(in_set))


@pytest.mark.parametrize("shift", [(0.05, 0.05), (1.25, -0.85)])
def test_a_mosaic_off_by_half_a_cell_keeps_its_windows(truth_dir: Path, tmp_path: Path,
                                                       shift: tuple[float, float]) -> None:
    """Half a 0.1 m cell in both axes: the window refinement used to swing between -0.5
    and +0.5 px and drop two windows in three; every textured window reads the shift."""
    ev = evaluate(make_result(truth_dir, tmp_path / "half", shift), truth_dir)
    for kind in ("mosaic_rgb", "mosaic_thermal"):
        d = ev.details[kind]
        assert d["points"] >= 0.95 * d["tried"] > 100
        assert d["median_shift_m"] == pytest.approx(list(shift), abs=0.01)
        assert d["rmse_about_median_m"] < 0.02
