"""``MosaicGrid``: the raster an orthomosaic is drawn on, and its tiles.

A north-up grid in the flight's UTM zone: ``origin_m`` is the (easting, northing) of the
top-left pixel's outer corner, ``gsd_m`` the pixel size in metres, ``width``/``height`` in
pixels. Pixel (row, col) covers easting ``[E0 + col*gsd, E0 + (col+1)*gsd)`` and northing
``(N0 - (row+1)*gsd, N0 - row*gsd]``. Tiles are ``tile`` x ``tile`` pixel blocks indexed
(tile_row, tile_col); the last row and column of tiles may be cut by the grid edge.
The origin snaps to whole multiples of the GSD, so a thermal and an RGB grid of the same
flight at the same GSD share pixel boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import cv2
import numpy as np
from affine import Affine
from numpy.typing import ArrayLike, NDArray

from dronepipe.errors import DronepipeError

F64 = NDArray[np.float64]
Bounds = tuple[float, float, float, float]  # west, south, east, north (grid metres)


class TileIndex(NamedTuple):
    """A tile's position: ``row`` and ``col`` in tiles (not pixels)."""

    row: int
    col: int


class PixelWindow(NamedTuple):
    """A block of grid pixels: top-left ``row0``, ``col0`` and its ``height``, ``width``."""

    row0: int
    col0: int
    height: int
    width: int


class Placed(Protocol):
    """Anything with an epsg, a GSD and a footprint (a ``GeoFrame``)."""

    epsg: int
    gsd_m: float

    @property
    def footprint_m(self) -> F64: ...


@dataclass(frozen=True)
class MosaicGrid:
    """A north-up raster grid in a UTM zone (see the module docstring)."""

    epsg: int
    origin_m: tuple[float, float]
    gsd_m: float
    width: int
    height: int
    tile: int = 512

    @property
    def transform(self) -> Affine:
        """The rasterio/GDAL affine transform (pixel corner -> grid metres)."""
        return Affine(self.gsd_m, 0.0, self.origin_m[0], 0.0, -self.gsd_m, self.origin_m[1])

    @property
    def bounds_m(self) -> Bounds:
        e0, n0 = self.origin_m
        return e0, n0 - self.height * self.gsd_m, e0 + self.width * self.gsd_m, n0

    @property
    def tile_rows(self) -> int:
        return -(-self.height // self.tile)

    @property
    def tile_cols(self) -> int:
        return -(-self.width // self.tile)

    def tiles(self) -> Iterator[TileIndex]:
        """Every tile, row by row."""
        for r in range(self.tile_rows):
            for c in range(self.tile_cols):
                yield TileIndex(r, c)

    def tile_window(self, t: TileIndex) -> PixelWindow:
        """The grid pixels of a tile, cut at the grid edge."""
        r0, c0 = t.row * self.tile, t.col * self.tile
        return PixelWindow(r0, c0, min(self.tile, self.height - r0), min(self.tile, self.width - c0))

    def cell_centres(self, w: PixelWindow) -> tuple[F64, F64]:
        """Easting (1, width) and northing (height, 1) of the pixel centres of a window, metres."""
        e: F64 = self.origin_m[0] + (w.col0 + np.arange(w.width) + 0.5) * self.gsd_m
        n: F64 = self.origin_m[1] - (w.row0 + np.arange(w.height) + 0.5) * self.gsd_m
        return e[None, :], n[:, None]

    def to_pixel(self, easting_m: ArrayLike, northing_m: ArrayLike) -> tuple[F64, F64]:
        """Fractional (col, row) of grid points; pixel centres are at whole numbers + 0.5."""
        e = np.asarray(easting_m, dtype=np.float64)
        n = np.asarray(northing_m, dtype=np.float64)
        col: F64 = (e - self.origin_m[0]) / self.gsd_m
        row: F64 = (self.origin_m[1] - n) / self.gsd_m
        return col, row

    def window_of_bounds(self, bounds: Bounds) -> PixelWindow | None:
        """The grid pixels whose cells meet ``bounds`` (grid metres), or ``None``."""
        w, s, e, n = bounds
        c0 = max(0, math.floor((w - self.origin_m[0]) / self.gsd_m))
        c1 = min(self.width, math.ceil((e - self.origin_m[0]) / self.gsd_m))
        r0 = max(0, math.floor((self.origin_m[1] - n) / self.gsd_m))
        r1 = min(self.height, math.ceil((self.origin_m[1] - s) / self.gsd_m))
        if c1 <= c0 or r1 <= r0:
            return None
        return PixelWindow(r0, c0, r1 - r0, c1 - c0)

    def tiles_touching(self, polygon_m: ArrayLike, sub: int = 16) -> list[TileIndex]:
        """Tiles a polygon (N, 2 grid metres) meets, row by row; conservative (a polygon
        edge passing within 1/``sub`` of a tile counts) by rasterising at ``sub`` cells per
        tile side and growing the result by one cell."""
        poly = np.asarray(polygon_m, dtype=np.float64)
        if not np.isfinite(poly).all() or len(poly) < 3:
            return []
        cell = self.tile * self.gsd_m / sub
        x = (poly[:, 0] - self.origin_m[0]) / cell
        y = (self.origin_m[1] - poly[:, 1]) / cell
        x0, y0 = max(0, math.floor(x.min()) - 1), max(0, math.floor(y.min()) - 1)
        x1 = min(self.tile_cols * sub, math.ceil(x.max()) + 2)
        y1 = min(self.tile_rows * sub, math.ceil(y.max()) + 2)
        if x1 <= x0 or y1 <= y0:
            return []
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        shift = 8
        pts = np.round(np.stack([x - x0 - 0.5, y - y0 - 0.5], -1) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=shift)
        cv2.polylines(mask, [pts], True, 1, lineType=cv2.LINE_8, shift=shift)
        grown = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        rr, cc = np.nonzero(grown)
        tiles = {((r + y0) // sub, (c + x0) // sub) for r, c in zip(rr.tolist(), cc.tolist(), strict=True)}
        return [TileIndex(r, c) for r, c in sorted(tiles)
                if r < self.tile_rows and c < self.tile_cols]


def grid_for(frames: Sequence[Placed], gsd: float | None = None, tile: int = 512,
             max_pixels: float = 4e9) -> MosaicGrid:
    """The grid covering every frame's footprint, at ``gsd`` metres per pixel (``None``:
    the median of the frames' GSDs, their native resolution).

    Raises ``DronepipeError`` for frames in different UTM zones, or an area so large for
    the GSD that it exceeds ``max_pixels`` (a footprint error, or a GSD too fine).
    """
    if not frames:
        raise DronepipeError("no georeferenced frames to make a mosaic grid from")
    epsgs = {f.epsg for f in frames}
    if len(epsgs) != 1:
        raise DronepipeError(f"frames in several map zones {sorted(epsgs)}; one flight, one zone")
    gsd = float(np.median([f.gsd_m for f in frames])) if gsd is None else float(gsd)
    if not (gsd > 0 and math.isfinite(gsd)):
        raise ValueError(f"ground sample distance must be positive, got {gsd}")
    w, s, e, n = union_bounds(f.footprint_m for f in frames)
    e0, n0 = math.floor(w / gsd) * gsd, math.ceil(n / gsd) * gsd
    width, height = math.ceil((e - e0) / gsd), math.ceil((n0 - s) / gsd)
    if width * height > max_pixels:
        raise DronepipeError(f"a mosaic of {width} x {height} pixels at {gsd:.3f} m "
                             f"({(e - w):.0f} m x {(n - s):.0f} m) is too large; choose a coarser GSD")
    return MosaicGrid(epsgs.pop(), (e0, n0), gsd, max(width, 1), max(height, 1), tile)


def union_bounds(polygons: Iterable[F64]) -> Bounds:
    """(west, south, east, north) of the finite points of several polygons."""
    pts = np.concatenate([np.asarray(p).reshape(-1, 2) for p in polygons])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise DronepipeError("no frame has a finite footprint")
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))


def intersect(a: PixelWindow, b: PixelWindow) -> PixelWindow | None:
    """The common part of two pixel windows, ``None`` where they do not meet."""
    r0, c0 = max(a.row0, b.row0), max(a.col0, b.col0)
    r1 = min(a.row0 + a.height, b.row0 + b.height)
    c1 = min(a.col0 + a.width, b.col0 + b.width)
    if r1 <= r0 or c1 <= c0:
        return None
    return PixelWindow(r0, c0, r1 - r0, c1 - c0)
