"""Hotspots on a thermal orthomosaic GeoTIFF, through the library and ``dronepipe hotspots``."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from dronepipe.cli import cli
from dronepipe.errors import DronepipeError
from dronepipe.thermal.hotspot import HotspotClass
from dronepipe.thermal.ortho import detect_in_mosaic
from tests.thermal.scenes import add_disc, add_noise, background

GSD = 0.1
E0, N0 = 500_000.0, 5_400_000.0
# (u, v) pixel, area m2, temperature C, class
OBJECTS = [((300.0, 200.0), 0.5, 90.0, HotspotClass.EMBER),
           ((800.0, 600.0), 2.0, 400.0, HotspotClass.FIRE),
           ((1000.0, 300.0), 0.3, 33.0, HotspotClass.PERSON),
           ((512.3, 700.0), 0.4, 120.0, HotspotClass.EMBER)]  # on a tile seam (tile_px=512)


def _write_ortho(path: Path, radiometric: str | None = "true", nodata_rows: int = 40) -> Path:
    rng = np.random.default_rng(9)
    t = background((900, 1200), GSD, rng, lo_c=5.0, hi_c=20.0)
    for centre, area, temp, _ in OBJECTS:
        t = add_disc(t, centre, area, temp, GSD)
    t = add_noise(t, rng)
    t[:nodata_rows] = np.nan
    profile = {"driver": "GTiff", "width": t.shape[1], "height": t.shape[0], "count": 1,
               "dtype": "float32", "crs": "EPSG:32632", "nodata": np.nan,
               "transform": Affine(GSD, 0, E0, 0, -GSD, N0)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(t, 1)
        tags = {"TIME_START_UTC": "2024-05-01T10:00:00.000Z", "TIME_END_UTC": "2024-05-01T10:12:00.000Z"}
        if radiometric is not None:
            tags["RADIOMETRIC"] = radiometric
        dst.update_tags(**tags)
    return path


def _pixel_to_en(u: float, v: float) -> tuple[float, float]:
    return E0 + (u + 0.5) * GSD, N0 - (v + 0.5) * GSD


@pytest.mark.parametrize("tile_px", [512, 4096])
def test_detect_in_mosaic_finds_each_object_once(tmp_path: Path, tile_px: int) -> None:
    m = detect_in_mosaic(_write_ortho(tmp_path / "ortho.tif"), tile_px=tile_px)
    assert m.epsg == 32632 and m.gsd_m == pytest.approx(GSD) and m.radiometric
    assert m.n_tiles == (6 if tile_px == 512 else 1)
    assert len(m.hotspots) == len(OBJECTS)
    assert [h.id for h in m.hotspots] == [1, 2, 3, 4]
    assert m.hotspots[0].kind is HotspotClass.FIRE  # hottest class first
    for centre, area, temp, kind in OBJECTS:
        e, n = _pixel_to_en(*centre)
        (h,) = [h for h in m.hotspots if np.hypot(h.easting_m - e, h.northing_m - n) < 0.2]
        assert h.kind is kind
        assert h.area_m2 == pytest.approx(area, rel=0.3)
        assert h.max_c == pytest.approx(temp, abs=1.0)
        assert h.n_frames == 1 and h.first_seen_utc_s is None
    assert m.t_start_utc_s == pytest.approx(1_714_557_600.0)
    assert m.bounds_m == pytest.approx((E0, N0 - 90.0, E0 + 120.0, N0))
    assert m.overview_c.shape == (900, 1200)


def test_tags_and_errors(tmp_path: Path) -> None:
    m = detect_in_mosaic(_write_ortho(tmp_path / "rel.tif", radiometric="false"))
    assert not m.radiometric
    assert {h.kind for h in m.hotspots} == {HotspotClass.ANOMALY}
    assert not any(h.radiometric for h in m.hotspots)
    geographic = tmp_path / "geo.tif"
    with rasterio.open(geographic, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(1e-5, 0, 9, 0, -1e-5, 48)) as dst:
        dst.write(np.zeros((10, 10), np.float32), 1)
    with pytest.raises(DronepipeError, match="projected"):
        detect_in_mosaic(geographic)
    with pytest.raises(DronepipeError, match="cannot be read"):
        detect_in_mosaic(Path(__file__))


def test_cli_hotspots_writes_products(tmp_path: Path) -> None:
    ortho = _write_ortho(tmp_path / "ortho.tif")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["-q", "hotspots", str(ortho), "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert len(doc["hotspots"]) == 4 and doc["radiometric"] is True
    names = {"hotspots.geojson", "hotspot_footprints.geojson", "hotspots.csv", "hotspots.kmz",
             "hotspots.cot.xml", "report.html"}
    assert {p.name for p in out.iterdir()} == names
    fc = json.loads((out / "hotspots.geojson").read_text())
    assert [f["properties"]["class"] for f in fc["features"]] == ["fire", "ember", "ember", "person"]
    rows = list(csv.DictReader(io.StringIO((out / "hotspots.csv").read_text())))
    assert [int(r["id"]) for r in rows] == [1, 2, 3, 4]
    with zipfile.ZipFile(out / "hotspots.kmz") as z:
        assert "doc.kml" in z.namelist() and len([n for n in z.namelist() if n.startswith("thumbs/")]) == 4
    assert len(ET.parse(out / "hotspots.cot.xml").getroot().findall("event")) == 4
    report = (out / "report.html").read_text()
    assert report.count("<circle") == 4 and "ortho.tif" in report


def test_cli_table_default_out_dir_and_bad_input(tmp_path: Path) -> None:
    ortho = _write_ortho(tmp_path / "ortho.tif")
    res = CliRunner().invoke(cli, ["-q", "hotspots", str(ortho), "--min-area", "0.35"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].split()[:3] == ["#", "class", "max"]
    assert "fire" in lines[1] and lines[-1].startswith("3 hotspots")  # the 0.3 m2 person is gone
    assert (tmp_path / "ortho_hotspots" / "report.html").is_file()
    bad = CliRunner().invoke(cli, ["-q", "hotspots", str(ortho), "--fire-c", "50"])
    assert bad.exit_code == 2 and "fire_c" in bad.output
    not_raster = tmp_path / "x.tif"
    not_raster.write_text("no raster")
    res = CliRunner().invoke(cli, ["-q", "hotspots", str(not_raster)])
    assert res.exit_code == 1 and "cannot be read as a raster" in res.output
