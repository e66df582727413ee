"""A small 2D similarity correction of one frame's placement in the map grid.

Direct georeferencing is metres off; registration and the global adjustment solve, per
frame, a small similarity transform in the grid that moves the frame's raw ground
points to where they belong:

    p_corrected = c + scale * R(dtheta) @ (p_raw - c) + (dx, dy)

with ``c`` = ``centre_m`` (easting, northing, metres; normally the centroid of the raw
footprint, so that the four parameters are nearly uncorrelated), ``R(dtheta)`` a
rotation counter-clockwise from grid east towards grid north by ``dtheta_rad`` radians,
``scale`` dimensionless and ``(dx_m, dy_m)`` metres east and north.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Correction2D:
    """A similarity correction in the grid about ``centre_m`` (see the module docstring)."""

    dx_m: float = 0.0
    dy_m: float = 0.0
    dtheta_rad: float = 0.0
    scale: float = 1.0
    centre_m: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0.0):
            raise ValueError(f"correction scale must be positive and finite, got {self.scale}")

    @property
    def is_identity(self) -> bool:
        return self.dx_m == 0.0 and self.dy_m == 0.0 and self.dtheta_rad == 0.0 and self.scale == 1.0

    def _rotation(self) -> tuple[float, float]:
        return float(np.cos(self.dtheta_rad)), float(np.sin(self.dtheta_rad))

    def apply(self, easting_m: ArrayLike, northing_m: ArrayLike) -> tuple[F64, F64]:
        """Raw grid points (metres) to corrected grid points (metres)."""
        e = np.asarray(easting_m, dtype=np.float64)
        n = np.asarray(northing_m, dtype=np.float64)
        if self.is_identity:
            return e, n
        c, s = self._rotation()
        x, y = e - self.centre_m[0], n - self.centre_m[1]
        return (self.centre_m[0] + self.scale * (c * x - s * y) + self.dx_m,
                self.centre_m[1] + self.scale * (s * x + c * y) + self.dy_m)

    def invert(self, easting_m: ArrayLike, northing_m: ArrayLike) -> tuple[F64, F64]:
        """Corrected grid points (metres) back to raw grid points (metres)."""
        e = np.asarray(easting_m, dtype=np.float64)
        n = np.asarray(northing_m, dtype=np.float64)
        if self.is_identity:
            return e, n
        c, s = self._rotation()
        x = (e - self.centre_m[0] - self.dx_m) / self.scale
        y = (n - self.centre_m[1] - self.dy_m) / self.scale
        return self.centre_m[0] + c * x + s * y, self.centre_m[1] - s * x + c * y

    def compose(self, later: Correction2D) -> Correction2D:
        """The single correction equal to applying ``self`` and then ``later``.

        Keeps ``self``'s centre; used when an adjustment refines an already corrected frame.
        """
        c0 = np.asarray(self.centre_m)
        # later(self(p)) = cl + sl Rl (c0 + s0 R0 (p - c0) + d0 - cl) + dl
        cl = np.asarray(later.centre_m)
        rl = _rot(later.dtheta_rad)
        t = cl + later.scale * rl @ (c0 + np.array([self.dx_m, self.dy_m]) - cl) \
            + np.array([later.dx_m, later.dy_m]) - c0
        return Correction2D(float(t[0]), float(t[1]), self.dtheta_rad + later.dtheta_rad,
                            self.scale * later.scale, self.centre_m)


def _rot(theta: float) -> F64:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])
