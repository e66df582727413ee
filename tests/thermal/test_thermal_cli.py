"""``dronepipe thermal`` end to end: written TIFFs reopened with tifffile, values and tags checked."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from dronepipe.cli import cli
from dronepipe.thermal import decode_thermal, synthetic

SCENE = synthetic.FlirScene(synthetic.gradient_scene(64, 48, 5.0, 80.0), lat_lon_alt=(-33.8688, 151.2093, 58.25))


def _run(*args: str) -> tuple[int, dict | None, str]:
    """(exit code, the JSON summary or None, stderr plus every warning message)."""
    with warnings.catch_warnings(record=True) as caught, \
            mock.patch("logging.captureWarnings"):       # keep warnings here, not in pytest's or the log
        warnings.simplefilter("always")
        result = CliRunner().invoke(cli, ["-q", "thermal", *args])
    out = result.stdout
    err = result.stderr + "".join(f"warning: {w.message}\n" for w in caught)
    return result.exit_code, json.loads(out) if out.strip().startswith("{") else None, err


def _description(path: str) -> dict:
    with tifffile.TiffFile(path) as tif:
        return json.loads(tif.pages.first.tags["ImageDescription"].value)


def _gps_degrees(tags: dict, key: str) -> float:
    d, m, s = (tags[key][i] / tags[key][i + 1] for i in range(0, 6, 2))
    sign = -1 if tags[key + "Ref"] in ("S", "W") else 1
    return sign * (d + m / 60 + s / 3600)


def test_converts_synthetic_frames_and_keeps_gps_and_time(tmp_path: Path) -> None:
    src = tmp_path / "flight"
    src.mkdir()
    (src / "IR_0001.fff").write_bytes(synthetic.fff_bytes(SCENE))
    (src / "IR_0002.jpg").write_bytes(synthetic.flir_jpeg_bytes(synthetic.fff_bytes(SCENE, png=True)))
    (src / "IR_0003.tif").write_bytes(synthetic.centikelvin_tiff_bytes(SCENE.celsius))
    (src / "notes.txt").write_text("flight notes")
    (src / "IR_0004.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00\x10FLIR\x00\x01\x01\x01broken")
    out = tmp_path / "out"
    code, summary, err = _run(str(src), "-o", str(out))
    assert code == 0, err
    assert summary["written"] == 3 and summary["failed"] == 1 and summary["unsupported"] == 1
    assert "IR_0004.jpg" in err and "1 files are not supported" in err
    for name in ("IR_0001", "IR_0002"):
        path = out / f"{name}_temp_c.tif"
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            pixels = page.asarray()
            gps, exif = page.tags["GPSTag"].value, page.tags["ExifTag"].value
            doc = json.loads(page.tags["ImageDescription"].value)["dronepipe"]
        assert pixels.dtype == np.float32 and pixels.shape == (48, 64)
        assert np.abs(pixels - SCENE.celsius).max() < 0.05
        assert _gps_degrees(gps, "GPSLatitude") == pytest.approx(-33.8688, abs=1e-6)
        assert _gps_degrees(gps, "GPSLongitude") == pytest.approx(151.2093, abs=1e-6)
        assert gps["GPSAltitude"][0] / gps["GPSAltitude"][1] == pytest.approx(58.25, abs=1e-3)
        assert exif["DateTimeOriginal"] == "2020:09:13 13:26:40" and exif["OffsetTimeOriginal"] == "+01:00"
        assert doc["radiometric"] is True and doc["units"] == "C"
        assert doc["params"]["emissivity"] == pytest.approx(0.95)
        back = decode_thermal(path)                  # our own reader gets everything back too
        assert back.radiometric and back.meta.t_utc_s == pytest.approx(1_600_000_000.25, abs=1e-3)
        assert back.params.emissivity == pytest.approx(0.95)
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))          # atomic writes left nothing


def test_emissivity_option_reaches_the_decoder(tmp_path: Path) -> None:
    src = tmp_path / "IR.fff"
    src.write_bytes(synthetic.fff_bytes(SCENE))
    code, summary, err = _run(str(src), "-o", str(tmp_path / "out"), "--emissivity", "0.7", "--distance", "25")
    assert code == 0, err
    doc = _description(summary["outputs"][0])
    assert doc["dronepipe"]["params"]["emissivity"] == 0.7
    assert doc["dronepipe"]["params"]["object_distance_m"] == 25.0


def test_tiff_scale_option(tmp_path: Path) -> None:
    src = tmp_path / "duo.tif"
    src.write_bytes(synthetic.centikelvin_tiff_bytes(SCENE.celsius, 0.04))
    code, summary, err = _run(str(src), "-o", str(tmp_path / "out"), "--tiff-scale", "duo-pro-r-high")
    assert code == 0, err
    assert np.abs(tifffile.imread(summary["outputs"][0]) - SCENE.celsius).max() <= 0.021
    code, _, err = _run(str(src), "-o", str(tmp_path / "out2"), "--tiff-scale", "parsecs")
    assert code == 1 and "unknown TIFF scale" in err


def test_nothing_converted_exits_1(tmp_path: Path) -> None:
    src = tmp_path / "junk"
    src.mkdir()
    (src / "a.txt").write_text("x")
    (src / "b.fff").write_bytes(b"FFF\x00" + b"\x00" * 10)
    code, summary, err = _run(str(src), "-o", str(tmp_path / "out"))
    assert code == 1 and summary is None
    assert "no thermal frame could be converted" in err and "b.fff" in err


def test_relative_pictures_are_skipped_unless_asked(tmp_path: Path) -> None:
    import cv2

    src = tmp_path / "grey.png"
    src.write_bytes(cv2.imencode(".png", np.full((8, 8), 128, np.uint8))[1].tobytes())
    code, _, err = _run(str(src), "-o", str(tmp_path / "out"))
    assert code == 1 and "1 not radiometric" in err
    code, summary, err = _run(str(src), "-o", str(tmp_path / "out"), "--relative")
    assert code == 0, err
    doc = _description(summary["outputs"][0])
    assert doc["dronepipe"]["radiometric"] is False
    assert decode_thermal(summary["outputs"][0]).radiometric is False


def test_real_files(realdata: Path, tmp_path: Path) -> None:
    files = [realdata / "thermal/flir_rjpeg/FLIR_E40.jpg", realdata / "thermal/flir_fff/frame_000000.fff",
             realdata / "thermal/flir_rjpeg/DJI_XT2.jpg"]
    if importlib.util.find_spec("dji_thermal_cli"):
        files.append(realdata / "thermal/dji_rjpeg/H20N/DJI_0006_R.JPG")
    out = tmp_path / "out"
    code, summary, err = _run(*map(str, files), "-o", str(out))
    assert code == 0, err
    assert summary["written"] == len(files)
    for src in files:
        written = out / f"{src.stem}_temp_c.tif"
        pixels = tifffile.imread(written)
        assert pixels.dtype == np.float32
        np.testing.assert_array_equal(pixels, decode_thermal(src).celsius)
    with tifffile.TiffFile(out / "DJI_XT2_temp_c.tif") as tif:
        tags = tif.pages.first.tags
        gps, exif = tags["GPSTag"].value, tags["ExifTag"].value
        assert (tags["Make"].value, tags["Model"].value) == ("DJI", "FLIR")
    assert _gps_degrees(gps, "GPSLatitude") == pytest.approx(9 + 58 / 60 + 19.77 / 3600, abs=5e-6)
    assert _gps_degrees(gps, "GPSLongitude") == pytest.approx(76 + 22 / 60 + 40.03 / 3600, abs=5e-6)
    assert exif["DateTimeOriginal"] == "2018:07:27 14:51:54"
