"""Reading georeferenced rasters onto a common evaluation grid.

Both the product (a mosaic) and the truth are resampled with GDAL (rasterio
``reproject``) onto one north-up grid in the truth's CRS covering where both have
data, at a stated cell size: area-averaged where the grid is coarser than the source,
bilinear where finer. Invalid cells (outside the raster, nodata, NaN, alpha 0) are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject, transform_bounds

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class EvalGrid:
    """A north-up grid: top-left corner (west, north), cell size, shape, CRS."""

    west_m: float
    north_m: float
    cell_m: float
    width: int
    height: int
    crs: CRS

    @property
    def transform(self) -> Affine:
        return Affine(self.cell_m, 0.0, self.west_m, 0.0, -self.cell_m, self.north_m)

    @property
    def cell_area_m2(self) -> float:
        return self.cell_m * self.cell_m


@dataclass(frozen=True)
class RasterInfo:
    """Where a raster lies (bounds in ``crs``), its cell size and band count."""

    path: Path
    crs: CRS
    bounds: tuple[float, float, float, float]
    cell_m: float
    count: int


def raster_info(path: Path) -> RasterInfo:
    """Bounds, CRS, cell size and band count of a raster file."""
    with rasterio.open(path) as ds:
        return RasterInfo(path, ds.crs, tuple(ds.bounds), float(abs(ds.transform.a)), ds.count)


def common_grid(a: RasterInfo, b: RasterInfo, cell_m: float, crs: CRS) -> EvalGrid | None:
    """The grid over the intersection of two rasters' bounds (in ``crs``), or None."""
    ab = transform_bounds(a.crs, crs, *a.bounds)
    bb = transform_bounds(b.crs, crs, *b.bounds)
    west = math.ceil(max(ab[0], bb[0]) / cell_m) * cell_m
    south = math.ceil(max(ab[1], bb[1]) / cell_m) * cell_m
    east = math.floor(min(ab[2], bb[2]) / cell_m) * cell_m
    north = math.floor(min(ab[3], bb[3]) / cell_m) * cell_m
    if east - west < 4 * cell_m or north - south < 4 * cell_m:
        return None
    return EvalGrid(west, north, cell_m, int(round((east - west) / cell_m)),
                    int(round((north - south) / cell_m)), crs)


def read_band(path: Path, band: int, grid: EvalGrid, valid_band: int | None = None,
              offset_m: tuple[float, float] = (0.0, 0.0)) -> F32:
    """Band ``band`` (1-based) resampled onto ``grid``, float32, NaN where invalid.

    ``valid_band``: an alpha band (0 = no data). ``offset_m``: shift the source by
    (east, north) metres before resampling (to undo a measured displacement).
    """
    with rasterio.open(path) as ds:
        src = ds.read(band).astype(np.float32)
        invalid = ~np.isfinite(src)
        if ds.nodata is not None and not math.isnan(ds.nodata):
            invalid |= src == ds.nodata
        if valid_band is not None:
            invalid |= ds.read(valid_band) == 0
        elif ds.count in (2, 4) or ds.mask_flag_enums[band - 1] != [rasterio.enums.MaskFlags.all_valid]:
            invalid |= ds.read_masks(band) == 0
        src[invalid] = np.nan
        t = ds.transform
        t = Affine(t.a, t.b, t.c - offset_m[0], t.d, t.e, t.f - offset_m[1])
        out = np.full((grid.height, grid.width), np.nan, np.float32)
        coarser = grid.cell_m > abs(t.a) * 1.2
        reproject(src, out, src_transform=t, src_crs=ds.crs, src_nodata=np.nan,
                  dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=np.nan,
                  resampling=Resampling.average if coarser else Resampling.bilinear)
    return out


def read_grey(path: Path, grid: EvalGrid, offset_m: tuple[float, float] = (0.0, 0.0)) -> F32:
    """A colour raster (RGB or RGBA) as luminance on ``grid``; NaN where invalid."""
    info = raster_info(path)
    if info.count < 3:
        return read_band(path, 1, grid, offset_m=offset_m)
    alpha = 4 if info.count >= 4 else None
    r, g, b = (read_band(path, k, grid, alpha, offset_m) for k in (1, 2, 3))
    return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)
