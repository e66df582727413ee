"""Which frames a batch mosaic draws where: a plan per tile, per lattice cell.

A mosaic pixel is seen by many frames (10-20 on a survey with 70-80 % overlap), but
only few of them decide it: thermal takes the single frame that saw it most directly,
RGB (batch) blends the ``k`` frames with the largest feather weights. Resampling every
frame at every pixel it overlaps is most of a mosaic's cost, so a tile is planned first
from the frames' lattices alone (no pixels):

- per plan cell (``step`` x ``step`` grid cells, the frame lattice's coarsest step) and
  frame, bounds of the frame's weight over the cell's pixels (``CellBounds``): the
  interpolated maps are convex combinations of the lattice nodes around the cell, so the
  nodes' minimum and maximum bound them (the feather weight is a minimum of four terms
  bilinear in the nodes: bounded term by term). ``lower`` is finite only where the
  frame sees all of the cell; near unseen nodes (exact maps) the upper bound adds twice
  the lattice's largest node-to-node change; frames whose lattice is not accurate
  (``exact``) are bounded by -inf/+inf, so they are always drawn and never exclude one;
- a frame is drawn in a cell unless its upper bound is below the best lower bound
  (thermal) or the (k+1)-th best (RGB: the threshold ``add_sample`` subtracts must be
  exact, so the best k+1 are drawn) of the frames that see the whole cell. Such a frame
  cannot win (thermal) or be among the best k+1 (RGB) at any pixel of the cell;
- each frame is drawn over the box of its cells in the tile (a superset is harmless:
  more frames than needed never change the result);
- RGB in two passes (``batch``): the (k+1)-th largest weight at every pixel from the
  planned frames' lattices alone, then each frame loaded and drawn only in the cells
  where its upper bound exceeds that threshold somewhere (``contributing_draws``).

On the simulated 300-frame flight a tile pixel is drawn from 2.1 frames (thermal) and
4.8 (RGB, plus 5.0 weighed without pixels) instead of the 12.6 and 29.4 frame windows
covering it.

Thermal has one exception the geometry cannot see: a frame's pixels may be invalid
(NaN: dead pixels). ``TilePlan.rest`` holds, per cell, the largest upper bound of the
frames left out; after drawing, a pixel whose score is below it is not decided, and the
frames left out are drawn there too (``fallback_draws``). So the result equals drawing
every frame, up to exact ties of the score (which frame came first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.compose import Kind
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, TileIndex, intersect
from dronepipe.stitching.render import FrameLattice, frame_lattice, lattice_steps, min_score

F32 = NDArray[np.float32]
Mask = NDArray[np.bool_]
EPS = np.float32(1e-5)  # rounding slack of float32 scores and weights (both <= 1)
NONE = np.float32(-np.inf)


@dataclass(frozen=True)
class CellBounds:
    """A frame's weight bounds on plan cells ``cell`` x ``cell`` grid pixels: cell (i, j)
    of the arrays is global cell (``row0 + i``, ``col0 + j``). ``lower`` (rows, cols)
    float32: every pixel of the cell is seen with at least this weight (-inf: not known
    to see all of it); ``upper``: no pixel has more (-inf: sees none of it)."""

    cell: int
    row0: int
    col0: int
    lower: F32
    upper: F32


@dataclass(frozen=True)
class TilePlan:
    """What to draw in a tile of plan cells ``cell`` x ``cell`` pixels: ``draws``
    (frame index, grid window) in input order; ``cells``: the tile's plan cells (global
    cell window); ``upper`` (frames, rows, cols) the frames' upper bounds there and
    ``drawn`` where each is drawn; ``rest`` (rows, cols) the largest upper bound of the
    frames not drawn (-inf: none)."""

    tile: TileIndex
    cell: int
    frames: tuple[int, ...]
    draws: tuple[tuple[int, PixelWindow], ...]
    cells: PixelWindow
    upper: F32
    drawn: Mask
    rest: F32


@dataclass(frozen=True)
class FrameCover:
    """What a batch block needs of a frame's geometry: its ``lattice`` and the
    ``bounds`` of its weight on the plan cells (made once per frame, on the driver)."""

    lattice: FrameLattice
    bounds: CellBounds


def frame_cover(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow) -> FrameCover:
    """A frame's lattice over grid window ``win`` and its cell bounds."""
    lat = frame_lattice(gf, grid, win)
    cell = lattice_steps(gf.kind)[0]
    return FrameCover(lat, cell_bounds(lat, gf.kind, gf.camera.width, gf.camera.height, cell,
                                       min_score(gf)))


def cell_bounds(lat: FrameLattice, kind: Kind, width: int, height: int, cell: int,
                smin: np.float32) -> CellBounds:
    """The bounds of a frame's weight (thermal: score, cos^2; rgb: feather weight of a
    ``width`` x ``height`` frame seeing down to score ``smin``) on the plan cells its
    lattice covers."""
    m = cell // lat.step
    nodes = lat.nodes
    rows, cols = (nodes.shape[0] - 2) // m, (nodes.shape[1] - 2) // m
    row0, col0 = (lat.row0 + lat.step) // cell, (lat.col0 + lat.step) // cell
    if lat.exact:
        full = np.full((rows, cols), np.inf, np.float32)
        return CellBounds(cell, row0, col0, np.full_like(full, NONE), full)
    terms = _terms(nodes, kind, width, height)  # (ky, kx, 5): four edge distances, score
    seen = np.isfinite(terms[..., 4])
    lo = _window_reduce(np.where(seen[..., None], terms, np.inf), m, rows, cols, np.minimum)
    hi = _window_reduce(np.where(seen[..., None], terms, -np.inf), m, rows, cols, np.maximum)
    n_seen = _window_reduce(seen.astype(np.int32), m, rows, cols, np.add)
    slack = 2.0 * _largest_step(terms)
    lower, upper = _bounds(lo, hi, n_seen, (m + 2) ** 2, kind, width, height, slack, smin)
    return CellBounds(cell, row0, col0, lower, upper)


def _window_reduce(a: np.ndarray, m: int, rows: int, cols: int, op: np.ufunc) -> np.ndarray:
    """``op`` over the (m + 2) x (m + 2) nodes around each plan cell (stride m): the
    nodes the cell's pixels are interpolated from."""
    r = op.reduce([a[k:k + m * rows:m] for k in range(m + 2)])
    return op.reduce([r[:, k:k + m * cols:m] for k in range(m + 2)])


def _terms(nodes: F32, kind: Kind, width: int, height: int) -> F32:
    """Per node: the distances to the four frame edges (frame pixels, >= 0 inside) and
    the thermal score 1/q (a pixel's score is 1 / its interpolated q: bounded by the
    nodes' as q is)."""
    u, v, q = nodes[..., 0], nodes[..., 1], nodes[..., 2]
    return np.stack([u + 0.5, width - 0.5 - u, v + 0.5, height - 0.5 - v, 1.0 / q], axis=-1)


def _largest_step(terms: F32) -> F32:
    """The largest change of each term between neighbouring nodes (its slack near
    unseen nodes, where the maps are exact rather than interpolated)."""
    if min(terms.shape[:2]) < 2:
        return np.zeros(terms.shape[-1], np.float32)
    d0 = np.fmax.reduce(np.abs(terms[1:] - terms[:-1]), axis=(0, 1))
    d1 = np.fmax.reduce(np.abs(terms[:, 1:] - terms[:, :-1]), axis=(0, 1))
    return np.nan_to_num(np.fmax(d0, d1)).astype(np.float32)


def _bounds(lo: F32, hi: F32, n_seen: np.ndarray, n_nodes: int, kind: Kind, width: int,
            height: int, slack: F32, smin: np.float32) -> tuple[F32, F32]:
    """Lower and upper weight bounds per cell from the least and largest terms of its
    nodes (rows, cols, terms) and how many of its ``n_nodes`` are mapped: seen where
    inside the image and at a score of at least ``smin``."""
    all_seen, any_seen = n_seen == n_nodes, n_seen > 0
    hi = np.where(all_seen[..., None], hi, hi + slack)
    inside = (lo[..., :4].min(axis=-1) >= 0.0) & (lo[..., 4] >= smin)
    reach = np.where(hi[..., 4] >= smin, hi[..., :4].min(axis=-1), -1.0)  # largest edge distance
    if kind == "thermal":
        low, up = lo[..., 4], hi[..., 4]
    else:
        norm = np.float32(0.5 * min(width, height))
        low = (np.maximum(lo[..., :4].min(axis=-1), 0.0) + 0.5) / norm
        up = (np.maximum(reach, 0.0) + 0.5) / norm
    lower = np.where(all_seen & inside, low - EPS, NONE).astype(np.float32)
    upper = np.where(any_seen & (reach >= 0.0), up + EPS, NONE).astype(np.float32)
    return lower, upper


def plan_tile(tile: TileIndex, tile_win: PixelWindow,
              frames: list[tuple[int, PixelWindow, CellBounds]], kind: Kind,
              keep: int) -> TilePlan:
    """The plan of a tile drawn from ``frames`` (frame index, the frame's window in the
    tile, its bounds), in input order; ``keep``: RGB frames blended per pixel."""
    cell = frames[0][2].cell
    r0, c0 = tile_win.row0 // cell, tile_win.col0 // cell
    r1 = -(-(tile_win.row0 + tile_win.height) // cell)
    c1 = -(-(tile_win.col0 + tile_win.width) // cell)
    cells = PixelWindow(r0, c0, r1 - r0, c1 - c0)
    lower = np.full((len(frames), cells.height, cells.width), NONE, np.float32)
    upper = lower.copy()
    for k, (_, _, b) in enumerate(frames):
        _paste(lower[k], cells, b.lower, b)
        _paste(upper[k], cells, b.upper, b)
    drawn = (upper >= _threshold(lower, kind, keep)) & (upper > NONE)
    rest = np.where(drawn, NONE, upper).max(axis=0)
    draws = tuple((i, w) for k, (i, win, _) in enumerate(frames)
                  if (w := _box(drawn[k], cells, cell, win)) is not None)
    return TilePlan(tile, cell, tuple(i for i, _, _ in frames), draws, cells, upper, drawn, rest)


def _threshold(lower: F32, kind: Kind, keep: int) -> F32:
    """Per cell: the lower bound a frame's upper bound must reach to be drawn."""
    rank = 1 if kind == "thermal" else keep + 1
    if lower.shape[0] < rank:
        return np.full(lower.shape[1:], NONE, np.float32)
    return -np.partition(-lower, rank - 1, axis=0)[rank - 1]


def _paste(out: F32, cells: PixelWindow, data: F32, b: CellBounds) -> None:
    """Copy the part of a frame's bound array that falls in the tile's cells."""
    src = PixelWindow(b.row0, b.col0, data.shape[0], data.shape[1])
    common = intersect(src, cells)
    if common is None:
        return
    out[common.row0 - cells.row0:common.row0 - cells.row0 + common.height,
        common.col0 - cells.col0:common.col0 - cells.col0 + common.width] = \
        data[common.row0 - src.row0:common.row0 - src.row0 + common.height,
             common.col0 - src.col0:common.col0 - src.col0 + common.width]


def _box(mask: Mask, cells: PixelWindow, cell: int, win: PixelWindow) -> PixelWindow | None:
    """The grid pixels of the box of ``mask``'s cells, within the frame's window ``win``."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        return None
    box = PixelWindow((cells.row0 + rows[0]) * cell, (cells.col0 + cols[0]) * cell,
                      (rows[-1] - rows[0] + 1) * cell, (cols[-1] - cols[0] + 1) * cell)
    return intersect(box, win)


def undecided(plan: TilePlan, score: F32, tile_win: PixelWindow) -> Mask:
    """Thermal: the plan cells (rows, cols) with a pixel whose score (the tile
    accumulator's, cut to ``tile_win``) is below a left-out frame's upper bound."""
    return cell_min(plan, score, tile_win) < plan.rest


def cell_min(plan: TilePlan, values: F32, tile_win: PixelWindow) -> F32:
    """The least of ``values`` (the tile's pixels, cut to ``tile_win``) in each plan cell."""
    c, cells = plan.cell, plan.cells
    full = np.full((cells.height * c, cells.width * c), np.inf, np.float32)
    dr, dc = tile_win.row0 - cells.row0 * c, tile_win.col0 - cells.col0 * c
    full[dr:dr + tile_win.height, dc:dc + tile_win.width] = values
    return full.reshape(cells.height, c, cells.width, c).min(axis=(1, 3))


def contributing_draws(plan: TilePlan, limit: F32, tile_win: PixelWindow,
                       windows: dict[int, PixelWindow]) -> list[tuple[int, PixelWindow]]:
    """RGB: the plan's draws cut to the cells where a frame can weigh more than the
    threshold ``limit`` (the tile's (k+1)-th weights: a frame adds ``weight - limit``),
    i.e. its upper bound exceeds the cell's least threshold."""
    low = cell_min(plan, limit, tile_win)
    out = []
    for k, i in enumerate(plan.frames):
        w = _box(plan.drawn[k] & (plan.upper[k] > low), plan.cells, plan.cell, windows[i])
        if w is not None:
            out.append((i, w))
    return out


def fallback_draws(plan: TilePlan, bad: Mask,
                   windows: dict[int, PixelWindow]) -> list[tuple[int, PixelWindow]]:
    """Thermal: the frames left out of undecided cells, each with the box of those cells
    in its window (``windows``: frame index -> its window in the tile), input order."""
    left = ~plan.drawn & (plan.upper > NONE) & bad[None]
    out = []
    for k, i in enumerate(plan.frames):
        w = _box(left[k], plan.cells, plan.cell, windows[i])
        if w is not None:
            out.append((i, w))
    return out
