"""The simulated world: colour and thermal radiance rasters, hot objects, terrain.

``build_world`` draws the layout (``layout.py``), textures it row block by row block
(bounded memory), draws the hot objects (``hotspots.py``) and converts temperature to
band radiance (``radiometry.py``). Rendering samples image pyramids of both rasters
(``cv2.pyrDown``, a Gaussian pre-filter), choosing per image the level whose cell
matches the ground footprint of a rendered ray, so that fine texture does not alias.

Memory: at 5 cm cells a 250 m x 250 m world holds 25 M cells: about 75 MB of colour
and 100 MB of radiance (plus a third for the pyramids).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.grid import RasterGrid
from dronepipe.sim.hotspots import (
    Canvas,
    Core,
    TrueHotspot,
    Views,
    draw_hotspots,
    draw_vehicle,
    parked_cars,
    plan_hotspots,
    vehicle_shadow,
)
from dronepipe.sim.layout import Layout, build_layout
from dronepipe.sim.materials import MATERIAL_ID, MaterialTables, material_tables
from dronepipe.sim.radiometry import RadianceTable
from dronepipe.sim.texture import NoiseField
from dronepipe.stitching.georef import GridGround

log = logging.getLogger(__name__)
F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
TILE_ROWS = 128


@dataclass(frozen=True)
class World:
    """Rasters on ``grid`` (EPSG ``epsg``): ``rgb`` (H, W, 3) uint8 sRGB and
    ``radiance`` (H, W) float32 relative band radiance, each with its pyramid
    (level k has cells ``2**k`` times larger; pixel j of level k is centred on pixel
    ``j * 2**k`` of level 0). ``dem`` is None on flat ground (height 0 above take-off)."""

    grid: RasterGrid
    epsg: int
    rgb_levels: tuple[U8, ...] = field(repr=False)
    radiance_levels: tuple[F32, ...] = field(repr=False)
    hotspots: tuple[TrueHotspot, ...]
    table: RadianceTable = field(repr=False)
    dem: GridGround | None = field(default=None, repr=False)
    dem_grid: RasterGrid | None = None

    @property
    def rgb(self) -> U8:
        return self.rgb_levels[0]

    @property
    def radiance(self) -> F32:
        return self.radiance_levels[0]

    def level_for(self, footprint_m: float) -> int:
        """Pyramid level whose cell is the largest not coarser than ``footprint_m``."""
        k = int(math.floor(math.log2(max(footprint_m, 1e-9) / self.grid.cell_m) + 1e-9))
        return int(np.clip(k, 0, len(self.rgb_levels) - 1))


def _textured_rows(lay: Layout, tab: MaterialTables, fields: dict[str, NoiseField],
                   r0: int, r1: int, seed: int) -> tuple[U8, F32]:
    """Colour and temperature (C) of world rows ``r0`` .. ``r1 - 1``."""
    g = lay.grid
    x = ((np.arange(g.width) + 0.5) * g.cell_m)[None, :]
    y = ((np.arange(r0, r1) + 0.5) * g.cell_m)[:, None]
    p, q = lay.strip_coords(x, y)
    i = np.clip(np.searchsorted(lay.strip_edges_m, p), 0, lay.parcel_crop.shape[0] - 1)
    j = np.clip(np.searchsorted(lay.cut_edges_m, q), 0, lay.parcel_crop.shape[1] - 1)
    edge_dist = np.minimum(np.abs(p - lay.strip_edges_m[np.clip(i - 1, 0, None)]),
                           np.abs(lay.strip_edges_m[np.clip(i, 0, len(lay.strip_edges_m) - 1)] - p))
    over = lay.overlay[r0:r1]
    crop = np.where(edge_dist < 0.6, MATERIAL_ID["meadow"], lay.parcel_crop[i, j])
    mat = np.where(over > 0, over, crop)
    drawn = over > 0
    gain = np.where(drawn, 1.0, lay.parcel_gain[i, j]).astype(np.float32)
    tjit = np.where(drawn, 0.0, lay.parcel_temp_k[i, j]).astype(np.float32)
    bid = lay.building[r0:r1]
    ang = lay.building_angle[bid] + np.float32(math.pi / 2)
    phase = np.where(bid > 0, x * np.cos(ang) + y * np.sin(ang), p).astype(np.float32)
    del p, q, i, j, edge_dist
    rng = np.random.default_rng([seed, r0])
    grain = rng.standard_normal(mat.shape, dtype=np.float32)
    relief = (lay.relief[r0:r1].astype(np.float32) - 128.0) / 128.0
    smooth = tab.large[mat] * fields["large"].rows(r0, r1)
    fine = (tab.fine[mat] * fields["fine"].rows(r0, r1)
            + tab.stripe[mat] * np.sin(np.float32(2 * math.pi) * phase / tab.period_m[mat]))
    bright = 1.0 + smooth + fine + tab.grain[mat] * grain + 0.45 * relief
    lit = lay.shade[r0:r1].astype(np.float32) / 255.0
    lit = np.where(tab.shaded[mat] > 0, lit, 1.0)
    hue = fields["hue"].rows(r0, r1)[..., None] * np.array([-0.015, 0.02, -0.012], np.float32)
    rgb = tab.rgb[mat] * (gain * bright * lit)[..., None] * (1.0 + hue)
    # heat diffuses: temperature follows the metre-scale brightness fully, the fine
    # texture weakly and the per-cell grain hardly at all
    temp = (tab.temp_c[mat] + tjit + tab.coupling_k[mat] * (smooth + 0.3 * fine)
            + tab.moisture_k[mat] * fields["moist"].rows(r0, r1) + 0.03 * grain
            + 2.0 * relief - 12.0 * (1.0 - lit))
    return np.clip(rgb, 0, 255).astype(np.uint8), np.clip(temp, 5.0, 35.0).astype(np.float32)


def _pyramid(base: NDArray, min_side: int = 64, max_levels: int = 6) -> tuple[NDArray, ...]:
    levels = [base]
    while len(levels) < max_levels and min(levels[-1].shape[:2]) >= 2 * min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return tuple(levels)


def build_world(grid: RasterGrid, epsg: int, seed: int, core: Core, counts: tuple[int, int, int, int],
                table: RadianceTable, dem: GridGround | None = None,
                dem_grid: RasterGrid | None = None, views: Views | None = None) -> World:
    """Generate the world on ``grid`` from ``seed``; hot objects go inside ``core``
    (local metres) where ``views`` (local point -> number of thermal frames seeing it)
    allows; ``counts`` = (fires, ember nests, persons, vehicles)."""
    rng = np.random.default_rng([seed, 1])
    lay = build_layout(grid, rng, core.centre)
    specs = plan_hotspots(lay, np.random.default_rng([seed, 2]), core, *counts,
                          **({} if views is None else {"views": views}))
    cars = parked_cars(lay, np.random.default_rng([seed, 3]), 6)
    for s in specs:
        if s.cls == "vehicle":
            vehicle_shadow(lay, s.centre, s.heading)
    for centre, heading in cars:
        vehicle_shadow(lay, centre, heading)
    tab = material_tables()
    fields = {name: NoiseField(grid, scales, amps, seed * 100 + k)
              for k, (name, scales, amps) in enumerate((
                  ("large", (12.0, 4.0, 1.5), (0.6, 0.6, 0.5)),
                  ("fine", (0.6, 0.25, 0.12), (0.6, 0.6, 0.5)),
                  ("hue", (8.0, 2.0), (0.8, 0.5)),
                  ("moist", (10.0, 3.0, 1.0), (0.7, 0.6, 0.4))))}
    rgb = np.empty((*grid.shape, 3), np.uint8)
    temp = np.empty(grid.shape, np.float32)
    for r0 in range(0, grid.height, TILE_ROWS):
        r1 = min(grid.height, r0 + TILE_ROWS)
        rgb[r0:r1], temp[r0:r1] = _textured_rows(lay, tab, fields, r0, r1, seed)
    can = Canvas(lay, temp, rgb)
    drng = np.random.default_rng([seed, 4])
    for centre, heading in cars:
        draw_vehicle(can, drng, centre, heading, "", warm=False)
    hot = draw_hotspots(can, drng, specs)
    del lay, can
    radiance = temp  # converted in place, block by block
    for r0 in range(0, grid.height, TILE_ROWS):
        radiance[r0:r0 + TILE_ROWS] = table.radiance(temp[r0:r0 + TILE_ROWS])
    log.info("world %d x %d cells of %.3f m, %d hot objects", grid.width, grid.height,
             grid.cell_m, len(hot))
    return World(grid, epsg, _pyramid(rgb), _pyramid(radiance), tuple(hot), table, dem, dem_grid)
