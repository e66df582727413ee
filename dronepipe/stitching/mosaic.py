"""``Mosaic``: the orthomosaic that batch fills in bulk and the live mode frame by frame.

    mosaic = Mosaic(grid, "thermal")        # or "rgb"
    mosaic.prepare()
    mosaic.feed(geoframe, pixels)           # live: one frame, tiles updated at once
    mosaic.feed_many(geoframes, load, scheduler="threads")   # batch: a dask graph
    product = mosaic.finish(path)           # the COG, written tile by tile

Tiles are held in a ``TileStore`` (a bounded cache spilled to disk), so memory does not
grow with frames or area. How frames combine is ``compose``'s business (thermal: the
most direct frame per pixel, never averaged; RGB: feathered, in batch only the best
``max_contributors`` frames per pixel); which frames a batch tile draws, ``coverage``'s.
For a tile server, ``version``/``changes_since`` say which tiles changed and
``read_window`` reads any part of the current mosaic; all public methods are thread-safe.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from dronepipe.errors import DronepipeError
from dronepipe.stitching import compose
from dronepipe.stitching.compose import F32, Kind
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, TileIndex, intersect
from dronepipe.stitching.render import (
    Interpolation,
    frame_lattice,
    frame_windows,
    prepare_image,
    sample,
)
from dronepipe.stitching.tilestore import TileStore

log = logging.getLogger(__name__)
Loader = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class MosaicProduct:
    """A finished orthomosaic file: its ``path``, ``grid`` and ``kind``, how many frames
    went in, their capture time range (UTC seconds), whether it is radiometric, and how
    many tiles had data."""

    path: Path
    grid: MosaicGrid
    kind: Kind
    n_frames: int
    t_start_utc_s: float | None
    t_end_utc_s: float | None
    radiometric: bool
    tiles_with_data: int


class Mosaic:
    """A tiled orthomosaic on ``grid`` of ``kind`` ``"thermal"`` or ``"rgb"``.

    ``cache_tiles`` bounds the tiles held in memory (a 512 px tile is 2 MB thermal,
    4 MB RGB); ``workdir`` is where the spill folder goes (``None``: the temp folder);
    ``interpolation`` samples within a frame (``"linear"`` or ``"nearest"``);
    ``max_contributors``: in ``feed_many`` (batch), RGB blends only this many frames per
    pixel, those with the largest feather weights (None: every frame; see ``compose``).
    ``feed`` (live) always blends every frame it is given.
    """

    def __init__(self, grid: MosaicGrid, kind: Kind, *, cache_tiles: int = 64,
                 workdir: str | Path | None = None,
                 interpolation: Interpolation = "linear",
                 max_contributors: int | None = 4) -> None:
        if max_contributors is not None and max_contributors < 1:
            raise ValueError(f"max_contributors must be at least 1, got {max_contributors}")
        if kind not in ("thermal", "rgb"):
            raise ValueError(f"mosaic kind must be 'thermal' or 'rgb', got {kind!r}")
        self.grid = grid
        self.kind: Kind = kind
        self.cache_tiles = cache_tiles
        self.workdir = workdir
        self.interpolation: Interpolation = interpolation
        self.max_contributors = max_contributors
        self._lock = threading.RLock()
        self._store: TileStore | None = None
        self._version = 0
        self._tile_versions: dict[TileIndex, int] = {}
        self._frames: set[str] = set()
        self._t_range = (math.inf, -math.inf)
        self._radiometric = True

    # -- life cycle -------------------------------------------------------------------
    def prepare(self) -> None:
        """Make the tile store (idempotent)."""
        with self._lock:
            if self._store is None:
                self._store = TileStore(lambda: compose.empty(self.kind, self.grid.tile),
                                        self.cache_tiles, self.workdir)

    def close(self) -> None:
        """Drop the tiles and the spill folder (``finish`` does this after writing)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Mosaic:
        self.prepare()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def store(self) -> TileStore:
        if self._store is None:
            raise RuntimeError("Mosaic.prepare() has not been called (or finish() already was)")
        return self._store

    # -- filling ----------------------------------------------------------------------
    def check_frame(self, gf: GeoFrame) -> None:
        """Refuse a frame of the wrong kind or map zone."""
        if gf.kind != self.kind:
            raise DronepipeError(f"frame {gf.frame_id} is {gf.kind}, this mosaic is {self.kind}")
        if gf.epsg != self.grid.epsg:
            raise DronepipeError(f"frame {gf.frame_id} is in EPSG:{gf.epsg}, "
                                 f"the mosaic in EPSG:{self.grid.epsg}")

    def feed(self, gf: GeoFrame, pixels: np.ndarray) -> list[TileIndex]:
        """Draw one frame into the tiles it touches, now; returns the tiles that changed.

        ``pixels``: thermal (H, W) float32 degC, NaN where invalid; rgb (H, W, 3) uint8 RGB.
        """
        self.check_frame(gf)
        img = prepare_image(gf, pixels, self.grid.gsd_m)
        changed: list[TileIndex] = []
        fw = self.grid.window_of_bounds(gf.bounds_m)
        lat = frame_lattice(gf, self.grid, fw) if fw is not None else None
        for t, win in frame_windows(self.grid, gf):
            s = sample(gf, img, self.grid, win, self.interpolation, lat)
            if s is None:
                continue
            tw = self.grid.tile_window(t)
            with self._lock:
                acc = self.store.get(t)
                view = acc[:, win.row0 - tw.row0:win.row0 - tw.row0 + win.height,
                           win.col0 - tw.col0:win.col0 - tw.col0 + win.width]
                compose.add_sample(view, self.kind, *s)
                self._bump(t)
            changed.append(t)
        self.record_frames([gf])
        return changed

    def feed_many(self, geoframes: Sequence[GeoFrame], loader: Loader,
                  scheduler: Any = "threads", *, block_tiles: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> None:
        """Draw many frames as a dask graph (see ``dronepipe.stitching.batch``): frames are
        loaded lazily by ``loader(frame_id)`` on the workers; ``scheduler`` is "threads",
        "processes", "synchronous", a ``tcp://`` address of a dask.distributed scheduler,
        or a ``distributed.Client``; ``block_tiles``: tiles per block side (None: from the
        footprints). Each tile draws only the frames that decide its pixels
        (``coverage``): thermal equals feeding the frames in order (up to exact ties of
        the score); RGB too with ``max_contributors`` None, else it blends the best few."""
        from dronepipe.stitching.batch import render_blocks

        for gf in geoframes:
            self.check_frame(gf)
        for t, acc in render_blocks(self.grid, self.kind, geoframes, loader, scheduler,
                                    block_tiles=block_tiles, interpolation=self.interpolation,
                                    progress=progress, max_contributors=self.max_contributors):
            self.merge_tile(t, acc)
        self.record_frames(geoframes)

    def merge_tile(self, t: TileIndex, acc: F32) -> None:
        """Merge a tile accumulator rendered elsewhere (a dask task) into the mosaic; a
        tile nothing touched yet takes ``acc`` itself (no copy: the caller lets go of it)."""
        with self._lock:
            if self.store.has(t):
                compose.merge(self.store.get(t), acc, self.kind)
            else:
                self.store.put(t, acc)
            self._bump(t)

    def record_frames(self, geoframes: Sequence[GeoFrame]) -> None:
        """Count frames and their time range for the product's metadata."""
        with self._lock:
            for gf in geoframes:
                self._frames.add(gf.frame_id)
                self._t_range = (min(self._t_range[0], gf.t_utc_s), max(self._t_range[1], gf.t_utc_s))
                self._radiometric = self._radiometric and gf.radiometric

    def _bump(self, t: TileIndex) -> None:
        self._version += 1
        self._tile_versions[t] = self._version

    # -- reading (tile server) --------------------------------------------------------
    @property
    def version(self) -> int:
        """A counter that grows with every change of any tile."""
        with self._lock:
            return self._version

    def tile_version(self, t: TileIndex) -> int:
        """The ``version`` at the tile's last change (0: never touched)."""
        with self._lock:
            return self._tile_versions.get(t, 0)

    def changes_since(self, version: int) -> tuple[int, list[TileIndex]]:
        """The current version and the tiles changed after ``version`` (row by row)."""
        with self._lock:
            return self._version, sorted(t for t, v in self._tile_versions.items() if v > version)

    @property
    def n_frames(self) -> int:
        with self._lock:
            return len(self._frames)

    @property
    def radiometric(self) -> bool:
        """True while every frame drawn so far was radiometric (thermal: degrees C;
        False: relative values only). The live page shows a banner when it is False."""
        with self._lock:
            return self._radiometric and self.kind == "thermal"

    def read_tile(self, t: TileIndex) -> np.ndarray | None:
        """A tile's current output pixels (bands, h, w), cut at the grid edge; ``None``
        where no frame has touched it."""
        with self._lock:
            acc = self.store.read(t)
        if acc is None:
            return None
        w = self.grid.tile_window(t)
        return compose.finish(acc[:, :w.height, :w.width], self.kind)

    def read_window(self, win: PixelWindow) -> np.ndarray:
        """Output pixels (bands, h, w) of any block of the grid as it is now: thermal
        float32 degC (NaN unseen), rgb uint8 RGBA (alpha 0 unseen); outside the grid unseen."""
        bands = compose.output_bands(self.kind)
        dtype = np.float32 if self.kind == "thermal" else np.uint8
        out = np.full((bands, win.height, win.width), np.nan if self.kind == "thermal" else 0, dtype)
        t0r, t0c = max(0, win.row0 // self.grid.tile), max(0, win.col0 // self.grid.tile)
        t1r = min(self.grid.tile_rows - 1, (win.row0 + win.height - 1) // self.grid.tile)
        t1c = min(self.grid.tile_cols - 1, (win.col0 + win.width - 1) // self.grid.tile)
        for r in range(t0r, t1r + 1):
            for c in range(t0c, t1c + 1):
                data = self.read_tile(TileIndex(r, c))
                if data is not None:
                    _paste(out, win, data, self.grid.tile_window(TileIndex(r, c)))
        return out

    def sample(self, easting_m: ArrayLike, northing_m: ArrayLike) -> np.ndarray:
        """Output pixels (bands, *shape) of the cells holding grid points (nearest cell),
        as they are now; unseen (NaN / alpha 0) outside the grid. Reads only the tiles
        the points fall in: a tile server reprojecting to Web Mercator calls this."""
        col, row = self.grid.to_pixel(easting_m, northing_m)
        with np.errstate(invalid="ignore"):
            ci, ri = np.floor(col), np.floor(row)
            ok = (ci >= 0) & (ci < self.grid.width) & (ri >= 0) & (ri < self.grid.height)
        ci, ri = np.where(ok, ci, 0).astype(np.int64), np.where(ok, ri, 0).astype(np.int64)
        bands = compose.output_bands(self.kind)
        out = np.full((bands, *ci.shape), np.nan if self.kind == "thermal" else 0,
                      np.float32 if self.kind == "thermal" else np.uint8)
        key = (ri // self.grid.tile) * self.grid.tile_cols + ci // self.grid.tile
        for k in np.unique(key[ok]):
            t = TileIndex(int(k) // self.grid.tile_cols, int(k) % self.grid.tile_cols)
            data = self.read_tile(t)
            if data is None:
                continue
            sel = ok & (key == k)
            out[:, sel] = data[:, ri[sel] - t.row * self.grid.tile, ci[sel] - t.col * self.grid.tile]
        return out

    def iter_tiles(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """(row0, col0, output pixels) of every tile with data, row by row."""
        with self._lock:
            tiles = sorted(self.store.touched)
        for t in tiles:
            data = self.read_tile(t)
            if data is not None:
                w = self.grid.tile_window(t)
                yield w.row0, w.col0, data

    # -- the product ------------------------------------------------------------------
    def finish(self, path: str | Path, *, threads: int | None = None,
               crop: bool = False) -> MosaicProduct:
        """Write the mosaic as a Cloud-Optimized GeoTIFF at ``path`` (atomically, tile by
        tile) and release the tiles. Thermal: float32 degC, NaN nodata; rgb: uint8 RGBA.
        ``threads``: GDAL's threads compressing it (None: one a core; ``write_cog``).
        ``crop``: write only the block of whole tiles that holds data (the live mode's
        grid is a generous square of which the flight covers a part)."""
        from dronepipe.outputs.cog import product_tags, write_cog

        with self._lock:
            t0, t1 = self._t_range
            n, radiometric = len(self._frames), self._radiometric and self.kind == "thermal"
            n_tiles = len(self.store.touched)
            grid, tiles = self._cropped() if crop else (self.grid, self.iter_tiles())
        spec = raster_spec(grid, self.kind)
        tags = product_tags(kind=self.kind, gsd_m=self.grid.gsd_m,
                            t_start_utc_s=t0 if n else None, t_end_utc_s=t1 if n else None,
                            n_frames=n, radiometric=radiometric,
                            units="degC" if self.kind == "thermal" else None)
        write_cog(path, spec, tiles, tags, threads=threads or os.cpu_count() or 1)
        self.close()
        return MosaicProduct(Path(path), grid, self.kind, n, t0 if n else None,
                             t1 if n else None, radiometric, n_tiles)

    def _cropped(self) -> tuple[MosaicGrid, Iterator[tuple[int, int, np.ndarray]]]:
        """The sub-grid of whole tiles around the tiles with data, and those tiles in it."""
        touched = list(self.store.touched)
        if not touched:
            return self.grid, self.iter_tiles()
        g, size = self.grid, self.grid.tile
        r0, c0 = min(t.row for t in touched), min(t.col for t in touched)
        r1, c1 = max(t.row for t in touched), max(t.col for t in touched)
        height = min(g.height, (r1 + 1) * size) - r0 * size
        width = min(g.width, (c1 + 1) * size) - c0 * size
        origin = (g.origin_m[0] + c0 * size * g.gsd_m, g.origin_m[1] - r0 * size * g.gsd_m)
        sub = MosaicGrid(g.epsg, origin, g.gsd_m, width, height, size)
        shifted = ((row - r0 * size, col - c0 * size, data)
                   for row, col, data in self.iter_tiles())
        return sub, shifted


def raster_spec(grid: MosaicGrid, kind: Kind) -> Any:
    """The COG layout of a mosaic (a ``dronepipe.outputs.cog.RasterSpec``)."""
    from dronepipe.outputs.cog import RasterSpec

    if kind == "thermal":
        return RasterSpec(grid.epsg, grid.transform, grid.width, grid.height, 1, "float32",
                          float("nan"), ("gray",), "degC", "temperature", grid.tile)
    return RasterSpec(grid.epsg, grid.transform, grid.width, grid.height, 4, "uint8", None,
                      ("red", "green", "blue", "alpha"), None, None, grid.tile)


def _paste(out: np.ndarray, win: PixelWindow, data: np.ndarray, tw: PixelWindow) -> None:
    """Copy the part of a tile's pixels (at ``tw``) that falls in ``win`` into ``out``."""
    common = intersect(win, tw)
    if common is None:
        return
    out[:, common.row0 - win.row0:common.row0 - win.row0 + common.height,
        common.col0 - win.col0:common.col0 - win.col0 + common.width] = \
        data[:, common.row0 - tw.row0:common.row0 - tw.row0 + common.height,
             common.col0 - tw.col0:common.col0 - tw.col0 + common.width]
