"""Where the pixels of a Web-Mercator tile fall on the mosaic's UTM grid.

A 256 x 256 tile has 65,536 pixel centres; projecting each through PROJ costs more than
drawing the tile. The mapping Web Mercator -> UTM is smooth, so we project a lattice of
``LATTICE`` x ``LATTICE`` points spread over the tile (its first and last pixel centres
included) and interpolate bilinearly between them: at 17 x 17 the error is far below a
millimetre at zoom 16 and beyond (``tests/stream/test_tiles.py`` measures it against the
exact projection), and the rest is element-wise arithmetic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from dronepipe.geodesy import UtmFrame
from dronepipe.stream.webmercator import F64, TILE_PX, TileXYZ, pixel_lonlat

LATTICE = 17


@lru_cache(maxsize=4)
def _taps(n_out: int, n_lattice: int) -> tuple[NDArray[np.int64], F64]:
    """Left lattice index and weight of the right neighbour for each pixel centre."""
    f = np.arange(n_out, dtype=np.float64) * (n_lattice - 1) / (n_out - 1)
    k0 = np.minimum(np.floor(f).astype(np.int64), n_lattice - 2)
    t = f - k0
    k0.setflags(write=False)
    t.setflags(write=False)
    return k0, t


def _interp2(a: F64, n_out: int) -> F64:
    """Bilinear interpolation of a square lattice to ``n_out`` x ``n_out`` (element-wise
    numpy, no BLAS: a matrix product here contends for threads on a loaded machine)."""
    k0, t = _taps(n_out, a.shape[0])
    rows = a[:, k0] * (1.0 - t) + a[:, k0 + 1] * t
    return rows[k0, :] * (1.0 - t)[:, None] + rows[k0 + 1, :] * t[:, None]


def lattice_positions(n_lattice: int = LATTICE) -> F64:
    """Lattice positions along a tile side (pixels): first to last pixel centre."""
    return np.linspace(0.5, TILE_PX - 0.5, n_lattice)


def lattice_to_grid(t: TileXYZ, epsg: int, n_lattice: int = LATTICE) -> tuple[F64, F64]:
    """Easting and northing (metres, shape (n, n)) of the lattice points of a tile."""
    lon, lat = pixel_lonlat(t, lattice_positions(n_lattice))
    lon2, lat2 = np.meshgrid(lon, lat)
    return UtmFrame(epsg).to_grid(lon2, lat2)


def pixels_to_grid(lattice_e: F64, lattice_n: F64) -> tuple[F64, F64]:
    """Easting and northing (metres, (TILE_PX, TILE_PX)) of every pixel centre,
    interpolated from the lattice of ``lattice_to_grid``."""
    return _interp2(lattice_e, TILE_PX), _interp2(lattice_n, TILE_PX)


def exact_pixels_to_grid(t: TileXYZ, epsg: int) -> tuple[F64, F64]:
    """The same as ``pixels_to_grid(*lattice_to_grid(t, epsg))`` through PROJ for every
    pixel (for tests and low zoom levels)."""
    lon, lat = pixel_lonlat(t, np.arange(TILE_PX, dtype=np.float64) + 0.5)
    lon2, lat2 = np.meshgrid(lon, lat)
    return UtmFrame(epsg).to_grid(lon2, lat2)
