"""XYZ map tiles (Web Mercator, 256 px PNG) of the growing mosaics, for the page, GIS and TAK.

For each pixel of the tile its centre goes to the mosaic's UTM grid
(``tile_reproject``) and the mosaic is sampled there (``Mosaic.sample``: nearest cell,
thread-safe, reads only the tiles it needs). Thermal tiles are coloured with the
project's ironbow palette over the span of ``ThermalSpan`` (stated in the page's
legend); RGB tiles keep the mosaic's colours. Pixels no frame has seen are transparent.

Rendered tiles are cached (bytes-bounded LRU) under the key (kind, mosaic, tile, the
highest version among the mosaic tiles the XYZ tile covers, colour span): a mosaic
version only grows, so a change to any covered mosaic tile makes a new key, and tiles
the drone has left are served from the cache. The key's hash is the tile's ETag.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dronepipe.outputs.palette import colourise, png_bytes
from dronepipe.stitching.grid import MosaicGrid, TileIndex
from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.lru import BytesLRU
from dronepipe.stream.thermal_span import ThermalSpan
from dronepipe.stream.tile_reproject import F64, lattice_to_grid, pixels_to_grid
from dronepipe.stream.view import LiveView
from dronepipe.stream.webmercator import TILE_PX, TileXYZ

log = logging.getLogger(__name__)
KINDS = ("thermal", "rgb")


@dataclass(frozen=True)
class RenderedTile:
    """A tile's PNG bytes and its ETag (quoted, as HTTP sends it)."""

    png: bytes
    etag: str


@lru_cache(maxsize=1)
def transparent_png() -> bytes:
    """A fully transparent 256 x 256 PNG (inside the mosaic's extent, nothing seen yet)."""
    return png_bytes(np.zeros((TILE_PX, TILE_PX, 4), np.uint8))


class TileRenderer:
    """Renders and caches XYZ tiles of a ``LiveView``'s mosaics (thread-safe)."""

    def __init__(self, view: LiveView, span: ThermalSpan, cache_bytes: int = 64 << 20) -> None:
        self.view = view
        self.span = span
        self.cache = BytesLRU(cache_bytes)

    def render(self, kind: str, t: TileXYZ) -> RenderedTile | None:
        """The tile, or None where there is no such mosaic yet or the tile lies
        wholly outside its grid."""
        mosaic = self.view.mosaic(kind) if kind in KINDS else None
        if mosaic is None:
            return None
        lat_e, lat_n = lattice_to_grid(t, mosaic.grid.epsg)
        covered = covered_tiles(mosaic.grid, lat_e, lat_n)
        if covered is None:
            return None
        version = max((mosaic.tile_version(i) for i in covered), default=0)
        span = self.span.current(mosaic) if kind == "thermal" else None
        key: Hashable = (kind, id(mosaic), mosaic.grid, t, version, span)
        etag = '"' + hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest() + '"'
        if version == 0:
            return RenderedTile(transparent_png(), etag)
        png = self.cache.get(key)
        if png is None:
            png = png_bytes(tile_rgba(mosaic, lat_e, lat_n, span))
            self.cache.put(key, png)
        return RenderedTile(png, etag)


def covered_tiles(grid: MosaicGrid, lat_e: F64, lat_n: F64) -> list[TileIndex] | None:
    """The mosaic tiles within the bounding box of a tile's lattice (conservative), or
    None where the box misses the grid."""
    col, row = grid.to_pixel(lat_e, lat_n)
    c0, c1 = math.floor(float(col.min())), math.floor(float(col.max()))
    r0, r1 = math.floor(float(row.min())), math.floor(float(row.max()))
    if c1 < 0 or r1 < 0 or c0 >= grid.width or r0 >= grid.height:
        return None
    tc0, tc1 = max(c0, 0) // grid.tile, min(c1, grid.width - 1) // grid.tile
    tr0, tr1 = max(r0, 0) // grid.tile, min(r1, grid.height - 1) // grid.tile
    return [TileIndex(r, c) for r in range(tr0, tr1 + 1) for c in range(tc0, tc1 + 1)]


def tile_rgba(mosaic: Mosaic, lat_e: F64, lat_n: F64,
              span_c: tuple[float, float] | None) -> np.ndarray:
    """(TILE_PX, TILE_PX, 4) uint8 RGBA of the mosaic at a tile's pixel centres;
    thermal coloured over ``span_c`` (degrees C), alpha 0 where unseen."""
    e, n = pixels_to_grid(lat_e, lat_n)
    values = mosaic.sample(e, n)
    if mosaic.kind == "rgb":
        return np.ascontiguousarray(np.moveaxis(values, 0, -1))
    lo, hi = span_c if span_c is not None else (0.0, 100.0)
    temp = values[0]
    rgba = np.empty((*temp.shape, 4), np.uint8)
    rgba[..., :3] = colourise(temp, lo, hi, nan_rgb=(0, 0, 0))
    rgba[..., 3] = np.where(np.isfinite(temp), 255, 0)
    return rgba
