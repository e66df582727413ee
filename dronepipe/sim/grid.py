"""A north-up raster grid in the map frame (the flight's UTM zone).

Pixel ``(col, row)`` has its centre at ``(west_m + (col + 0.5) * cell_m,
north_m - (row + 0.5) * cell_m)``: integer pixel coordinates are pixel centres, as in
OpenCV's ``remap``, and ``(west_m, north_m)`` is the outer corner of the top-left pixel,
as in a GeoTIFF's geotransform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from rasterio.transform import Affine

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class RasterGrid:
    """``width`` x ``height`` cells of ``cell_m`` metres, top-left corner at (west_m, north_m)."""

    west_m: float
    north_m: float
    cell_m: float
    width: int
    height: int

    @classmethod
    def covering(cls, west_m: float, south_m: float, east_m: float, north_m: float,
                 cell_m: float) -> RasterGrid:
        """The grid of ``cell_m`` cells, snapped to multiples of the cell, covering a box."""
        w = math.floor(west_m / cell_m) * cell_m
        n = math.ceil(north_m / cell_m) * cell_m
        width = int(math.ceil((east_m - w) / cell_m))
        height = int(math.ceil((n - south_m) / cell_m))
        return cls(w, n, cell_m, width, height)

    @property
    def east_m(self) -> float:
        return self.west_m + self.width * self.cell_m

    @property
    def south_m(self) -> float:
        return self.north_m - self.height * self.cell_m

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def transform(self) -> Affine:
        """The GeoTIFF geotransform (rasterio ``Affine``)."""
        return Affine(self.cell_m, 0.0, self.west_m, 0.0, -self.cell_m, self.north_m)

    def to_pixel(self, easting_m: ArrayLike, northing_m: ArrayLike) -> tuple[F64, F64]:
        """Continuous pixel coordinates ``(col, row)`` (integers at pixel centres)."""
        col = (np.asarray(easting_m, dtype=np.float64) - self.west_m) / self.cell_m - 0.5
        row = (self.north_m - np.asarray(northing_m, dtype=np.float64)) / self.cell_m - 0.5
        return col, row

    def to_map(self, col: ArrayLike, row: ArrayLike) -> tuple[F64, F64]:
        """Map coordinates ``(easting, northing)`` of continuous pixel coordinates."""
        e = self.west_m + (np.asarray(col, dtype=np.float64) + 0.5) * self.cell_m
        n = self.north_m - (np.asarray(row, dtype=np.float64) + 0.5) * self.cell_m
        return e, n

    def coarsened(self, factor: int) -> RasterGrid:
        """The same area in cells ``factor`` times larger (trailing partial cells dropped)."""
        return RasterGrid(self.west_m, self.north_m, self.cell_m * factor,
                          self.width // factor, self.height // factor)
