"""Our FFF reader on synthetic FLIR files: byte orders, PNG raw data, round trips, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import ThermalDecodeError
from dronepipe.thermal import DecodeOptions, decode_thermal, planck, synthetic
from dronepipe.thermal.records import RadiometricParams

SCENE = synthetic.FlirScene(synthetic.gradient_scene(80, 60, -30.0, 300.0), lat_lon_alt=(50.1, 8.6, 120.5))


@pytest.mark.parametrize("header_order", ["<", ">"])
@pytest.mark.parametrize("record_order", ["<", ">"])
@pytest.mark.parametrize("png", [False, True], ids=["raw", "png"])
@pytest.mark.parametrize("container", ["fff", "rjpeg"])
def test_round_trip_every_layout(tmp_path: Path, header_order: str, record_order: str, png: bool,
                                 container: str) -> None:
    data = synthetic.fff_bytes(SCENE, header_order, record_order, png)
    path = tmp_path / ("x.fff" if container == "fff" else "x.jpg")
    path.write_bytes(data if container == "fff" else synthetic.flir_jpeg_bytes(data, chunk=3000))
    image = decode_thermal(path)
    assert image.decoder == ("flir-fff" if container == "fff" else "flir-rjpeg")
    # the only loss is rounding the signal to whole counts (< 0.05 C over this range)
    assert np.abs(image.celsius - SCENE.celsius).max() < 0.05
    assert image.params.emissivity == pytest.approx(0.95)
    assert image.meta.lat_deg == pytest.approx(50.1) and image.meta.gps_alt_exif_m == pytest.approx(120.5)
    assert image.meta.t_utc_s == pytest.approx(1_600_000_000.25)
    assert image.meta.capture_time.utcoffset().total_seconds() == 3600


def test_planck_inverse_is_exact() -> None:
    temps = np.linspace(-40.0, 500.0, 200)
    for params in (synthetic.DEFAULT_PARAMS,
                   RadiometricParams(0.7, 100.0, -10.0, 30.0, 90.0, 5.0, 0.8)):
        raw = planck.celsius_to_raw(temps, SCENE.planck, SCENE.atmosphere, params)
        back = planck.raw_to_celsius(raw, SCENE.planck, SCENE.atmosphere, params)
        np.testing.assert_allclose(back, temps, atol=1e-3)


def test_atmosphere_and_emissivity_matter() -> None:
    raw = SCENE.raw()
    base = planck.raw_to_celsius(raw, SCENE.planck, SCENE.atmosphere, SCENE.params)
    far = planck.raw_to_celsius(raw, SCENE.planck, SCENE.atmosphere,
                                RadiometricParams(**{**SCENE.params.as_dict(), "object_distance_m": 500.0}))
    hot = SCENE.celsius > 100
    assert (far[hot] > base[hot]).all()        # more air absorbs more: the object must be hotter
    assert planck.transmission(0.0, 20.0, 50.0, SCENE.atmosphere) == pytest.approx(1.0)
    assert 0.5 < planck.transmission(100.0, 20.0, 50.0, SCENE.atmosphere) < 1.0


def test_signal_below_calibration_is_nan() -> None:
    raw = np.array([[0, 1, 20000]], np.uint16)
    c = planck.raw_to_celsius(raw, synthetic.DEFAULT_PLANCK, SCENE.atmosphere, SCENE.params)
    assert np.isnan(c[0, 0]) and np.isfinite(c[0, 2])


def test_overrides_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "x.fff"
    path.write_bytes(synthetic.fff_bytes(SCENE))
    image = decode_thermal(path, DecodeOptions(emissivity=0.5, relative_humidity_pct=20.0))
    assert (image.emissivity, image.relative_humidity_pct) == (0.5, 20.0)
    assert image.object_distance_m == pytest.approx(10.0)             # the file's own


def _flir_jpeg() -> bytes:
    return synthetic.flir_jpeg_bytes(synthetic.fff_bytes(SCENE), chunk=2000)


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.95])
def test_truncated_flir_jpeg_is_a_clear_error(tmp_path: Path, fraction: float) -> None:
    data = _flir_jpeg()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ThermalDecodeError, match="cut.jpg"):
        decode_thermal(path)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_truncated_fff_is_a_clear_error(tmp_path: Path, fraction: float) -> None:
    data = synthetic.fff_bytes(SCENE)
    path = tmp_path / "cut.fff"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ThermalDecodeError, match="cut.fff"):
        decode_thermal(path)


def test_corrupt_png_raw_is_a_clear_error(tmp_path: Path) -> None:
    data = bytearray(synthetic.fff_bytes(SCENE, png=True))
    start = data.index(b"\x89PNG")
    data[start + 40:start + 200] = b"\x00" * 160
    path = tmp_path / "bad.fff"
    path.write_bytes(bytes(data))
    with pytest.raises(ThermalDecodeError, match="bad.fff"):
        decode_thermal(path)


def test_decoder_is_chosen_by_content_not_name(tmp_path: Path) -> None:
    flir = tmp_path / "looks_like.tif"
    flir.write_bytes(_flir_jpeg())
    assert decode_thermal(flir).decoder == "flir-rjpeg"
    tiff = tmp_path / "looks_like.jpg"
    tiff.write_bytes(synthetic.centikelvin_tiff_bytes(SCENE.celsius))
    assert decode_thermal(tiff).decoder == "tiff"
    fff = tmp_path / "frame.bin"
    fff.write_bytes(synthetic.fff_bytes(SCENE))
    assert decode_thermal(fff).decoder == "flir-fff"
