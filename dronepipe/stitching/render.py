"""Drawing one frame into a block of grid pixels.

For every grid cell: its centre (easting, northing) -> the ground height there ->
``GeoFrame.map_to_pixels`` -> an OpenCV remap from the frame (bilinear or nearest), plus a
weight: the directness score for thermal (the squared cosine of the viewing angle from the
vertical)
or the feather weight for RGB (distance to the frame edge). Where the mosaic is much
coarser than the frame, the frame is first shrunk by area averaging (within the frame)
so that the bilinear sampling does not alias.

The mapping is smooth, so it is computed exactly only on one coarse lattice per frame
(``FrameLattice``: a node at the centre of every ``step`` x ``step`` block of grid cells,
aligned to the whole grid, 16 cells for thermal and 32 for RGB) and interpolated
bilinearly in float32 between the nodes. The lattice is checked against the exact
mapping halfway between nodes (edge midpoints and quad centres, where a bilinear
interpolant of a smooth map errs most); where it errs by more than ``TOL_PX`` (strong
lens distortion, DEM relief) a finer step is tried, then the exact mapping per cell.
Near the edge of what the frame sees (lattice nodes without a mapping, and cells within
``EDGE_BAND_PX`` of the image edge) the cells are mapped exactly, so that the coverage
mask is what the exact mapping sees. All per-pixel work is float32 (pixel coordinates below 10^4 keep
~10^-3 px; scores and weights 10^-7 relative).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import MosaicGrid, PixelWindow, TileIndex, intersect

F32 = NDArray[np.float32]
Interpolation = Literal["linear", "nearest"]
_CV_INTERP = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}
TOL_PX = 0.02  # largest lattice interpolation error accepted, frame pixels
EDGE_BAND_PX = TOL_PX + 0.005  # cells this close to the image edge are mapped exactly
UNSEEN = np.float32(-1.0)  # the weight of a cell the frame does not see


def lattice_steps(kind: str) -> tuple[int, ...]:
    """Lattice steps (grid cells) tried in turn: the first is the coverage planning cell."""
    return (16, 8, 4) if kind == "thermal" else (32, 16, 8)


@dataclass(frozen=True)
class FrameImage:
    """A frame's pixels ready to sample: ``data`` (H', W') float32 degC or (H', W', 3) uint8
    RGB, shrunk by ``factor`` (>= 1) from the camera's size ``width`` x ``height``."""

    data: np.ndarray
    factor: float
    width: int
    height: int


@dataclass(frozen=True)
class FrameLattice:
    """A frame's mapping on a coarse lattice of the grid.

    Node (i, j) sits at the centre of the ``step`` x ``step`` block of grid cells whose
    top-left cell is (``row0 + i*step``, ``col0 + j*step``); ``row0``, ``col0`` are
    multiples of ``step``. ``nodes`` (rows, cols, 3) float32: frame pixel u, v and
    q = 1 / cos^2 of the viewing angle there (``_exact_at``), NaN where the frame does
    not see the node. ``exact``: the lattice is not accurate enough at any step, so maps
    are computed exactly.
    ``err_px``: the largest interpolation error found by the check (frame pixels).
    """

    step: int
    row0: int
    col0: int
    nodes: F32
    exact: bool
    err_px: float

    @property
    def window(self) -> PixelWindow:
        """The grid cells the lattice can interpolate (one node of margin each side)."""
        ky, kx = self.nodes.shape[:2]
        return PixelWindow(self.row0 + self.step, self.col0 + self.step,
                           (ky - 2) * self.step, (kx - 2) * self.step)


def prepare_image(gf: GeoFrame, pixels: np.ndarray, grid_gsd_m: float) -> FrameImage:
    """Check a frame's pixels against its camera and kind, and shrink them where the grid
    is at least twice as coarse as the frame."""
    w, h = gf.camera.width, gf.camera.height
    arr = np.asarray(pixels)
    if gf.kind == "thermal":
        if arr.shape != (h, w):
            raise ValueError(f"frame {gf.frame_id}: thermal pixels of shape {arr.shape}, "
                             f"camera {gf.camera.name} is {h} x {w}")
        arr = arr.astype(np.float32, copy=False)
    else:
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.shape[:2] != (h, w) or arr.shape[2] < 3:
            raise ValueError(f"frame {gf.frame_id}: RGB pixels of shape {arr.shape}, "
                             f"camera {gf.camera.name} is {h} x {w} x 3")
        arr = np.ascontiguousarray(arr[..., :3], dtype=np.uint8)
    factor = math.floor(grid_gsd_m / gf.gsd_m) if gf.gsd_m > 0 else 1
    if factor >= 2:
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        arr = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
        return FrameImage(arr, w / size[0], w, h)
    return FrameImage(arr, 1.0, w, h)


# -- the lattice ----------------------------------------------------------------------------
def frame_lattice(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow,
                  steps: tuple[int, ...] | None = None, tol_px: float = TOL_PX) -> FrameLattice:
    """The lattice of a frame covering grid window ``win``: the first of ``steps``
    (default ``lattice_steps(gf.kind)``) whose interpolation errs by at most ``tol_px``
    frame pixels, else an ``exact`` lattice at the coarsest step (its nodes still bound
    the coverage plan)."""
    steps = steps or lattice_steps(gf.kind)
    worst = math.inf
    for step in steps:
        lat = _lattice_at(gf, grid, win, step, steps[0])
        err = _lattice_error(gf, grid, lat)
        if err <= tol_px:
            return FrameLattice(lat.step, lat.row0, lat.col0, lat.nodes, False, err)
        worst = min(worst, err)
    lat = _lattice_at(gf, grid, win, steps[0], steps[0])
    return FrameLattice(lat.step, lat.row0, lat.col0, lat.nodes, True, worst)


def min_score(gf: GeoFrame) -> np.float32:
    """The smallest thermal score (cos^2) a frame sees at: its off-nadir limit."""
    return np.float32(math.cos(gf.max_off_nadir_rad) ** 2)


def _lattice_at(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow, step: int,
                align: int) -> FrameLattice:
    """The nodes at ``step`` over ``win`` aligned outwards to ``align`` (a multiple of
    the step: the plan cell), with one node of margin each side."""
    r0 = (win.row0 // align) * align - step
    c0 = (win.col0 // align) * align - step
    ky = (-(-(win.row0 + win.height) // align) * align - r0) // step + 1
    kx = (-(-(win.col0 + win.width) // align) * align - c0) // step + 1
    rows = r0 + np.arange(ky) * step + step / 2  # node centres, grid pixel units (0 = edge)
    cols = c0 + np.arange(kx) * step + step / 2
    nodes = _raw_at(gf, grid, rows[:, None], cols[None, :])
    return FrameLattice(step, r0, c0, nodes, False, 0.0)


def _raw_at(gf: GeoFrame, grid: MosaicGrid, rows: np.ndarray, cols: np.ndarray) -> F32:
    """Like ``_exact_at``, unmasked (``GeoFrame.project_points``): NaN only behind the
    camera or off the ground, so that the lattice is smooth across the image edge and the
    off-nadir limit (both are tested per pixel); u, v = inf where a node outside the
    image limits projects into the image (a distortion polynomial folding back), which
    fails the lattice check."""
    e = grid.origin_m[0] + cols * grid.gsd_m
    n = grid.origin_m[1] - rows * grid.gsd_m
    u, v, c, ok = gf.project_points(e, n)
    w, h = gf.camera.width, gf.camera.height
    with np.errstate(invalid="ignore"):
        folded = ~ok & (u > -1.5) & (u < w + 0.5) & (v > -1.5) & (v < h + 0.5) \
            & (c >= math.cos(gf.max_off_nadir_rad))
    u, v = np.where(folded, np.inf, u), np.where(folded, np.inf, v)
    return np.stack(np.broadcast_arrays(u, v, 1.0 / (c * c)), axis=-1).astype(np.float32)


def _exact_at(gf: GeoFrame, grid: MosaicGrid, rows: np.ndarray, cols: np.ndarray) -> F32:
    """u, v, q (..., 3) float32 at fractional grid positions (0 = the grid's top/left
    edge); q = 1 / cos^2 of the viewing angle = 1 + tan^2, which on flat ground is a
    quadratic of the position with the same curvature for every frame at one height, so
    its bilinear error (unlike the cosine's, 10^-3 at the nadir) hardly moves a seam."""
    e = grid.origin_m[0] + cols * grid.gsd_m
    n = grid.origin_m[1] - rows * grid.gsd_m
    u, v, c = gf.map_to_pixels(e, n)
    return np.stack(np.broadcast_arrays(u, v, 1.0 / (c * c)), axis=-1).astype(np.float32)


def _lattice_error(gf: GeoFrame, grid: MosaicGrid, lat: FrameLattice) -> float:
    """The largest |interpolated - exact| (frame pixels) at the midpoints of the lattice's
    edges and at its quad centres where the interpolation lands in or next to the image
    and the frame sees the probe (inf where a node folds, see ``_raw_at``)."""
    s, nd = lat.step, lat.nodes.astype(np.float64)
    if np.isinf(nd).any():
        return math.inf
    rows = lat.row0 + np.arange(nd.shape[0]) * s + s / 2
    cols = lat.col0 + np.arange(nd.shape[1]) * s + s / 2
    rm, cm = (rows[:-1] + rows[1:]) / 2, (cols[:-1] + cols[1:]) / 2
    probes = ((rm[:, None], cols[None, :], (nd[:-1] + nd[1:]) / 2),
              (rows[:, None], cm[None, :], (nd[:, :-1] + nd[:, 1:]) / 2),
              (rm[:, None], cm[None, :], (nd[:-1, :-1] + nd[1:, :-1] + nd[:-1, 1:] + nd[1:, 1:]) / 4))
    w, h = gf.camera.width, gf.camera.height
    pr, pc, pv = [], [], []
    for rr, cc, interp in probes:
        u, v = interp[..., 0], interp[..., 1]
        with np.errstate(invalid="ignore"):
            near = (u > -2.0) & (u < w + 1.0) & (v > -2.0) & (v < h + 1.0)
        ii, jj = np.nonzero(near)
        pr.append(np.broadcast_to(rr, near.shape)[ii, jj])
        pc.append(np.broadcast_to(cc, near.shape)[ii, jj])
        pv.append(interp[ii, jj, :2])
    if not sum(len(r) for r in pr):
        return 0.0
    exact = _exact_at(gf, grid, np.concatenate(pr), np.concatenate(pc)).astype(np.float64)
    err = np.hypot(*(np.concatenate(pv) - exact[:, :2]).T)
    err = err[np.isfinite(err)]
    return float(err.max()) if err.size else 0.0


def lattice_maps(gf: GeoFrame, grid: MosaicGrid, lat: FrameLattice, win: PixelWindow,
                 need_score: bool = True) -> tuple[F32, F32 | None]:
    """The frame's maps at a window's cells (inside ``lat.window``): ``uv`` (h, w, 2)
    float32 frame pixels and the directness ``score`` (h, w) float32, cos^2 of the viewing
    angle (ordered as the cosine); NaN where the frame does not see the cell.
    Interpolated from the lattice, exact where it is ``exact`` or near unseen nodes.
    Without ``need_score`` (RGB), ``score`` is None where no cell can be beyond the
    off-nadir limit (the only use of it then)."""
    uv, q = _maps(gf, grid, lat, win, need_score)
    return uv, None if q is None else np.reciprocal(q, out=q)


def _maps(gf: GeoFrame, grid: MosaicGrid, lat: FrameLattice, win: PixelWindow,
          need_score: bool) -> tuple[F32, F32 | None]:
    """``uv`` and q (see ``_exact_at``) of a window's cells (q None: see ``lattice_maps``)."""
    if lat.exact:
        return _exact_maps(gf, grid, win)
    s = lat.step
    i0, j0 = (win.row0 - lat.row0) // s - 1, (win.col0 - lat.col0) // s - 1
    dy, dx = (win.row0 - lat.row0) % s, (win.col0 - lat.col0) % s
    ky, kx = -(-(dy + win.height) // s) + 2, -(-(dx + win.width) // s) + 2
    sub = lat.nodes[i0:i0 + ky, j0:j0 + kx]
    crop = (slice(s + dy, s + dy + win.height), slice(s + dx, s + dx + win.width))
    size = (kx * s, ky * s)
    uv = cv2.resize(sub[..., :2], size, interpolation=cv2.INTER_LINEAR)[crop]
    seen = np.isfinite(sub[..., 2])
    edge = _near_edge(uv, sub, gf.camera.width, gf.camera.height)
    if not need_score and seen.all() and sub[..., 2].max() * min_score(gf) <= 1.0:
        _redo(gf, grid, win, uv, None, edge)
        return uv, None  # q <= 1 / cos^2 of the off-nadir limit at every node, so everywhere
    q = cv2.resize(sub[..., 2], size, interpolation=cv2.INTER_LINEAR)[crop]
    if not seen.all() and seen.any():
        near = cv2.resize(seen.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)[crop]
        edge |= np.isnan(q) & (near > 0)
    _redo(gf, grid, win, uv, q, edge)
    return uv, q  # views of the enlarged lattice: OpenCV takes their row stride


def _near_edge(uv: F32, sub: F32, width: int, height: int) -> NDArray[np.bool_]:
    """Cells whose interpolated ``uv`` lie within ``EDGE_BAND_PX`` of the image edge,
    where only the exact mapping says whether the frame sees them (none where every
    node of ``sub`` is well inside: the cells are convex combinations of them)."""
    b = EDGE_BAND_PX
    u, v = sub[..., 0], sub[..., 1]
    with np.errstate(invalid="ignore"):
        if ((u >= b - 0.5) & (u <= width - 0.5 - b) & (v >= b - 0.5) & (v <= height - 0.5 - b)).all():
            return np.zeros(uv.shape[:2], bool)
    loose = cv2.inRange(uv, (-0.5 - b, -0.5 - b), (width - 0.5 + b, height - 0.5 + b))
    tight = cv2.inRange(uv, (-0.5 + b, -0.5 + b), (width - 0.5 - b, height - 0.5 - b))
    return loose != tight


def _redo(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow, uv: F32, q: F32 | None,
          redo: NDArray[np.bool_]) -> None:
    """Exact maps at the ``redo`` cells of a window, in place (NaN where unseen)."""
    if not redo.any():
        return
    rr, cc = np.nonzero(redo)
    ex = _exact_at(gf, grid, win.row0 + rr + 0.5, win.col0 + cc + 0.5)
    uv[rr, cc] = ex[:, :2]
    if q is not None:
        q[rr, cc] = ex[:, 2]


def _exact_maps(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow) -> tuple[F32, F32]:
    """The exact maps of a window (the fallback where the lattice is not accurate)."""
    rows = win.row0 + np.arange(win.height)[:, None] + 0.5
    cols = win.col0 + np.arange(win.width)[None, :] + 0.5
    ex = _exact_at(gf, grid, rows, cols)
    return np.ascontiguousarray(ex[..., :2]), np.ascontiguousarray(ex[..., 2])


def pixel_maps(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow,
               steps: tuple[int, ...] | None = None,
               tol_px: float = TOL_PX) -> tuple[F32, F32, F32]:
    """``GeoFrame.map_to_pixels`` at every cell of a window (u, v, cos; float32, NaN where
    unseen: outside the image or beyond the off-nadir limit), through a lattice of the
    window (see the module)."""
    lat = frame_lattice(gf, grid, win, steps, tol_px)
    uv, score = lattice_maps(gf, grid, lat, win)
    seen = visible(uv, score, gf.camera.width, gf.camera.height, min_score(gf))
    u, v = np.where(seen, uv[..., 0], np.nan), np.where(seen, uv[..., 1], np.nan)
    return u, v, np.where(seen, np.sqrt(score), np.nan)


# -- sampling -------------------------------------------------------------------------------
def sample(gf: GeoFrame, img: FrameImage, grid: MosaicGrid, win: PixelWindow,
           interpolation: Interpolation = "linear",
           lattice: FrameLattice | None = None) -> tuple[np.ndarray, F32] | None:
    """A frame's samples at a window's cells: ``values`` (thermal (h, w) float32 degC,
    NaN where the frame's pixel is invalid; rgb (h, w, 3) uint8) and ``weight`` (h, w)
    float32 (thermal: directness score, cos^2 of the viewing angle; rgb: feather
    weight), ``UNSEEN`` (-1) where the frame does not see the cell. ``None`` where it
    sees none of them. ``lattice``: the frame's lattice covering ``win`` (None: one
    made for the window)."""
    lat = lattice or frame_lattice(gf, grid, win)
    uv, score = lattice_maps(gf, grid, lat, win, gf.kind == "thermal")
    weight = frame_weight(uv, score, img.width, img.height, gf.kind, min_score(gf))
    if weight is None:
        return None
    f = img.factor
    maps = uv if f == 1.0 else (uv + np.float32(0.5)) / np.float32(f) - np.float32(0.5)
    values = cv2.remap(img.data, maps, None, _CV_INTERP[interpolation],
                       borderMode=cv2.BORDER_REPLICATE)
    return values, weight


def visible(uv: F32, score: F32 | None, width: int, height: int,
            smin: np.float32) -> NDArray[np.bool_]:
    """Where a ``width`` x ``height`` frame sees the cells of maps ``uv``, ``score``:
    inside the image and at a score of at least ``smin`` (``min_score``; no test where
    ``score`` is None)."""
    inside = cv2.inRange(uv, (-0.5, -0.5), (width - 0.5, height - 0.5)) > 0
    if score is not None:
        inside &= score >= smin
    return inside


def frame_weight(uv: F32, score: F32 | None, width: int, height: int, kind: str,
                 smin: np.float32) -> F32 | None:
    """The weight of a ``width`` x ``height`` frame's samples at maps ``uv``, ``score``
    (``lattice_maps``): thermal the score, rgb the feather weight; ``UNSEEN`` where the
    frame does not see the cell (``visible``); ``None`` where it sees none of them."""
    inside = visible(uv, score, width, height, smin)
    if not inside.any():
        return None
    w = score if kind == "thermal" else feather(uv, width, height)
    weight: F32 = np.where(inside, w, UNSEEN)
    return weight


def feather(uv: F32, width: int, height: int) -> F32:
    """RGB feather weight (float32): the distance to the nearest frame edge (frame pixels,
    at least half a pixel) over half the frame's shorter side."""
    u, v = uv[..., 0], uv[..., 1]
    edge = np.minimum(np.minimum(u, np.float32(width - 1) - u),
                      np.minimum(v, np.float32(height - 1) - v))
    return (np.maximum(edge, np.float32(0.0)) + np.float32(0.5)) / np.float32(0.5 * min(width, height))


def frame_windows(grid: MosaicGrid, gf: GeoFrame) -> Iterator[tuple[TileIndex, PixelWindow]]:
    """The tiles a frame's footprint touches, each with the part of it inside the
    footprint's bounding box."""
    fw = grid.window_of_bounds(gf.bounds_m)
    if fw is None:
        return
    for t in grid.tiles_touching(gf.footprint_m):
        win = intersect(grid.tile_window(t), fw)
        if win is not None:
            yield t, win
