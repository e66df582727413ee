"""FLIR R-JPEGs and FFF frames against ExifTool and the cameras' own spot readings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dronepipe.thermal import decode_thermal, fff, jpeg
from tests.conftest import realdata_files
from tests.thermal import oracle

FLIR_FILES = realdata_files("thermal/flir_rjpeg/*.jpg") + realdata_files("thermal/flir_fff/*.fff")


def _frame(path: Path) -> fff.FlirFrame:
    data = path.read_bytes()
    buf = data if fff.is_fff(data) else fff.fff_from_jpeg(data, jpeg.read_layout(data), str(path))
    return fff.parse_fff(buf, str(path))


def _fields(path: Path) -> dict[str, str]:
    fields = oracle.exiftool_fields(path)
    if fields is None:
        pytest.skip(f"{path.name}: no ExifTool dump and no exiftool installed")
    return fields


@pytest.mark.parametrize("path", FLIR_FILES, ids=lambda p: p.name)
def test_raw_matches_exiftool(path: Path) -> None:
    frame, fields = _frame(path), _fields(path)
    height, width = frame.raw.shape
    assert (width, height) == (int(fields["Raw Thermal Image Width"]), int(fields["Raw Thermal Image Height"]))
    assert {"TIFF": ("raw-le",), "PNG": ("png",)}[fields["Raw Thermal Image Type"]] == (frame.raw_storage,)
    if "Raw Value Median" in fields:     # the camera's own statistic of its raw frame
        assert abs(np.median(frame.raw) - int(fields["Raw Value Median"])) <= int(fields["Raw Value Range"]) / 2
    reference = oracle.exiftool_raw(path)
    if reference is None:
        pytest.skip("exiftool not installed: raw values checked by size, type and median only")
    np.testing.assert_array_equal(frame.raw, reference)


@pytest.mark.parametrize("path", FLIR_FILES, ids=lambda p: p.name)
def test_constants_match_exiftool(path: Path) -> None:
    cam, fields = _frame(path).camera, _fields(path)
    num = oracle.number
    assert cam.planck.r1 == pytest.approx(num(fields["Planck R1"]), rel=1e-7)
    assert cam.planck.r2 == pytest.approx(num(fields["Planck R2"]), rel=1e-7)
    assert cam.planck.b == pytest.approx(num(fields["Planck B"]), rel=1e-6)
    assert cam.planck.f == num(fields["Planck F"])
    assert cam.planck.o == num(fields["Planck O"])
    p = cam.params
    assert p.emissivity == pytest.approx(num(fields["Emissivity"]), abs=0.005)
    assert p.object_distance_m == pytest.approx(num(fields["Object Distance"]), abs=0.005)
    assert p.reflected_temp_c == pytest.approx(num(fields["Reflected Apparent Temperature"]), abs=0.05)
    assert p.atmospheric_temp_c == pytest.approx(num(fields["Atmospheric Temperature"]), abs=0.05)
    assert p.ir_window_temp_c == pytest.approx(num(fields["IR Window Temperature"]), abs=0.05)
    assert p.ir_window_transmission == pytest.approx(num(fields["IR Window Transmission"]), abs=0.005)
    assert p.relative_humidity_pct == pytest.approx(num(fields["Relative Humidity"]), abs=0.05)
    atm = cam.atmosphere
    for name, value in (("Alpha 1", atm.alpha1), ("Alpha 2", atm.alpha2), ("Beta 1", atm.beta1),
                        ("Beta 2", atm.beta2), ("X", atm.x)):
        assert value == pytest.approx(num(fields[f"Atmospheric Trans {name}"]), abs=5e-7)


@pytest.mark.parametrize("path", FLIR_FILES, ids=lambda p: p.name)
def test_temperatures_match_independent_formula(path: Path) -> None:
    fields = _fields(path)
    image = decode_thermal(path)
    expected = oracle.flir_formula_celsius(_frame(path).raw, fields)
    assert image.radiometric and image.celsius.dtype == np.float32
    assert np.isfinite(image.celsius).all()
    assert np.abs(image.celsius - expected).max() < 0.05


def _spot(path: Path) -> tuple[float, float]:
    """(centre pixel, 3x3 mean) at the spot tool the camera stored, degrees C."""
    tools = [t for t in _frame(path).tools if t.kind == 1]
    assert tools, "the camera stored a spot meter"
    x, y = tools[0].coords[:2]
    c = decode_thermal(path).celsius
    return float(c[y, x]), float(c[y - 1:y + 2, x - 1:x + 2].mean())


def test_flir_e40_centre_spot_reads_20_9(realdata: Path) -> None:
    path = realdata / "thermal/flir_rjpeg/FLIR_E40.jpg"
    assert [t.coords for t in _frame(path).tools if t.kind == 1] == [(80, 60)]   # ExifTool: Meas 1 Params 80 60
    pixel, mean3 = _spot(path)
    assert pixel == pytest.approx(20.9, abs=0.05)     # 20.92
    assert mean3 == pytest.approx(20.9, abs=0.05)     # 20.88


def test_flir_b60_centre_spot_reads_19_0_f(realdata: Path) -> None:
    path = realdata / "thermal/flir_rjpeg/FLIR_B60.jpg"
    pixel, mean3 = _spot(path)
    burned_in_c = (19.0 - 32.0) * 5.0 / 9.0           # -7.22 C
    assert mean3 == pytest.approx(burned_in_c, abs=0.1)   # -7.26 C (18.94 F)
    assert pixel == pytest.approx(burned_in_c, abs=0.15)  # -7.34 C: single pixels are noisy
    c = decode_thermal(path).celsius
    assert c.min() < -60.0                             # sky reflections on a winter facade are real


def test_override_emissivity_and_distance_changes_result(realdata: Path) -> None:
    from dronepipe.thermal import DecodeOptions

    path = realdata / "thermal/flir_rjpeg/FLIR_E40.jpg"
    own = decode_thermal(path)
    changed = decode_thermal(path, DecodeOptions(emissivity=0.80, object_distance_m=30.0))
    assert changed.params.emissivity == 0.80 and changed.params.object_distance_m == 30.0
    assert own.params.emissivity == pytest.approx(0.95)
    # a warmer-than-background object looks warmer still at lower emissivity
    hot = own.celsius > own.params.reflected_temp_c + 1
    assert (changed.celsius[hot] > own.celsius[hot]).all()


def test_metadata_from_fff_records(realdata: Path) -> None:
    duo = decode_thermal(realdata / "thermal/flir_fff/frame_000000.fff")
    assert duo.meta.model == "Duo Pro R"
    assert duo.meta.lat_deg == pytest.approx(53 + 26 / 60 + 56.06 / 3600, abs=5e-6)   # dump prints 0.01" steps
    assert duo.meta.lon_deg == pytest.approx(-(2 + 48 / 60 + 54.09 / 3600), abs=5e-6)
    assert duo.meta.gps_alt_exif_m == pytest.approx(81.02, abs=0.01)
    assert duo.meta.capture_time.isoformat() == "2018-11-05T12:14:43.084000+01:00"
    e40 = decode_thermal(realdata / "thermal/flir_rjpeg/FLIR_E40.jpg")
    assert (e40.meta.make, e40.meta.model) == ("FLIR Systems AB", "FLIR E40")
    assert e40.meta.capture_time.isoformat() == "2013-04-12T09:24:01.131000-01:00"
    xt2 = decode_thermal(realdata / "thermal/flir_rjpeg/DJI_XT2.jpg")
    assert xt2.decoder == "flir-rjpeg" and xt2.meta.make == "DJI"
    assert xt2.meta.alt_rel_m == pytest.approx(1.9) and xt2.meta.gimbal_yaw_deg == pytest.approx(82.4)


ALL_THERMAL = FLIR_FILES + realdata_files("thermal/dji_rjpeg/**/*.[jJ][pP][gG]") \
    + realdata_files("thermal/dji_sdk_groundtruth/*.jpg")


@pytest.mark.skipif(not oracle.exiftool_available(), reason="exiftool not installed")
@pytest.mark.parametrize("path", ALL_THERMAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gps_matches_live_exiftool(path: Path) -> None:
    import json
    import subprocess

    from dronepipe.thermal import metadata
    from dronepipe.thermal.records import CaptureMeta

    out = subprocess.run(["exiftool", "-j", "-n", "-GPSLatitude", "-GPSLongitude", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    theirs = json.loads(out)[0]
    data = path.read_bytes()
    if fff.is_fff(data):
        frame = _frame(path)
        meta = CaptureMeta(lat_deg=frame.lat_deg, lon_deg=frame.lon_deg)
    else:
        layout = jpeg.read_layout(data)
        meta = metadata.jpeg_meta(data, layout)
        if meta.lat_deg is None and fff.FLIR_APP1_PREFIX in data:
            frame = _frame(path)
            meta = CaptureMeta(lat_deg=frame.lat_deg, lon_deg=frame.lon_deg)
    if "GPSLatitude" not in theirs:
        assert meta.lat_deg is None
        return
    assert meta.lat_deg == pytest.approx(float(theirs["GPSLatitude"]), abs=1e-7)
    assert meta.lon_deg == pytest.approx(float(theirs["GPSLongitude"]), abs=1e-7)
