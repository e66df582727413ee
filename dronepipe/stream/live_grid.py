"""The live mosaic's grid: the area is not known in advance, so the grid is a square of
``area_m`` on a side centred on the first keyframe, at its ground sample distance (or
a given one). Frames reaching outside the square are clipped (the caller counts them).
At 1500 m and 0.1 m that is 15000 x 15000 pixels, of which only the tiles touched are
ever held (see ``TileStore``); the products are cropped to the tiles with data."""

from __future__ import annotations

import math

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid


def live_grid(first: GeoFrame, area_m: float, gsd_m: float | None = None,
              tile: int = 512) -> MosaicGrid:
    """A north-up square grid of side ``area_m`` (metres) around ``first``'s footprint
    centre, ``gsd_m`` metres per pixel (default the frame's own), origin snapped to
    whole multiples of the GSD."""
    gsd = float(gsd_m or first.gsd_m)
    if not (gsd > 0 and math.isfinite(gsd) and area_m > 0):
        raise ValueError(f"live grid needs a positive GSD and area, got {gsd}, {area_m}")
    ce, cn = (float(v) for v in first.footprint_m.mean(axis=0))
    half = area_m / 2.0
    e0, n0 = math.floor((ce - half) / gsd) * gsd, math.ceil((cn + half) / gsd) * gsd
    size = max(1, math.ceil(area_m / gsd))
    return MosaicGrid(first.epsg, (e0, n0), gsd, size, size, tile)


def inside(grid: MosaicGrid, gf: GeoFrame) -> str:
    """``"inside"``, ``"clipped"`` (partly outside) or ``"outside"`` the grid."""
    w, s, e, n = grid.bounds_m
    fw, fs, fe, fn = gf.bounds_m
    if fe <= w or fw >= e or fn <= s or fs >= n:
        return "outside"
    if fw >= w and fe <= e and fs >= s and fn <= n:
        return "inside"
    return "clipped"
