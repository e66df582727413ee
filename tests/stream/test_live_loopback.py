"""replay -> live on loopback with a tiny simulated flight: products written on exit and
reopened, hotspots where the truth has them, counters consistent, idle exit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from tests.stream.livesim import loopback_run, nearest_m, tiny_flight, truth_targets  # noqa: F401

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.stream.livesim import simulate_tiny

    flight = simulate_tiny(tmp_path_factory.getbasetemp() / "live_tiny_flight")
    return flight, loopback_run(flight, tmp_path_factory.mktemp("clean"))


def test_products_written_and_valid(clean_run) -> None:  # type: ignore[no-untyped-def]
    flight, run = clean_run
    out = run.config.out_dir
    for name in ("ortho_thermal.tif", "hotspots.geojson", "hotspots.csv", "hotspots.kmz",
                 "hotspots.cot.xml", "report.html", "process.json"):
        assert (out / name).is_file(), name
    with rasterio.open(out / "ortho_thermal.tif") as src:
        assert src.driver == "GTiff" and src.crs.to_epsg() == 32632
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.block_shapes[0] == (512, 512) and src.overviews(1)
        data = src.read(1)
        assert np.isfinite(data).sum() * src.res[0] ** 2 > 800.0  # square metres mapped
        assert 5.0 < np.nanmedian(data) < 60.0  # ground temperatures, degrees C
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_hotspots_where_the_truth_has_them(clean_run) -> None:  # type: ignore[no-untyped-def]
    flight, run = clean_run
    feats = json.loads((run.config.out_dir / "hotspots.geojson").read_text())["features"]
    points = [f for f in feats if f["geometry"]["type"] == "Point"]
    targets = truth_targets(flight)
    assert len(targets) >= 2
    for t in targets:
        assert nearest_m(t, points) < 4.0, t["id"]
    classes = {f["properties"]["class"] for f in points}
    assert "fire" in classes


def test_counters_are_consistent(clean_run) -> None:  # type: ignore[no-untyped-def]
    _, run = clean_run
    st = run.live.status
    assert st["frames_received"] == run.replay.stills == 12
    assert st["frames_processed"] + st.get("dropped_no_pose", 0) + st.get("frames_corrupt", 0) \
        == st["frames_received"]
    assert st["frames_detected"] == st["frames_processed"]
    assert st["telemetry_messages"] == run.replay.records_sent
    assert 1 <= st["mosaic_taken"] <= st["keyframes"] <= st["frames_processed"]
    assert st["ended_by"].startswith("idle")
    prov = json.loads((run.config.out_dir / "process.json").read_text())
    assert prov["software"]["mode"] == "live"
    assert prov["mosaics"]["thermal"]["frames"] == st["mosaic_taken"]
    assert prov["hotspots"]["count"] == len(run.live.hotspots)
    assert prov["time_sources"].get("exif+trigger events", 0) >= 10
