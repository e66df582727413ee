"""Map coordinates: the flight's UTM zone, WGS84, meridian convergence, MGRS.

Rasters are in the flight's UTM zone (EPSG:326xx north, 327xx south); GeoJSON is WGS84
(RFC 7946, lon/lat order); hotspots also carry MGRS (UTMREF), which German fire
services read out on the radio. Every conversion between these lives here.

Heights are not converted here: a height is above mean sea level, above the ellipsoid
or above take-off, and the name of every height variable says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mgrs as _mgrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

F64 = NDArray[np.float64]


def utm_epsg_for(lon_deg: float, lat_deg: float) -> int:
    """EPSG code of the WGS84 UTM zone holding a point (326zz north, 327zz south).

    Includes the Norway and Svalbard exceptions of the zone grid.
    """
    if not (-180.0 <= lon_deg <= 180.0 and -80.0 <= lat_deg <= 84.0):
        raise ValueError(f"no UTM zone for lon {lon_deg}, lat {lat_deg}")
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    if 56.0 <= lat_deg < 64.0 and 3.0 <= lon_deg < 12.0:
        zone = 32
    elif 72.0 <= lat_deg < 84.0 and 0.0 <= lon_deg < 42.0:
        zone = 31 if lon_deg < 9.0 else 33 if lon_deg < 21.0 else 35 if lon_deg < 33.0 else 37
    return (32600 if lat_deg >= 0.0 else 32700) + zone


@lru_cache(maxsize=16)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    fwd = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    inv = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    return fwd, inv


@dataclass(frozen=True)
class UtmFrame:
    """A projected map frame (normally the flight's UTM zone), by EPSG code.

    Picklable (it holds only the code), so it travels to dask workers.
    """

    epsg: int

    @classmethod
    def for_point(cls, lon_deg: float, lat_deg: float) -> UtmFrame:
        """The UTM zone frame holding a point."""
        return cls(utm_epsg_for(lon_deg, lat_deg))

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    def to_grid(self, lon_deg: ArrayLike, lat_deg: ArrayLike) -> tuple[F64, F64]:
        """WGS84 lon/lat (degrees) to grid easting/northing (metres)."""
        e, n = _transformers(self.epsg)[0].transform(np.asarray(lon_deg, dtype=np.float64),
                                                     np.asarray(lat_deg, dtype=np.float64))
        return np.asarray(e, dtype=np.float64), np.asarray(n, dtype=np.float64)

    def to_lonlat(self, easting_m: ArrayLike, northing_m: ArrayLike) -> tuple[F64, F64]:
        """Grid easting/northing (metres) to WGS84 lon/lat (degrees)."""
        lon, lat = _transformers(self.epsg)[1].transform(np.asarray(easting_m, dtype=np.float64),
                                                         np.asarray(northing_m, dtype=np.float64))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def true_north_grid_azimuth(self, lon_deg: float, lat_deg: float) -> float:
        """Grid azimuth of true north at a point (radians, clockwise from grid north).

        Measured by projecting a short step along the meridian, so no sign convention
        of a library has to be trusted. A direction with true azimuth ``a`` has grid
        azimuth ``a + this``.
        """
        e, n = self.to_grid([lon_deg, lon_deg], [lat_deg - 1e-4, lat_deg + 1e-4])
        return float(np.arctan2(e[1] - e[0], n[1] - n[0]))

    def scale_factor(self, lon_deg: float, lat_deg: float) -> float:
        """Grid distance per ground distance at a point (UTM: 0.9996 on the central meridian)."""
        e, n = self.to_grid([lon_deg, lon_deg], [lat_deg - 1e-4, lat_deg + 1e-4])
        ground_m = 2e-4 * _meridian_m_per_deg(lat_deg)
        return float(np.hypot(e[1] - e[0], n[1] - n[0]) / ground_m)


def _meridian_m_per_deg(lat_deg: float) -> float:
    """Length of one degree of latitude on the WGS84 ellipsoid (metres)."""
    a, f = 6378137.0, 1.0 / 298.257223563
    e2 = f * (2.0 - f)
    s = np.sin(np.radians(lat_deg))
    return float(np.pi / 180.0 * a * (1.0 - e2) / (1.0 - e2 * s * s) ** 1.5)


def mgrs_of(lat_deg: float, lon_deg: float, precision: int = 5) -> str:
    """MGRS/UTMREF reference of a point, spaced as read out on the radio.

    ``precision`` 5 gives 1 m (``32U LV 12345 67890``), 4 gives 10 m.
    """
    raw = _mgrs.MGRS().toMGRS(lat_deg, lon_deg, MGRSPrecision=precision)
    if isinstance(raw, bytes):
        raw = raw.decode("ascii")
    zone_end = 3 if raw[2].isalpha() else 2
    gzd, square, digits = raw[:zone_end], raw[zone_end:zone_end + 2], raw[zone_end + 2:]
    half = len(digits) // 2
    return f"{gzd} {square} {digits[:half]} {digits[half:]}".strip()
