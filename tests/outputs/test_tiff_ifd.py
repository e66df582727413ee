"""The one small TIFF writer: float32 and integer images with EXIF/GPS sub-IFDs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import ExifTags, Image

from dronepipe.outputs.tiff_ifd import ASCII, RATIONAL, SHORT, Tag, tiff_bytes


@pytest.mark.parametrize("compression", ["none", "deflate", "lzma"])
def test_float32_round_trip_with_exif_and_gps(tmp_path: Path, compression: str) -> None:
    img = np.random.default_rng(3).normal(20.0, 5.0, (70, 33)).astype(np.float32)
    img[0, 0] = np.nan
    path = tmp_path / "t.tif"
    path.write_bytes(tiff_bytes(img, [Tag(271, ASCII, "ACME")], [Tag(0x9003, ASCII, "2026:05:01 10:00:00")],
                                [Tag(1, ASCII, "N"), Tag(2, RATIONAL, [49, 26, 40.92]), Tag(6, RATIONAL, [(3125, 10)])],
                                compression))
    np.testing.assert_array_equal(tifffile.imread(path), img)
    ex = Image.open(path).getexif()
    assert ex[271] == "ACME" and ex.get_ifd(ExifTags.IFD.Exif)[0x9003] == "2026:05:01 10:00:00"
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    assert float(gps[2][2]) == pytest.approx(40.92) and float(gps[6]) == 312.5


def test_predictor_on_integers_only() -> None:
    img = np.arange(12, dtype=np.uint16).reshape(3, 4)
    with_predictor = tiff_bytes(img, [Tag(274, SHORT, 1)], predictor=True)
    assert tifffile.TiffFile(io.BytesIO(with_predictor)).pages[0].predictor == 2
    with pytest.raises(ValueError, match="predictor"):
        tiff_bytes(img.astype(np.float32), predictor=True)
    with pytest.raises(ValueError, match="compression"):
        tiff_bytes(img, compression="jpeg")
