"""``dronepipe process`` end to end on simulated flights: the CLI writes the products,
the tests reopen them and measure them against the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from dronepipe import __version__
from dronepipe.cli import cli
from dronepipe.evaluation.evaluate import evaluate
from dronepipe.outputs.cog import cog_problems
from dronepipe.sim import ErrorConfig, HotspotCounts, SimConfig, simulate
from dronepipe.sim.config import default_rgb


def _flight(tmp: Path, **changes: object) -> Path:
    base: dict[str, object] = dict(seed=31, frames=16, height_m=60.0, rgb=default_rgb(640, 480),
                                   video_s=0.0, truth_cell_m=0.1,
                                   hotspots=HotspotCounts(1, 3, 1, 1))
    base.update(changes)
    return Path(simulate(SimConfig(**base), tmp).out_dir)  # type: ignore[arg-type]


def _process(flight: Path, out: Path, *args: str) -> dict[str, object]:
    res = CliRunner().invoke(cli, ["-q", "process", str(flight), "-o", str(out), "--json", *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.fixture(scope="session")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """A flight with the default errors (GNSS walk, attitude/gimbal noise, clock offset,
    dropped messages), processed by the CLI."""
    flight = _flight(tmp_path_factory.mktemp("noisy_flight"))
    out = tmp_path_factory.mktemp("noisy_out")
    return flight, out, _process(flight, out)


@pytest.fixture(scope="session")
def exact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    flight = _flight(tmp_path_factory.mktemp("exact_flight"), seed=32, errors=ErrorConfig.none())
    out = tmp_path_factory.mktemp("exact_out")
    return flight, out, _process(flight, out)


def test_every_frame_is_placed_and_every_product_written(noisy) -> None:
    _, out, summary = noisy
    assert summary["frames"] == 32 and summary["placed"] == 32 and summary["rejected"] == 0
    for name in ("ortho_thermal.tif", "ortho_rgb.tif", "hotspots.geojson", "hotspots.csv",
                 "hotspots.kmz", "hotspots.cot.xml", "report.html", "process.json"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*tmp*")), "temporary files left behind"


def test_thermal_mosaic_is_a_radiometric_utm_cog(noisy) -> None:
    _, out, _ = noisy
    path = out / "ortho_thermal.tif"
    assert cog_problems(path) == []
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 32632
        assert ds.dtypes == ("float32",) and np.isnan(ds.nodata)
        assert ds.overviews(1)
        tags = ds.tags()
        assert tags["UNITS"] == "degC" and tags["RADIOMETRIC"] == "true"
        assert float(tags["GSD_M"]) == pytest.approx(ds.res[0], rel=1e-6)
        assert tags["TIME_START_UTC"].startswith("2024-06-15T10:")
        t = ds.read(1)
    seen = t[np.isfinite(t)]
    assert seen.size > 0.5 * t.size
    assert 0.0 < np.median(seen) < 40.0  # ground temperatures, degrees C
    assert seen.max() > 300.0  # the fire


def test_rgb_mosaic_has_alpha(noisy) -> None:
    _, out, _ = noisy
    with rasterio.open(out / "ortho_rgb.tif") as ds:
        assert ds.count == 4 and ds.dtypes[0] == "uint8" and ds.crs.to_epsg() == 32632
        alpha = ds.read(4)
    assert (alpha == 255).mean() > 0.5 and (alpha == 0).any()


def test_provenance_says_what_was_used(noisy) -> None:
    flight, out, _ = noisy
    prov = json.loads((out / "process.json").read_text())
    assert prov["software"]["version"] == __version__
    assert prov["telemetry"]["path"].endswith("flight.bin")
    assert prov["frames"]["placed"] == 32 and len(prov["placed"]) == 32
    assert {p["id"].split("/")[0] for p in prov["placed"]} == {"thermal", "rgb"}
    sync = prov["time_sync"]["thermal"]
    assert sync["method"] == "camera-events" and sync["n_posed"] == 16
    # the camera clock runs 0.85 s ahead and exposes 0.02 s after the trigger
    assert sync["offset_s"] == pytest.approx(-0.87, abs=0.01)
    assert prov["registration"]["thermal"]["tie_points"] > 0
    assert prov["registration"]["thermal"]["tied_by"] == "flow"  # after the RGB twins
    assert prov["registration"]["rgb"]["tied_by"] == "features"
    assert prov["frame_cache"]["misses"] == 32  # every frame decoded once
    assert not (out / ".decoded-frames").exists()


def test_noisy_flight_is_where_its_gnss_puts_it(noisy) -> None:
    """Without ground control the block sits at the flight's mean GNSS error (the
    simulator records it); beyond that offset the mosaic must be metre-accurate, its
    temperatures right, and every hot object found once, within 3 m."""
    flight, out, _ = noisy
    ev = evaluate(out, flight / "truth")
    realised = json.loads((flight / "truth" / "flight.json").read_text())["errors_realised"]
    gnss_mean = np.asarray(realised["gnss_mean_at_exposures_enu_m"][:2])
    shift = np.asarray(ev.details["mosaic_thermal"]["median_shift_m"])
    assert np.linalg.norm(shift - gnss_mean) < 0.6
    assert ev.mosaic_rmse_m is not None and ev.mosaic_rmse_m < 1.0 + np.linalg.norm(gnss_mean)
    assert ev.temperature_mae_c is not None and ev.temperature_mae_c < 0.5
    assert ev.hotspot_recall is not None and ev.hotspot_recall >= 0.8
    assert ev.hotspot_error_p90_m is not None and ev.hotspot_error_p90_m < 3.0
    assert ev.false_alarms_per_ha is not None and ev.false_alarms_per_ha <= 2.0


def test_exact_telemetry_is_sub_pixel(exact) -> None:
    flight, out, _ = exact
    ev = evaluate(out, flight / "truth")
    with rasterio.open(out / "ortho_thermal.tif") as ds:
        gsd = ds.res[0]
    assert ev.mosaic_rmse_m is not None and ev.mosaic_rmse_m < gsd
    assert ev.hotspot_error_p90_m is not None and ev.hotspot_error_p90_m < 2 * gsd


def test_hotspots_file_holds_the_fire(noisy) -> None:
    flight, out, _ = noisy
    found = json.loads((out / "hotspots.geojson").read_text())["features"]
    truth = json.loads((flight / "truth" / "hotspots.geojson").read_text())["features"]
    fire = next(f for f in truth if f["properties"]["class"] == "fire")
    fx, fy = fire["geometry"]["coordinates"][:2]
    d = [np.hypot((f["geometry"]["coordinates"][0] - fx) * 72_400,
                  (f["geometry"]["coordinates"][1] - fy) * 111_200)
         for f in found if f["properties"]["class"] == "fire"]
    assert d and min(d) < 3.0
    assert all(f["properties"]["mgrs"].startswith("32U ") for f in found)


def test_frames_alone_without_a_log_are_an_error_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "thermal").mkdir()
    res = CliRunner().invoke(cli, ["process", str(tmp_path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert res.output.startswith("error: ") and "Traceback" not in res.output
