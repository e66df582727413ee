"""The floor of ``bench/process.py``: decode every input frame, write every output.

``FloorPlan.from_run`` reads (untimed) what a finished ``dronepipe process`` run wrote:
the mosaics' grids, tags and coverage (from an overview, one cell per 8x8 grid pixels),
the hotspots and mosaic records the bench pickled, and ``process.json``.
``decode_all`` decodes every thermal frame (``decode_thermal``) and every RGB frame
(``cv2.imread``) on a thread pool as wide as the pipeline's dask threads, keeping only
the last few as tile content; ``write_all`` writes the two COGs with the same tiles
and coverage (pixels cut from decoded frames, NaN / alpha 0 where the run's mosaic had
no data), the hotspot products of the same hotspots, and ``process.json``.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
from rasterio.enums import Resampling

from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.cog import write_cog
from dronepipe.outputs.hotspot_products import write_hotspot_products
from dronepipe.pipeline.products import report_context
from dronepipe.stitching.grid import MosaicGrid, TileIndex
from dronepipe.stitching.mosaic import MosaicProduct, raster_spec
from dronepipe.thermal import DecodeOptions, decode_thermal
from dronepipe.thermal.hotspot import Hotspot

COVERAGE_CELL = 8  # grid pixels per coverage cell (a COG overview level)
KEEP = 4  # decoded frames kept per kind as tile content


@dataclass(frozen=True)
class Raster:
    """One mosaic to write again: ``kind``, ``grid``, GeoTIFF ``tags`` and ``coverage``
    (bool, one cell per ``COVERAGE_CELL`` grid pixels: True where the run had data)."""

    kind: str
    grid: MosaicGrid
    tags: dict[str, str]
    coverage: np.ndarray


@dataclass(frozen=True)
class FloorPlan:
    """Inputs to decode and outputs to write (see the module)."""

    thermal: tuple[Path, ...]
    rgb: tuple[Path, ...]
    rasters: tuple[Raster, ...]
    hotspots: tuple[Hotspot, ...]
    mosaics: dict[str, MosaicProduct]
    provenance: dict[str, Any]
    source: str

    @property
    def n_frames(self) -> int:
        return len(self.thermal) + len(self.rgb)

    @classmethod
    def from_run(cls, flight: Path, ref: Path,
                 kinds: Sequence[str] = ("thermal", "rgb")) -> FloorPlan:
        """The plan for the ``kinds`` of frames of ``flight`` from the run that wrote
        into ``ref``."""
        with open(ref / "bench.pkl", "rb") as f:
            saved = pickle.load(f)
        rasters = tuple(read_raster(ref / f"ortho_{k}.tif", k) for k in ("thermal", "rgb")
                        if (ref / f"ortho_{k}.tif").exists())
        thermal = _files(flight / "thermal", (".tif", ".tiff")) if "thermal" in kinds else ()
        rgb = _files(flight / "rgb", (".jpg", ".jpeg")) if "rgb" in kinds else ()
        return cls(thermal, rgb, rasters,
                   tuple(saved["hotspots"]), dict(saved["mosaics"]),
                   json.loads((ref / "process.json").read_text()), str(flight))


def _files(folder: Path, suffixes: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.glob("*") if p.suffix.lower() in suffixes))


def read_raster(path: Path, kind: str) -> Raster:
    """Grid, tags and coverage of a written mosaic."""
    with rasterio.open(path) as src:
        t = src.transform
        grid = MosaicGrid(int(src.crs.to_epsg()), (t.c, t.f), t.a, src.width, src.height,
                          src.block_shapes[0][0])
        shape = (math.ceil(src.height / COVERAGE_CELL), math.ceil(src.width / COVERAGE_CELL))
        band = 1 if kind == "thermal" else 4
        low = src.read(band, out_shape=shape, resampling=Resampling.nearest)
        tags = dict(src.tags())
    coverage = ~np.isnan(low) if kind == "thermal" else low > 0
    return Raster(kind, grid, tags, coverage)


def decode_all(plan: FloorPlan) -> dict[str, list[np.ndarray]]:
    """Decode every frame (thread pool); the last ``KEEP`` of each kind, as tile content."""
    options = DecodeOptions()

    def thermal(p: Path) -> np.ndarray:
        return np.asarray(decode_thermal(p, options).celsius, np.float32)

    def rgb(p: Path) -> np.ndarray:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"{p}: cannot be read")
        return img

    kept: dict[str, list[np.ndarray]] = {}
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for kind, fn, paths in (("thermal", thermal, plan.thermal), ("rgb", rgb, plan.rgb)):
            last: deque[np.ndarray] = deque(maxlen=KEEP)
            last.extend(pool.map(fn, paths))
            kept[kind] = list(last)
    return kept


def write_all(plan: FloorPlan, frames: dict[str, list[np.ndarray]], out: Path) -> None:
    """The two COGs, the hotspot products and process.json, into ``out``."""
    for r in plan.rasters:
        spec = raster_spec(r.grid, r.kind)  # type: ignore[arg-type]
        write_cog(out / f"ortho_{r.kind}.tif", spec, tiles(r, frames[r.kind]), r.tags,
                  threads=os.cpu_count() or 1)  # as the job writes them
    if "thermal" in plan.mosaics:
        thermal = replace(plan.mosaics["thermal"], path=out / "ortho_thermal.tif")
        write_hotspot_products(out, plan.hotspots, report_context(plan.source, thermal),
                               uid_prefix="dronepipe-bench")
    write_atomic(out / "process.json", json.dumps(plan.provenance, indent=1, allow_nan=False))


def tiles(r: Raster, content: Sequence[np.ndarray]) -> Iterator[tuple[int, int, np.ndarray]]:
    """(row0, col0, data) of every tile the run had data in: pixels cut from ``content``
    frames, masked by the coverage."""
    canvases = [_canvas(c, r.grid.tile) for c in content]
    for t in r.grid.tiles():
        w = r.grid.tile_window(t)
        cell = COVERAGE_CELL
        cov = r.coverage[w.row0 // cell:-(-(w.row0 + w.height) // cell),
                         w.col0 // cell:-(-(w.col0 + w.width) // cell)]
        if not cov.any():
            continue
        mask = np.repeat(np.repeat(cov, cell, 0), cell, 1)[:w.height, :w.width]
        pix = _cut(canvases[(7 * t.row + t.col) % len(canvases)], t, w.height, w.width)
        yield w.row0, w.col0, _masked(pix, mask, r.kind)


def _canvas(frame: np.ndarray, tile: int) -> np.ndarray:
    """The frame grown (mirrored) to at least one tile each way."""
    dy, dx = max(0, tile - frame.shape[0]), max(0, tile - frame.shape[1])
    if dy or dx:
        return cv2.copyMakeBorder(frame, 0, dy, 0, dx, cv2.BORDER_REFLECT)
    return frame


def _cut(canvas: np.ndarray, t: TileIndex, h: int, w: int) -> np.ndarray:
    oy = (131 * t.row + 71 * t.col) % (canvas.shape[0] - h + 1)
    ox = (61 * t.row + 113 * t.col) % (canvas.shape[1] - w + 1)
    return canvas[oy:oy + h, ox:ox + w]


def _masked(pix: np.ndarray, mask: np.ndarray, kind: str) -> np.ndarray:
    if kind == "thermal":
        return np.where(mask, pix, np.float32(np.nan)).astype(np.float32)[None]
    out = np.empty((4, *mask.shape), np.uint8)
    out[:3] = np.moveaxis(pix, -1, 0) * mask
    out[3] = mask * np.uint8(255)
    return out
