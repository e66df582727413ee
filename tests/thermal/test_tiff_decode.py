"""16-bit and float TIFFs: scales, presets, pass-through, bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile

from dronepipe.errors import DronepipeError, DronepipeWarning, ThermalDecodeError
from dronepipe.thermal import TIFF_SCALE_PRESETS, DecodeOptions, TiffScale, decode_thermal, synthetic, tiff_scale
from dronepipe.thermal.tiff import celsius_table, counts_to_celsius


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_centikelvin_round_trip(tmp_path: Path) -> None:
    scene = synthetic.gradient_scene(64, 48, -20.0, 120.0)
    image = decode_thermal(_write(tmp_path, "frame.tiff", synthetic.centikelvin_tiff_bytes(scene)))
    assert image.decoder == "tiff" and image.radiometric and image.celsius.dtype == np.float32
    assert np.abs(image.celsius - scene).max() <= 0.005 + 1e-4     # half a count of 0.01 K


def test_known_counts_to_celsius(tmp_path: Path) -> None:
    counts = np.array([[27315, 29315], [37315, 0]], np.uint16)
    buf = io.BytesIO()
    tifffile.imwrite(buf, counts)
    c = decode_thermal(_write(tmp_path, "c.tif", buf.getvalue())).celsius
    np.testing.assert_allclose(c[0], [0.0, 20.0], atol=1e-4)
    assert c[1, 0] == pytest.approx(100.0, abs=1e-4)
    assert np.isnan(c[1, 1])                                        # 0 K: no data


@pytest.mark.parametrize(("preset", "k_per_count"), [("duo-pro-r-high", 0.04), ("duo-pro-r-low", 0.40),
                                                     ("decikelvin", 0.1), ("centikelvin", 0.01)])
def test_presets(tmp_path: Path, preset: str, k_per_count: float) -> None:
    scene = synthetic.gradient_scene(32, 16, 0.0, 90.0)
    path = _write(tmp_path, f"{preset}.tif", synthetic.centikelvin_tiff_bytes(scene, k_per_count))
    image = decode_thermal(path, DecodeOptions(tiff_scale=preset))
    assert TIFF_SCALE_PRESETS[preset].scale_k_per_count == k_per_count
    assert np.abs(image.celsius - scene).max() <= k_per_count / 2 + 1e-3
    assert preset in image.notes[0]


def test_decicelsius_and_custom_scale() -> None:
    assert tiff_scale("decicelsius").offset_k == pytest.approx(273.15)
    custom = tiff_scale("0.04:-5")
    assert (custom.scale_k_per_count, custom.offset_k) == (0.04, -5.0)
    assert tiff_scale(0.1).scale_k_per_count == 0.1
    with pytest.raises(DronepipeError, match="unknown TIFF scale"):
        tiff_scale("furlongs")


def test_wrong_scale_warns_but_decodes(tmp_path: Path) -> None:
    scene = synthetic.gradient_scene(32, 16, 0.0, 90.0)
    path = _write(tmp_path, "duo.tif", synthetic.centikelvin_tiff_bytes(scene, 0.04))
    with pytest.warns(DronepipeWarning, match="implausible"):
        image = decode_thermal(path)                               # read as centikelvin: ~ -200 C
    assert float(np.nanmedian(image.celsius)) < -150


def test_float_tiff_passes_through(tmp_path: Path) -> None:
    values = np.array([[-12.5, 0.0], [37.0, np.nan]], np.float32)
    buf = io.BytesIO()
    tifffile.imwrite(buf, values)
    path = _write(tmp_path, "temps.tif", buf.getvalue())
    image = decode_thermal(path)
    np.testing.assert_array_equal(image.celsius, values)
    with pytest.warns(DronepipeWarning, match="implausible"):       # -273 C: these were Celsius
        kelvin = decode_thermal(path, DecodeOptions(tiff_float_unit="K"))
    assert kelvin.celsius[1, 0] == pytest.approx(37.0 - 273.15)


def test_8bit_tiff_is_relative(tmp_path: Path) -> None:
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.array([[0, 255]], np.uint8))
    image = decode_thermal(_write(tmp_path, "grey.tif", buf.getvalue()))
    assert not image.radiometric
    np.testing.assert_allclose(image.celsius, [[0.0, 100.0]])


@pytest.mark.parametrize("keep", [8, 100, 0.5, 0.9])
def test_truncated_tiff_is_a_clear_error(tmp_path: Path, keep: float) -> None:
    data = synthetic.centikelvin_tiff_bytes(synthetic.gradient_scene(64, 48))
    cut = keep if isinstance(keep, int) else int(len(data) * keep)
    path = _write(tmp_path, "cut.tif", data[:cut])
    with pytest.raises(ThermalDecodeError, match="cut.tif"):
        decode_thermal(path)


def test_random_bytes_and_empty_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    noise = _write(tmp_path, "noise.bin", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ThermalDecodeError, match="noise.bin: not a supported thermal image"):
        decode_thermal(noise)
    with pytest.raises(ThermalDecodeError, match="empty file"):
        decode_thermal(_write(tmp_path, "empty.jpg", b""))
    with pytest.raises(ThermalDecodeError, match="no such file"):
        decode_thermal(tmp_path / "missing.tif")
    text = _write(tmp_path, "notes.txt", b"not an image\n")
    with pytest.raises(ThermalDecodeError, match="notes.txt"):
        decode_thermal(text)


def test_tiff_magic_with_garbage_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "fake.tif", b"II*\x00" + b"\xff" * 200)
    with pytest.raises(ThermalDecodeError, match="fake.tif"):
        decode_thermal(path)


def test_compressed_tiffs_decode_through_imagecodecs(tmp_path: Path) -> None:
    """tifffile decodes zlib and LZW strips (with the differencing predictor) through the
    imagecodecs dependency: in C and without the GIL, so that frames decode in parallel
    on the dask threads (tifffile's fallback is Python and numpy, strip by strip)."""
    import imagecodecs

    counts = np.random.default_rng(3).integers(25000, 40000, (512, 640)).astype(np.uint16)
    for compression in ("zlib", "lzw"):
        path = tmp_path / f"{compression}.tiff"
        tifffile.imwrite(path, counts, compression=compression, predictor=True, rowsperstrip=51)
        image = decode_thermal(path, DecodeOptions())
        assert np.allclose(image.celsius, counts * 0.01 - 273.15, atol=1e-4)
    assert tifffile.tifffile.imagecodecs is imagecodecs


@pytest.mark.parametrize("scale", [*TIFF_SCALE_PRESETS.values(), tiff_scale("0.04:-5"), tiff_scale(0.0123)])
def test_counts_table_equals_float64_path(scale: TiffScale) -> None:
    """Every 16-bit count converts through the table exactly as through float64
    arithmetic (bit for bit), and 0 is NaN only where the offset is 0."""
    counts = np.arange(2**16, dtype=np.uint16).reshape(256, 256)
    kelvin = counts.astype(np.float64) * scale.scale_k_per_count + scale.offset_k
    want = (kelvin - 273.15).astype(np.float32)
    if scale.offset_k == 0.0:
        want[counts == 0] = np.nan
    got = counts_to_celsius(counts, scale)
    assert got.dtype == np.float32 and got.flags.writeable
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    assert np.isnan(got[0, 0]) == (scale.offset_k == 0.0)


def test_wide_counts_take_the_float64_path() -> None:
    counts = np.array([[0, 29315], [70000, 27315]], np.uint32)
    got = counts_to_celsius(counts, TIFF_SCALE_PRESETS["centikelvin"])
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(got.ravel()[1:], [20.0, 426.85, 0.0], atol=1e-4)
    table = celsius_table(TIFF_SCALE_PRESETS["centikelvin"])
    assert table.shape == (2**16,) and not table.flags.writeable
