"""Hotspot products: every file is reopened and checked (GeoJSON, CSV, KMZ, CoT, report)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from affine import Affine
from PIL import Image

from dronepipe import __version__
from dronepipe.geodesy import UtmFrame
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_cot import COT_TYPES, hotspot_cot_event
from dronepipe.outputs.hotspot_products import write_hotspot_products
from dronepipe.outputs.hotspot_table import COLUMNS
from dronepipe.outputs.report import ReportContext
from dronepipe.thermal.hotspot import Hotspot, HotspotClass

EPSG = 32632
E0, N0 = 500_000.0, 5_400_000.0
T0 = 1_714_557_600.0  # 2024-05-01T10:00:00Z
MGRS_RE = re.compile(r"\d{1,2}[C-HJ-NP-X] [A-HJ-NP-Z]{2} \d{5} \d{5}")
KML = "{http://www.opengis.net/kml/2.2}"


def _hotspot(i: int, kind: HotspotClass, de: float, dn: float, max_c: float,
             radiometric: bool = True) -> Hotspot:
    e, n = E0 + de, N0 + dn
    lon, lat = (float(x) for x in UtmFrame(EPSG).to_lonlat(e, n))
    from dronepipe.geodesy import mgrs_of
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) + (e, n)
    patch = np.full((20, 20), 15.0, np.float32)
    patch[8:12, 8:12] = max_c
    return Hotspot(id=i, kind=kind, max_c=max_c, mean_c=max_c - 5, contrast_c=max_c - 15,
                   area_m2=1.0, first_seen_utc_s=T0 + i, last_seen_utc_s=T0 + 10 * i, n_frames=3 * i,
                   easting_m=e, northing_m=n, lon_deg=lon, lat_deg=lat, mgrs=mgrs_of(lat, lon),
                   uncertainty_m=1.25, epsg=EPSG, footprint_m=square, radiometric=radiometric,
                   thumbnail_c=patch)


@pytest.fixture()
def hotspots() -> list[Hotspot]:
    return [_hotspot(1, HotspotClass.FIRE, 10.0, -10.0, 412.0),
            _hotspot(2, HotspotClass.EMBER, 20.0, -30.0, 75.5),
            _hotspot(3, HotspotClass.ANOMALY, 35.0, -15.0, 41.0),
            _hotspot(4, HotspotClass.PERSON, 40.0, -40.0, 33.2)]


def _ctx(radiometric: bool = True) -> ReportContext:
    ov = np.linspace(5, 35, 60 * 80, dtype=np.float32).reshape(60, 80)
    ov[:5] = np.nan
    return ReportContext(source="ortho.tif", radiometric=radiometric, t_start_utc_s=T0,
                         t_end_utc_s=T0 + 900, epsg=EPSG, bounds_m=(E0, N0 - 60, E0 + 80, N0),
                         overview_c=ov, overview_transform=Affine(1.0, 0, E0, 0, -1.0, N0),
                         generated_utc_s=T0 + 1000)


def test_geojson_is_rfc7946_points_with_all_properties(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx())
    fc = json.loads(p.geojson.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert len(fc["features"]) == 4
    for f, h in zip(fc["features"], hotspots, strict=True):
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]  # RFC 7946: longitude first
        assert (lon, lat) == pytest.approx((h.lon_deg, h.lat_deg), abs=1e-7)
        assert 8.9 < lon < 9.1 and 48.6 < lat < 48.8
        props = f["properties"]
        assert set(props) == set(COLUMNS)
        assert props["class"] == h.kind.value and props["id"] == h.id
        assert MGRS_RE.fullmatch(props["mgrs"])
        assert props["first_seen_utc"] == f"2024-05-01T10:00:0{h.id}Z"
        assert props["max_c"] == pytest.approx(h.max_c, abs=0.05)
    assert fc["dronepipe"]["radiometric"] is True


def test_footprints_are_closed_counter_clockwise_rings(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx())
    fc = json.loads(p.footprints.read_text(encoding="utf-8"))
    for f in fc["features"]:
        (ring,) = f["geometry"]["coordinates"]
        assert ring[0] == ring[-1] and len(ring) == 5
        x, y = np.array(ring)[:, 0], np.array(ring)[:, 1]
        assert np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]) > 0  # CCW (right-hand rule)


def test_csv_columns_and_rows(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx())
    rows = list(csv.DictReader(io.StringIO(p.csv.read_text(encoding="utf-8"))))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["class"] for r in rows] == ["fire", "ember", "anomaly", "person"]
    assert float(rows[1]["max_c"]) == pytest.approx(75.5)
    assert MGRS_RE.fullmatch(rows[3]["mgrs"])
    assert float(rows[0]["lat"]) == pytest.approx(hotspots[0].lat_deg, abs=1e-7)


def test_kmz_holds_kml_icons_and_png_thumbnails(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx())
    with zipfile.ZipFile(p.kmz) as z:
        names = z.namelist()
        assert names[0] == "doc.kml"
        root = ET.fromstring(z.read("doc.kml"))
        pins = root.findall(f".//{KML}Folder[1]/{KML}Placemark")
        assert len(pins) == 4
        for pm, h in zip(pins, hotspots, strict=True):
            lon, lat, _ = (float(v) for v in pm.findtext(f"{KML}Point/{KML}coordinates").split(","))
            assert (lon, lat) == pytest.approx((h.lon_deg, h.lat_deg), abs=1e-7)
            assert pm.findtext(f"{KML}styleUrl") == f"#{h.kind.value}"
            data = {d.get("name"): d.findtext(f"{KML}value") for d in pm.iter(f"{KML}Data")}
            assert data["mgrs"] == h.mgrs
            assert f"thumbs/hotspot_{h.id:03d}.png" in pm.findtext(f"{KML}description")
        for style in root.iter(f"{KML}Style"):
            href = style.findtext(f"{KML}IconStyle/{KML}Icon/{KML}href")
            assert href in names and not href.startswith("http")
        for h in hotspots:
            img = Image.open(io.BytesIO(z.read(f"thumbs/hotspot_{h.id:03d}.png")))
            assert img.format == "PNG" and img.size[0] >= 64
        assert len(root.findall(f".//{KML}Polygon")) == 4


def test_cot_events_parse_with_type_point_and_remarks(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx(), uid_prefix="flight7", now_utc_s=T0 + 60)
    root = ET.parse(p.cot).getroot()
    events = root.findall("event")
    assert len(events) == 4
    for ev, h in zip(events, hotspots, strict=True):
        assert ev.get("version") == "2.0"
        assert ev.get("uid") == f"flight7.hotspot.{h.id}"
        assert ev.get("type") == COT_TYPES[h.kind]
        assert ev.get("time") == "2024-05-01T10:01:00.000Z"
        assert ev.get("start") <= ev.get("time") < ev.get("stale")
        pt = ev.find("point")
        assert float(pt.get("lat")) == pytest.approx(h.lat_deg, abs=1e-7)
        assert float(pt.get("lon")) == pytest.approx(h.lon_deg, abs=1e-7)
        assert float(pt.get("ce")) == pytest.approx(h.uncertainty_m, abs=0.05)
        assert pt.get("hae") == pt.get("le") == "9999999.0"
        assert h.mgrs in ev.findtext("detail/remarks")
    assert COT_TYPES[HotspotClass.FIRE].startswith("a-h-X-i-f")


def test_single_cot_event_string_is_standalone_xml(hotspots: list[Hotspot]) -> None:
    text = hotspot_cot_event(hotspots[1], now_utc_s=T0 + 100, stale_s=120)
    ev = ET.fromstring(text.encode())
    assert ev.tag == "event" and ev.get("type") == "a-h-X-i-f-h"
    assert ev.get("stale") == "2024-05-01T10:03:40.000Z"
    assert ev.get("start") == "2024-05-01T10:00:20.000Z"  # last seen


def test_report_is_offline_a4_with_table_rows(tmp_path: Path, hotspots: list[Hotspot]) -> None:
    p = write_hotspot_products(tmp_path, hotspots, _ctx())
    text = p.report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert re.search(r"@page\s*{\s*size:\s*A4", text)
    assert "data:image/jpeg;base64," in text
    for h in hotspots:
        assert re.search(rf'<tr class="hs-{h.kind.value}"><td class="num">{h.id}</td>', text)
        assert h.mgrs in text and f"{h.max_c:.1f}" in text
    assert text.count("<circle") == 4  # numbered markers on the mosaic
    assert __version__ in text
    assert "2024-05-01 10:00:00Z" in text and "2024-05-01 10:15:00Z" in text  # flight time
    assert "80 m x 60 m" in text  # the area
    assert "relative values only" not in text


def test_non_radiometric_products_say_relative_values(tmp_path: Path) -> None:
    hs = [_hotspot(1, HotspotClass.ANOMALY, 10.0, -10.0, 200.0, radiometric=False)]
    p = write_hotspot_products(tmp_path, hs, _ctx(radiometric=False))
    assert "relative values only" in p.report.read_text(encoding="utf-8")
    fc = json.loads(p.geojson.read_text(encoding="utf-8"))
    assert fc["dronepipe"]["radiometric"] is False and "relative" in fc["dronepipe"]["note"]
    assert fc["features"][0]["properties"]["radiometric"] is False
    with zipfile.ZipFile(p.kmz) as z:
        assert "relative values only" in z.read("doc.kml").decode()
    assert "relative values" in ET.parse(p.cot).getroot().findtext("event/detail/remarks")


def test_empty_products_and_atomic_write(tmp_path: Path) -> None:
    p = write_hotspot_products(tmp_path / "new", [], ReportContext())
    assert json.loads(p.geojson.read_text())["features"] == []
    assert "No hotspots found" in p.report.read_text()
    target = write_atomic(tmp_path / "x.txt", "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []
