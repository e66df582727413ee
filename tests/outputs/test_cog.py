"""COG writing: a valid Cloud-Optimized GeoTIFF with the product metadata, written atomically."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp

from dronepipe import __version__
from dronepipe.outputs.cog import RasterSpec, cog_problems, iso_utc, product_tags, write_cog

T0 = 1714557600.25  # 2024-05-01T10:00:00.250Z


def thermal_spec(w: int = 700, h: int = 600) -> RasterSpec:
    return RasterSpec(32632, Affine(0.25, 0, 410000.0, 0, -0.25, 5477000.0), w, h, 1, "float32",
                      float("nan"), ("gray",), "degC", "temperature", 256)


def blocks(spec: RasterSpec,
           skip: frozenset[tuple[int, int]] = frozenset()) -> Iterator[tuple[int, int, np.ndarray]]:
    b = spec.blocksize
    for r0 in range(0, spec.height, b):
        for c0 in range(0, spec.width, b):
            if (r0 // b, c0 // b) in skip:
                continue
            h, w = min(b, spec.height - r0), min(b, spec.width - c0)
            rr, cc = np.mgrid[r0:r0 + h, c0:c0 + w]
            yield r0, c0, (20.0 + 0.01 * rr + 0.02 * cc).astype(np.float32)[None]


def test_thermal_cog_has_crs_transform_nodata_tiling_overviews_and_tags(tmp_path: Path) -> None:
    spec = thermal_spec()
    tags = product_tags(kind="thermal", gsd_m=0.25, t_start_utc_s=T0, t_end_utc_s=T0 + 600,
                        n_frames=42, radiometric=True, units="degC")
    path = write_cog(tmp_path / "ortho_thermal.tif", spec, blocks(spec, skip={(1, 1)}), tags)
    assert cog_problems(path) == []
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32632
        assert src.transform == spec.transform
        assert src.dtypes == ("float32",) and math.isnan(src.nodata)
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.overviews(1) == [2, 4]  # down to one block
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.units == ("degC",)
        t = src.tags()
        assert t["GSD_M"] == "0.25" and t["UNITS"] == "degC" and t["N_FRAMES"] == "42"
        assert t["TIME_START_UTC"] == "2024-05-01T10:00:00.250Z"
        assert t["TIME_END_UTC"] == "2024-05-01T10:10:00.250Z"
        assert t["RADIOMETRIC"] == "true" and t["SOFTWARE"] == f"dronepipe {__version__}"
        data = src.read(1)
    rr, cc = np.mgrid[0:600, 0:700]
    want = (20.0 + 0.01 * rr + 0.02 * cc).astype(np.float32)
    hole = np.zeros(want.shape, bool)
    hole[256:512, 256:512] = True  # the block never written reads as nodata
    assert np.isnan(data[hole]).all()
    assert np.array_equal(data[~hole], want[~hole])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ortho_thermal.tif"]


def test_rgb_cog_has_alpha_and_averaged_overviews(tmp_path: Path) -> None:
    spec = RasterSpec(32615, Affine(0.5, 0, 576000.0, 0, -0.5, 5188000.0), 600, 520, 4, "uint8",
                      None, ("red", "green", "blue", "alpha"), None, None, 256)
    tile = np.zeros((4, 256, 256), np.uint8)
    tile[0], tile[1], tile[2], tile[3] = 200, 100, 50, 255
    path = write_cog(tmp_path / "ortho_rgb.tif", spec, [(0, 0, tile)],
                     product_tags(kind="rgb", gsd_m=0.5, t_start_utc_s=None, t_end_utc_s=None,
                                  n_frames=1, radiometric=False, units=None))
    assert cog_problems(path) == []
    with rasterio.open(path) as src:
        assert src.count == 4 and src.dtypes == ("uint8",) * 4 and src.nodata is None
        assert src.colorinterp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha)
        assert src.tags(ns="IMAGE_STRUCTURE")["OVERVIEW_RESAMPLING"] == "AVERAGE"
        assert src.tags()["RADIOMETRIC"] == "false" and "TIME_START_UTC" not in src.tags()
        a = src.read()
    assert (a[:, :256, :256] == tile).all() and (a[3, 300:, 300:] == 0).all()


def test_a_failed_write_leaves_no_file_and_keeps_the_old_product(tmp_path: Path) -> None:
    spec = thermal_spec()

    def failing() -> Iterator[tuple[int, int, np.ndarray]]:
        for i, b in enumerate(blocks(spec)):
            if i == 3:
                raise OSError("disk full (simulated)")
            yield b

    target = tmp_path / "ortho_thermal.tif"
    with pytest.raises(OSError, match="simulated"):
        write_cog(target, spec, failing(), {})
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"old product")
    with pytest.raises(OSError, match="simulated"):
        write_cog(target, spec, failing(), {})
    assert target.read_bytes() == b"old product"
    assert [p.name for p in tmp_path.iterdir()] == ["ortho_thermal.tif"]


def test_iso_utc() -> None:
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000Z"
