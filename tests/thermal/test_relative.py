"""Palette and 8-bit pictures decode as relative values, flagged non-radiometric."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dronepipe.errors import ThermalDecodeError
from dronepipe.thermal import DecodeOptions, decode_thermal, relative_image


def _png(tmp_path: Path, pixels: np.ndarray, name: str = "frame.png") -> Path:
    path = tmp_path / name
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def test_grey_png_maps_onto_default_span(tmp_path: Path) -> None:
    grey = np.array([[0, 51, 255]], np.uint8)
    image = decode_thermal(_png(tmp_path, grey))
    assert image.decoder == "relative-image" and not image.radiometric
    np.testing.assert_allclose(image.celsius, [[0.0, 20.0, 100.0]], atol=1e-4)
    assert "NOT RADIOMETRIC" in image.notes[0]
    assert image.params.emissivity is None


def test_user_span(tmp_path: Path) -> None:
    grey = np.array([[0, 255]], np.uint8)
    image = decode_thermal(_png(tmp_path, grey), DecodeOptions(relative_span_c=(-20.0, 140.0)))
    np.testing.assert_allclose(image.celsius, [[-20.0, 140.0]])


def test_grey_jpeg_stored_as_colour_is_grey(tmp_path: Path) -> None:
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))
    path = tmp_path / "ramp.jpg"
    path.write_bytes(cv2.imencode(".jpg", cv2.cvtColor(ramp, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])[1])
    image = decode_thermal(path)
    assert not image.radiometric
    assert np.abs(image.celsius - ramp / 2.55).max() < 2.0
    assert "grey level" in image.notes[0]


def _iron_like_palette() -> np.ndarray:
    """A black - purple - red - yellow - white ramp (RGB, cold first)."""
    stops = np.array([[0, 0, 0], [90, 0, 140], [220, 40, 40], [250, 200, 0], [255, 255, 255]], float)
    x = np.linspace(0, len(stops) - 1, 256)
    return np.stack([np.interp(x, np.arange(len(stops)), stops[:, i]) for i in range(3)], 1).astype(np.uint8)


def test_colour_video_frame_with_and_without_palette() -> None:
    palette = _iron_like_palette()
    levels = np.tile(np.arange(256), (4, 1))
    rgb = palette[levels]
    exact = relative_image(rgb, "frame#12 of flight.mp4", palette=palette)
    assert not exact.radiometric and "palette index" in exact.notes[0]
    np.testing.assert_allclose(exact.celsius, levels / 2.55, atol=1e-3)
    approx = relative_image(rgb, "frame#12 of flight.mp4")
    assert "luminance" in approx.notes[0]
    assert (np.diff(approx.celsius[0]) >= -0.5).all()        # iron-like palettes keep their order


def test_truncated_jpeg_is_an_error(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    data = cv2.imencode(".jpg", noise)[1].tobytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ThermalDecodeError, match="cut.jpg"):
        decode_thermal(path)


def test_readonly_result(tmp_path: Path) -> None:
    image = decode_thermal(_png(tmp_path, np.zeros((2, 2), np.uint8)))
    with pytest.raises(ValueError):
        image.celsius[0, 0] = 5.0
