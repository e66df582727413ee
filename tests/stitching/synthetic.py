"""Synthetic frames for the mosaic tests: a known ground pattern seen through a camera.

Each frame pixel shows the pattern at the ground point its ray meets (the GeoFrame's
own mapping, so a mosaic of exact poses must give the pattern back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.georef import GridGround

KL = (7.7689, 49.4447)  # Kaiserslautern, lon/lat
FRAME = UtmFrame.for_point(*KL)
Pattern = Callable[[np.ndarray, np.ndarray], np.ndarray]


def origin_en() -> tuple[float, float]:
    e, n = FRAME.to_grid(*KL)
    return float(e), float(n)


def pose_at(de: float, dn: float, alt: float = 100.0, yaw_deg: float = 0.0,
            pitch_deg: float = -90.0, roll_deg: float = 0.0, t: float = 1.7e9) -> Pose:
    """A pose ``de``/``dn`` metres east/north of KL (through the UTM grid), gimbal angles given."""
    e0, n0 = origin_en()
    lon, lat = FRAME.to_lonlat(e0 + de, n0 + dn)
    return Pose(t, float(lat), float(lon), 300.0 + alt, alt, 0.0, 0.0, np.radians(yaw_deg),
                np.radians(roll_deg), np.radians(pitch_deg), np.radians(yaw_deg))


def render(gf: GeoFrame, pattern: Pattern) -> np.ndarray:
    """The frame's pixels (H, W) float32: the pattern at each pixel's ground point."""
    u, v = np.meshgrid(np.arange(gf.camera.width, dtype=float), np.arange(gf.camera.height, dtype=float))
    p = gf.pixels_to_map(u, v)
    return pattern(p[..., 0], p[..., 1]).astype(np.float32)


def rgb(gray: np.ndarray) -> np.ndarray:
    """A uint8 RGB frame from a grey one (R = G = B)."""
    g = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def waves(e0: float, n0: float, wavelength_m: float = 12.0) -> Pattern:
    """A smooth pattern (20 .. 40 degC) with features in both directions."""
    k = 2 * np.pi / wavelength_m

    def f(e: np.ndarray, n: np.ndarray) -> np.ndarray:
        return 30.0 + 6.0 * np.sin(k * (e - e0)) + 4.0 * np.cos(0.7 * k * (n - n0) + 0.3)
    return f


def blob(e0: float, n0: float, sigma_m: float = 1.5) -> Pattern:
    """A hot Gaussian spot (20 degC background, +50 at ``e0, n0``)."""
    def f(e: np.ndarray, n: np.ndarray) -> np.ndarray:
        return 20.0 + 50.0 * np.exp(-((e - e0) ** 2 + (n - n0) ** 2) / (2 * sigma_m ** 2))
    return f


@dataclass(frozen=True)
class DictLoader:
    """A picklable ``load(frame_id)`` over frames kept in memory."""

    frames: dict[str, np.ndarray]

    def __call__(self, frame_id: str) -> np.ndarray:
        return self.frames[frame_id]


def small_camera(dist: tuple[float, float, float, float, float] = (0.0,) * 5) -> CameraModel:
    return CameraModel.from_fov("test-160", 160, 128, 40.0, dist)


def dem_ground(half_m: float, cell_m: float,
               height_m: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> GridGround:
    """A DEM square of ``half_m`` metres each side of KL in cells of ``cell_m`` metres, its
    heights ``height_m(de, dn)`` of the cell centres' offsets east and north of KL (m)."""
    e0, n0 = origin_en()
    n = int(round(2 * half_m / cell_m))
    ee = e0 - half_m + cell_m * (np.arange(n) + 0.5)
    nn = n0 + half_m - cell_m * (np.arange(n) + 0.5)
    ge, gn = np.meshgrid(ee, nn)
    return GridGround(height_m(ge - e0, gn - n0), (e0 - half_m, n0 + half_m), cell_m)
