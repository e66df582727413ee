"""Batch rendering of a mosaic as a dask graph, on threads, processes or a cluster.

The graph has one task per block of ``block_tiles`` x ``block_tiles`` tiles: it gathers
the frames whose footprints touch the block, loads each once through the picklable
``loader(frame_id)`` (on the worker, so no pixels travel through the scheduler), draws
them in input order into the block's tile accumulators and returns those. The driver
merges the returned tiles into the ``Mosaic``'s tile store as tasks complete, keeping
only a bounded number of blocks in flight.

Why per block rather than per frame: a per-frame task would have to hold its rendered
pieces until every other frame touching the same tiles is done, and with lawn-mower
flight lines those pieces pile up along a whole line. Per block, memory is bounded by
(workers x one block + one frame) whatever the flight; the price is that a frame
touching several blocks is loaded once per block (the log reports the factor). Blocks
are sized from the frames' footprints (``block_tiles_for``: a block about as tall as a
footprint, so a frame meets two block rows rather than three or four), and run in
flight order (``flight_order``: by the median input position of their frames, row order
among equals), so that the blocks the flight covers together, which share most of their
frames, run together and a loader with a cache of decoded frames (``pipeline.loader``)
finds the last stretch of the flight in it. On the simulated 300-frame flight (lines
along north; 15 blocks of 2 x 2 tiles, each loading 2-79 frames) row order crossed every
line in every block row; flight order goes column by column as flown. With the 64 MB
cache of frame counts the mosaic decodes a frame 1.04-1.10 times instead of 1.16-1.27
(the real render on threads with a counting cache, 3 runs each; 1.29 instead of 1.47
with a cache of degrees C), and ``bench/memory.py`` shows 1.1 instead of 1.2-1.3, peaks
the same (424-431 MB against 426-433). Blocks of 1 x 1 tiles in flight order decode
1.04 times but load a frame 2.34 times instead of 1.63 and render 0.1 s slower.

Each block's result depends only on its inputs, in a fixed order, and every tile
belongs to one block, so block sizes, threads, processes, synchronous and a
dask.distributed cluster give identical mosaics.

Tasks are ``opaque_task``s: dask neither hashes nor walks their arguments (frames, tile
lists, features), which it would otherwise do for every task on the driver. The
``processes`` scheduler keeps one pool of worker processes for the whole
``dask_scheduler`` block (dask would start a pool per ``compute``), so workers import
once and keep their caches.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import dask
import dask.local
import dask.multiprocessing
import dask.threaded
import numpy as np
from dask.delayed import Delayed

from dronepipe.stitching import compose
from dronepipe.stitching.compose import F32, Kind
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, TileIndex
from dronepipe.stitching.coverage import (
    CellBounds,
    contributing_draws,
    FrameCover,
    TilePlan,
    fallback_draws,
    frame_cover,
    plan_tile,
    undecided,
)
from dronepipe.stitching.render import (
    FrameLattice,
    Interpolation,
    frame_weight,
    frame_windows,
    lattice_maps,
    lattice_steps,
    min_score,
    prepare_image,
    sample,
)

log = logging.getLogger(__name__)
Loader = Callable[[str], np.ndarray]
BlockWork = list[tuple[GeoFrame, list[tuple[TileIndex, PixelWindow]]]]
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous", "sync", "single-threaded")
MAX_BLOCK_TILES = 4  # 4 x 4 tiles of 512 px: 32 MB thermal, 64 MB RGB accumulators


def opaque_task(fn: Callable[..., Any], *args: Any) -> Delayed:
    """A dask task calling ``fn(*args)``; the arguments (which hold no dask objects) are
    neither tokenized nor traversed by dask, only pickled where a worker needs them."""
    return dask.delayed(functools.partial(fn, *args), pure=False, traverse=False)()


def block_tiles_for(grid: MosaicGrid, geoframes: Sequence[GeoFrame],
                    max_tiles: int = MAX_BLOCK_TILES) -> int:
    """Block side in tiles for these frames: the median footprint's larger side in
    tiles, rounded up, within 2..``max_tiles``."""
    if not geoframes:
        return 2
    sides = [max(b[2] - b[0], b[3] - b[1]) for b in (g.bounds_m for g in geoframes)]
    tiles = float(np.median(sides)) / (grid.tile * grid.gsd_m)
    return int(min(max_tiles, max(2, math.ceil(tiles))))


def plan_blocks(grid: MosaicGrid, geoframes: Sequence[GeoFrame],
                block_tiles: int = 2) -> list[BlockWork]:
    """For every block with data: its frames in input order, each with the tile windows
    of the block it touches. Blocks in flight order (``flight_order``)."""
    blocks: dict[tuple[int, int], BlockWork] = defaultdict(list)
    for gf in geoframes:
        per_block: dict[tuple[int, int], list[tuple[TileIndex, PixelWindow]]] = defaultdict(list)
        for t, win in frame_windows(grid, gf):
            per_block[(t.row // block_tiles, t.col // block_tiles)].append((t, win))
        for key, wins in per_block.items():
            blocks[key].append((gf, wins))
    return flight_order([blocks[k] for k in sorted(blocks)], geoframes)


def flight_order(plan: list[BlockWork], geoframes: Sequence[GeoFrame]) -> list[BlockWork]:
    """``plan``'s blocks by the median input position of their frames (row order among
    equals): blocks the flight covers together run together, so a frame cache holding
    the last stretch of the flight serves them (see the module)."""
    position = {id(gf): i for i, gf in enumerate(geoframes)}

    def median(work: BlockWork) -> float:
        return float(np.median([position[id(gf)] for gf, _ in work]))

    return sorted(plan, key=median)


def render_block(grid: MosaicGrid, kind: Kind, work: BlockWork, loader: Loader,
                 interpolation: Interpolation = "linear", max_contributors: int | None = None,
                 covers: FrameCovers | Sequence[FrameCover] | None = None
                 ) -> list[tuple[TileIndex, F32]]:
    """Load and draw a block's frames into fresh tile accumulators (a dask task): a
    coverage plan per tile from the frames' ``covers`` (``FrameCovers``, or one
    ``frame_cover`` per frame of ``work``; None: made here, covering their windows in
    the block), then every frame loaded once and drawn where the plan says
    (``coverage``); RGB blends the best ``max_contributors`` frames per pixel (None:
    all of them)."""
    if isinstance(covers, FrameCovers):
        covers = [covers(gf) for gf, _ in work]
    covers = list(covers) if covers is not None else \
        [frame_cover(gf, grid, _union(wins)) for gf, wins in work]
    lats = [c.lattice for c in covers]
    plans = _plans(grid, kind, work, covers, max_contributors)
    accs = {t: compose.empty(kind, grid.tile) for t in plans}
    limits = _thresholds(grid, work, lats, plans, max_contributors) if kind == "rgb" else {}
    draws: dict[int, list[tuple[TileIndex, PixelWindow]]] = defaultdict(list)
    for t, plan in plans.items():
        chosen = plan.draws if t not in limits else contributing_draws(
            plan, limits[t], grid.tile_window(t), dict(_frame_windows_in(work, plan.frames, t)))
        for i, win in chosen:
            draws[i].append((t, win))
    _draw(grid, kind, work, lats, draws, accs, limits, loader, interpolation)
    if kind == "thermal":
        _decide_rest(grid, work, lats, plans, accs, loader, interpolation)
    return sorted(accs.items())


def _union(wins: list[tuple[TileIndex, PixelWindow]]) -> PixelWindow:
    """The box of a frame's tile windows in a block."""
    r0 = min(w.row0 for _, w in wins)
    c0 = min(w.col0 for _, w in wins)
    r1 = max(w.row0 + w.height for _, w in wins)
    c1 = max(w.col0 + w.width for _, w in wins)
    return PixelWindow(r0, c0, r1 - r0, c1 - c0)


def _plans(grid: MosaicGrid, kind: Kind, work: BlockWork, covers: list[FrameCover],
           keep: int | None) -> dict[TileIndex, TilePlan]:
    """The coverage plan of every tile of the block (``keep`` None: every frame drawn)."""
    cell = lattice_steps(kind)[0]
    per_tile: dict[TileIndex, list[tuple[int, PixelWindow, CellBounds]]] = defaultdict(list)
    for i, ((_, wins), cover) in enumerate(zip(work, covers, strict=True)):
        b = cover.bounds
        if keep is None and kind == "rgb":
            b = CellBounds(cell, b.row0, b.col0, np.full_like(b.lower, -np.inf),
                           np.full_like(b.upper, np.inf))
        for t, win in wins:
            per_tile[t].append((i, win, b))
    return {t: plan_tile(t, grid.tile_window(t), frames, kind, keep or 0)
            for t, frames in sorted(per_tile.items())}


def _thresholds(grid: MosaicGrid, work: BlockWork, lats: list[FrameLattice],
                plans: dict[TileIndex, TilePlan], keep: int | None) -> dict[TileIndex, F32]:
    """RGB: per tile the (keep+1)-th largest feather weight at each pixel, from the
    lattices alone (0 where at most ``keep`` frames see a pixel, or where the best
    keep+1 tie, so that every frame there blends)."""
    if keep is None:
        return {}
    out = {}
    for t, plan in plans.items():
        tw = grid.tile_window(t)
        top = np.zeros((keep + 1, tw.height, tw.width), np.float32)
        for i, win in plan.draws:
            gf = work[i][0]
            uv, score = lattice_maps(gf, grid, lats[i], win, need_score=False)
            w = frame_weight(uv, score, gf.camera.width, gf.camera.height, "rgb", min_score(gf))
            if w is None:
                continue
            compose.top_weights(top[:, win.row0 - tw.row0:win.row0 - tw.row0 + win.height,
                                    win.col0 - tw.col0:win.col0 - tw.col0 + win.width], w, keep + 1)
        out[t] = np.where(top[0] > top[keep], top[keep], np.float32(0.0))
    return out


def _draw(grid: MosaicGrid, kind: Kind, work: BlockWork, lats: list[FrameLattice],
          draws: dict[int, list[tuple[TileIndex, PixelWindow]]], accs: dict[TileIndex, F32],
          limits: dict[TileIndex, F32], loader: Loader, interpolation: Interpolation) -> None:
    """Load each frame with draws once and draw it into its tile windows, in input order."""
    for i in sorted(draws):
        gf = work[i][0]
        img = prepare_image(gf, loader(gf.frame_id), grid.gsd_m)
        for t, win in draws[i]:
            s = sample(gf, img, grid, win, interpolation, lats[i])
            if s is None:
                continue
            tw = grid.tile_window(t)
            rows = slice(win.row0 - tw.row0, win.row0 - tw.row0 + win.height)
            cols = slice(win.col0 - tw.col0, win.col0 - tw.col0 + win.width)
            limit = limits[t][rows, cols] if t in limits else None
            compose.add_sample(accs[t][:, rows, cols], kind, *s, threshold=limit)


def _decide_rest(grid: MosaicGrid, work: BlockWork, lats: list[FrameLattice],
                 plans: dict[TileIndex, TilePlan], accs: dict[TileIndex, F32], loader: Loader,
                 interpolation: Interpolation) -> None:
    """Thermal: draw the frames left out where a pixel is not decided (invalid pixels of
    the frames drawn, see ``coverage``)."""
    extra: dict[int, list[tuple[TileIndex, PixelWindow]]] = defaultdict(list)
    for t, plan in plans.items():
        tw = grid.tile_window(t)
        bad = undecided(plan, accs[t][1, :tw.height, :tw.width], tw)
        if bad.any():
            windows = {i: w for i, w in _frame_windows_in(work, plan.frames, t)}
            for i, win in fallback_draws(plan, bad, windows):
                extra[i].append((t, win))
    if extra:
        log.debug("mosaic: %d frames drawn again where pixels were not decided", len(extra))
        _draw(grid, "thermal", work, lats, extra, accs, {}, loader, interpolation)


def _frame_windows_in(work: BlockWork, frames: tuple[int, ...],
                      t: TileIndex) -> Iterator[tuple[int, PixelWindow]]:
    for i in frames:
        for tt, win in work[i][1]:
            if tt == t:
                yield i, win


def render_blocks(grid: MosaicGrid, kind: Kind, geoframes: Sequence[GeoFrame], loader: Loader,
                  scheduler: Any = "threads", *, block_tiles: int | None = None,
                  interpolation: Interpolation = "linear",
                  progress: Callable[[int, int], None] | None = None,
                  max_contributors: int | None = None,
                  ) -> Iterator[tuple[TileIndex, F32]]:
    """Run the block graph and yield (tile, accumulator) as blocks finish (see module);
    ``block_tiles`` None: from the footprints (``block_tiles_for``); ``max_contributors``:
    RGB frames blended per pixel (None: all)."""
    block_tiles = block_tiles or block_tiles_for(grid, geoframes)
    plan = plan_blocks(grid, geoframes, block_tiles)
    loads = sum(len(work) for work in plan)
    log.info("mosaic: %d frames in %d blocks of %d x %d tiles, %d frame loads (%.2f per frame)",
             len(geoframes), len(plan), block_tiles, block_tiles, loads,
             loads / max(1, len(geoframes)))
    covers = FrameCovers(grid)
    with dask_scheduler(scheduler) as (sched, workers):
        batch = max(2, 2 * workers)
        for start in range(0, len(plan), batch):
            tasks = [opaque_task(render_block, grid, kind, work, loader, interpolation,
                                 max_contributors, covers)
                     for work in plan[start:start + batch]]
            for tiles in dask.compute(*tasks, scheduler=sched):
                yield from tiles
            if progress is not None:
                progress(min(start + batch, len(plan)), len(plan))


class FrameCovers:
    """Each frame's cover (``frame_cover`` over its whole footprint's window: one lattice
    and its cell bounds, some 10 kB), made where a block first needs it and shared by
    the blocks after it, so that the workers make them rather than the driver, which
    made them one after another before the first block started (0.6 s of serial CPU on
    300 thermal frames). Threads share one; pickled to a worker process it becomes that
    process's memo of the same mosaic (``_memo``: by its ``token``), so each process
    makes a frame's cover at most once. A cover depends only on the frame and the grid,
    so the mosaic is the same whoever makes it."""

    def __init__(self, grid: MosaicGrid, token: str | None = None) -> None:
        self.grid = grid
        self.token = token or uuid.uuid4().hex
        self._done: dict[str, FrameCover] = {}
        self._making: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Callable[[MosaicGrid, str], FrameCovers], tuple[MosaicGrid, str]]:
        return _memo, (self.grid, self.token)

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)

    def __call__(self, gf: GeoFrame) -> FrameCover:
        """The frame's cover (made now, or waited for where another thread makes it)."""
        while True:
            with self._lock:
                done = self._done.get(gf.frame_id)
                if done is not None:
                    return done
                making = self._making.get(gf.frame_id)
                if making is None:
                    self._making[gf.frame_id] = threading.Event()
                    break
            making.wait()
        try:
            win = self.grid.window_of_bounds(gf.bounds_m)
            if win is None:
                raise ValueError(f"frame {gf.frame_id} is off the mosaic's grid")
            cover = frame_cover(gf, self.grid, win)
            with self._lock:
                self._done[gf.frame_id] = cover
            return cover
        finally:
            with self._lock:
                self._making.pop(gf.frame_id).set()


_MEMOS: OrderedDict[str, FrameCovers] = OrderedDict()
_MEMOS_LOCK = threading.Lock()


def _memo(grid: MosaicGrid, token: str, keep: int = 2) -> FrameCovers:
    """This process's ``FrameCovers`` of the mosaic ``token`` (the last ``keep`` kept)."""
    with _MEMOS_LOCK:
        memo = _MEMOS.get(token)
        if memo is None:
            memo = _MEMOS[token] = FrameCovers(grid, token)
            while len(_MEMOS) > keep:
                _MEMOS.popitem(last=False)
        return memo


@contextmanager
def dask_scheduler(scheduler: Any) -> Iterator[tuple[Any, int]]:
    """The scheduler argument for ``dask.compute`` and how many tasks run at once.

    A string with ``://`` connects a ``distributed.Client`` to that scheduler for the
    duration (closed afterwards); a Client is used as it is; ``"processes"`` gets one
    pool of worker processes for the duration (see module). ``"threads"`` and the
    synchronous names give dask's own functions for them rather than their names: given
    a name, ``dask.compute`` imports dask.distributed to look for a client first (0.2-0.35
    s and some 240 modules, in the middle of registration, on every local run).
    """
    if isinstance(scheduler, str) and "://" in scheduler:
        from distributed import Client

        client = Client(scheduler, set_as_default=False)
        try:
            yield client, _client_threads(client)
        finally:
            client.close()
    elif scheduler == "processes":
        workers = os.cpu_count() or 1
        context = multiprocessing.get_context(dask.config.get("multiprocessing.context", "spawn"))
        with ProcessPoolExecutor(workers, mp_context=context,
                                 initializer=dask.multiprocessing.initialize_worker_process) as pool:
            yield functools.partial(dask.multiprocessing.get, pool=pool), workers
    elif isinstance(scheduler, str):
        if scheduler not in LOCAL_SCHEDULERS:
            raise ValueError(f"scheduler must be one of {LOCAL_SCHEDULERS} or a "
                             f"tcp://host:port address, got {scheduler!r}")
        if scheduler == "threads":
            yield dask.threaded.get, os.cpu_count() or 1
        else:
            yield dask.local.get_sync, 1
    elif hasattr(scheduler, "get") and "Client" in type(scheduler).__name__:
        yield scheduler, _client_threads(scheduler)
    else:
        raise ValueError(f"unknown dask scheduler {scheduler!r}")


def _client_threads(client: Any) -> int:
    """Total worker threads of a distributed cluster (at least 1)."""
    return max(1, sum(client.nthreads().values()))
