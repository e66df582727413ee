"""Gentle terrain: a DEM of heights above mean sea level on a 1 m grid.

A plane of a few per cent slope plus smooth undulations (length scales of 60-150 m),
scaled so heights stay within about ``relief_m`` of the take-off point, whose ground is
exactly ``takeoff_msl_m``. Returned as the pipeline's ``GridGround`` (heights MSL).
"""

from __future__ import annotations

import numpy as np

from dronepipe.sim.grid import RasterGrid
from dronepipe.sim.texture import NoiseField
from dronepipe.stitching.georef import GridGround

DEM_CELL_M = 1.0


def make_dem(extent: RasterGrid, seed: int, relief_m: float, home_m: tuple[float, float],
             takeoff_msl_m: float, margin_m: float = 40.0) -> tuple[GridGround, RasterGrid]:
    """The DEM over ``extent`` plus ``margin_m`` (grid metres) and its grid."""
    g = RasterGrid.covering(extent.west_m - margin_m, extent.south_m - margin_m,
                            extent.east_m + margin_m, extent.north_m + margin_m, DEM_CELL_M)
    noise = NoiseField(g, (150.0, 60.0), (1.0, 0.4), seed).rows(0, g.height).astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    slope = rng.uniform(0.01, 0.03)
    direction = rng.uniform(0, 2 * np.pi)
    e, n = g.to_map(np.arange(g.width)[None, :], np.arange(g.height)[:, None])
    plane = slope * ((e - home_m[0]) * np.sin(direction) + (n - home_m[1]) * np.cos(direction))
    bumps = noise / max(float(np.abs(noise).max()), 1e-9) * relief_m * 0.6
    z = np.clip(plane, -relief_m * 0.6, relief_m * 0.6) + bumps
    home_col, home_row = g.to_pixel(home_m[0], home_m[1])
    ground = GridGround(z, (g.west_m, g.north_m), g.cell_m)
    z0 = float(ground.height_at(home_m[0], home_m[1]))
    del home_col, home_row
    return GridGround(z - z0 + takeoff_msl_m, (g.west_m, g.north_m), g.cell_m), g
