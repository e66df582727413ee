"""Web-Mercator (EPSG:3857) XYZ tile arithmetic, as slippy maps, GIS clients and TAK use it.

Tile ``(z, x, y)`` covers ``1 / 2**z`` of the world in each direction; ``x`` grows east
from longitude -180 degrees, ``y`` grows south from latitude +85.0511 degrees. A tile is
``TILE_PX`` x ``TILE_PX`` pixels; pixel ``(row, col)`` of a tile has its centre at the
fractional tile position ``(col + 0.5) / TILE_PX``. Longitude depends on the column only
and latitude on the row only, so the pixel centres of a tile are two short vectors.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
TILE_PX = 256
MAX_ZOOM = 24
MAX_LAT_DEG = 85.05112878


class TileXYZ(NamedTuple):
    """An XYZ tile address: zoom ``z``, column ``x`` (east), row ``y`` (south)."""

    z: int
    x: int
    y: int


def valid_tile(t: TileXYZ) -> bool:
    """True where ``z`` is 0..MAX_ZOOM and ``x``, ``y`` lie in 0 .. 2**z - 1."""
    return 0 <= t.z <= MAX_ZOOM and 0 <= t.x < 2 ** t.z and 0 <= t.y < 2 ** t.z


def lon_of(x_frac: F64 | float, z: int) -> F64:
    """Longitude (degrees) of fractional tile column(s) ``x_frac`` at zoom ``z``."""
    return np.asarray(x_frac, dtype=np.float64) / 2 ** z * 360.0 - 180.0


def lat_of(y_frac: F64 | float, z: int) -> F64:
    """Latitude (degrees) of fractional tile row(s) ``y_frac`` at zoom ``z``."""
    m = math.pi * (1.0 - 2.0 * np.asarray(y_frac, dtype=np.float64) / 2 ** z)
    return np.degrees(np.arctan(np.sinh(m)))


def tile_of(lon_deg: float, lat_deg: float, z: int) -> tuple[float, float]:
    """Fractional tile (x, y) of a WGS84 point at zoom ``z``."""
    lat = math.radians(max(-MAX_LAT_DEG, min(MAX_LAT_DEG, lat_deg)))
    n = 2 ** z
    x = (lon_deg + 180.0) / 360.0 * n
    y = (1.0 - math.log(math.tan(lat) + 1.0 / math.cos(lat)) / math.pi) / 2.0 * n
    return x, y


def pixel_lonlat(t: TileXYZ, positions_px: F64) -> tuple[F64, F64]:
    """Longitudes and latitudes (degrees) at pixel positions of a tile.

    ``positions_px`` are positions along a tile side in pixels (0 = the tile's west or
    north edge, ``TILE_PX`` = the other edge; pixel centres are at ``i + 0.5``). Returns
    the longitude of each position as a column and the latitude of each as a row.
    """
    p = np.asarray(positions_px, dtype=np.float64) / TILE_PX
    return lon_of(t.x + p, t.z), lat_of(t.y + p, t.z)


def bounds_lonlat(t: TileXYZ) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in degrees."""
    lon, lat = pixel_lonlat(t, np.array([0.0, float(TILE_PX)]))
    return float(lon[0]), float(lat[1]), float(lon[1]), float(lat[0])
