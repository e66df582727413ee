"""DJI R-JPEGs through dji-thermal-cli, against DJI's own SDK output; the missing-package error."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import MissingDependencyError, ThermalDecodeError
from dronepipe.thermal import DecodeOptions, decode_thermal, synthetic
from tests.conftest import realdata_files

HAVE_DTC = importlib.util.find_spec("dji_thermal_cli") is not None
needs_dtc = pytest.mark.skipif(not HAVE_DTC, reason="dji-thermal-cli not installed (pip install 'dronepipe[dji]')")
DJI_FILES = realdata_files("thermal/dji_rjpeg/**/*.[jJ][pP][gG]")


@needs_dtc
def test_matches_dji_sdk_temperature_map(realdata: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    folder = realdata / "thermal/dji_sdk_groundtruth"
    sdk_tenths = tifffile.imread(folder / "test.tiff").astype(np.int32)    # dirp_measure: int16, 0.1 C
    image = decode_thermal(folder / "test.jpg")
    assert image.decoder == "dji-rjpeg" and image.radiometric
    assert image.params.object_distance_m == 5.0        # embedded, not the rangefinder's 10.35 m
    c = image.celsius
    assert c.shape == sdk_tenths.shape and c.dtype == np.float32
    # dirp_measure truncates 10*T towards zero: the SDK's own map is exactly that of our floats
    truncated = np.trunc(c * np.float32(10.0)).astype(np.int32)
    np.testing.assert_array_equal(truncated, sdk_tenths)
    assert np.abs(c - sdk_tenths / 10.0).max() <= 0.1 + 1e-4


@needs_dtc
def test_rangefinder_distance_would_differ(realdata: Path) -> None:
    path = realdata / "thermal/dji_sdk_groundtruth/test.jpg"
    embedded = decode_thermal(path)
    assert embedded.meta.lrf_distance_m == pytest.approx(10.346)
    at_lrf = decode_thermal(path, DecodeOptions(object_distance_m=embedded.meta.lrf_distance_m))
    assert at_lrf.params.object_distance_m == 10.0      # the H20T's SDK keeps whole metres
    assert np.abs(at_lrf.celsius - embedded.celsius).max() > 0.5


@needs_dtc
@pytest.mark.parametrize("path", DJI_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_dji_file_decodes_plausibly(path: Path) -> None:
    image = decode_thermal(path)
    c = image.celsius
    assert image.decoder == "dji-rjpeg" and image.radiometric
    assert c.shape == (512, 640) and c.dtype == np.float32 and np.isfinite(c).all()
    assert -40.0 < float(c.min()) < float(c.max()) < 150.0
    assert float(c.max() - c.min()) > 5.0              # a real scene, not a constant
    assert image.params.emissivity is not None and image.params.object_distance_m is not None


@needs_dtc
def test_dji_metadata(realdata: Path) -> None:
    image = decode_thermal(realdata / "thermal/dji_rjpeg/H20N/DJI_0006_R.JPG")
    m = image.meta
    assert (m.make, m.model) == ("DJI", "ZH20N")
    assert m.alt_rel_m == pytest.approx(42.602) and m.gimbal_pitch_deg == pytest.approx(-32.9)
    assert m.lat_deg is not None and m.lon_deg is not None
    assert m.capture_time is not None and m.capture_time.year == 2022


@needs_dtc
def test_dji_emissivity_override(realdata: Path) -> None:
    path = realdata / "thermal/dji_rjpeg/M2EA/DJI_0005_R.JPG"
    own = decode_thermal(path)
    changed = decode_thermal(path, DecodeOptions(emissivity=0.8))
    assert changed.params.emissivity == pytest.approx(0.8)
    assert float(np.mean(changed.celsius)) > float(np.mean(own.celsius))


def _dji_like(tmp_path: Path) -> Path:
    path = tmp_path / "DJI_0001_T.JPG"
    path.write_bytes(synthetic.dji_like_jpeg_bytes())
    return path


def test_missing_package_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dji_thermal_cli", None)       # import now raises ImportError
    with pytest.raises(MissingDependencyError) as err:
        decode_thermal(_dji_like(tmp_path))
    message = str(err.value)
    assert "pip install 'dronepipe[dji]'" in message and "3.12" in message


@needs_dtc
def test_dji_like_file_without_real_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ThermalDecodeError, match="DJI_0001_T.JPG"):
        decode_thermal(_dji_like(tmp_path))


@pytest.mark.parametrize("path", DJI_FILES + realdata_files("thermal/flir_rjpeg/DJI_XT2.jpg"),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_xmp_attitude_matches_exiftool(path: Path) -> None:
    from dronepipe.thermal import jpeg, metadata
    from tests.thermal import oracle

    fields = oracle.exiftool_fields(path)
    if fields is None or "Gimbal Pitch Degree" not in fields:
        pytest.skip("no ExifTool reading of the gimbal")
    data = path.read_bytes()
    meta = metadata.jpeg_meta(data, jpeg.read_layout(data))
    if meta.gimbal_pitch_deg is None:
        assert b"GimbalPitchDegree" not in data, "the file has XMP attitude we did not read"
        pytest.skip("XMP stripped from the stored copy")
    for ours, name in ((meta.gimbal_pitch_deg, "Gimbal Pitch Degree"), (meta.gimbal_yaw_deg, "Gimbal Yaw Degree"),
                       (meta.gimbal_roll_deg, "Gimbal Roll Degree"), (meta.flight_yaw_deg, "Flight Yaw Degree"),
                       (meta.alt_rel_m, "Relative Altitude")):
        assert ours == pytest.approx(float(fields[name]), abs=1e-6), name
