"""Drawing one frame into a block of grid pixels.

For every grid cell: its centre (easting, northing) -> the ground height there ->
``GeoFrame.map_to_pixels`` -> an OpenCV remap from the frame (bilinear or nearest), plus a
weight: the directness score for thermal (cosine of the viewing angle from the vertical)
or the feather weight for RGB (distance to the frame edge). Where the mosaic is much
coarser than the frame, the frame is first shrunk by area averaging (within the frame)
so that the bilinear sampling does not alias.
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


@dataclass(frozen=True)
class FrameImage:
    """A frame's pixels ready to sample: ``data`` (H', W') float32 degC or (H', W', 3) uint8
    RGB, shrunk by ``factor`` (>= 1) from the camera's size ``width`` x ``height``."""

    data: np.ndarray
    factor: float
    width: int
    height: int


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


def sample(gf: GeoFrame, img: FrameImage, grid: MosaicGrid, win: PixelWindow,
           interpolation: Interpolation = "linear") -> tuple[F32, F32] | None:
    """A frame's samples at a window's cells: ``values`` (bands, h, w) float32 and
    ``weight`` (h, w) float32 (thermal: directness score; rgb: feather weight), weight
    NaN where the frame does not see the cell. ``None`` where it sees none of them."""
    u, v, cos_view = pixel_maps(gf, grid, win)
    with np.errstate(invalid="ignore"):
        edge = np.minimum(np.minimum(u + 0.5, img.width - 0.5 - u),
                          np.minimum(v + 0.5, img.height - 0.5 - v))
        inside = edge >= 0.0
    if not inside.any():
        return None
    f = img.factor
    mx = np.where(inside, (u + 0.5) / f - 0.5, -1.0).astype(np.float32)
    my = np.where(inside, (v + 0.5) / f - 0.5, -1.0).astype(np.float32)
    out = cv2.remap(img.data, mx, my, _CV_INTERP[interpolation], borderMode=cv2.BORDER_REPLICATE)
    values = out[None] if out.ndim == 2 else np.moveaxis(out, -1, 0)
    score = cos_view if gf.kind == "thermal" else np.maximum(edge, 0.5) / (0.5 * min(img.width, img.height))
    weight: F32 = np.where(inside, score, np.nan).astype(np.float32)
    samples: F32 = np.asarray(values, dtype=np.float32)
    return samples, weight


def pixel_maps(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow, steps: tuple[int, ...] = (8, 4),
               tol_px: float = 0.02) -> tuple[NDArray[np.float64], ...]:
    """``GeoFrame.map_to_pixels`` at every cell of a window, fast: exact on a lattice of
    every ``step`` cells, bilinear in between (the mapping is smooth), exact again where
    the lattice straddles the edge of what the frame sees. Tries each step in turn while
    the bilinear error at lattice-cell midpoints exceeds ``tol_px``, then goes exact."""
    for step in steps:
        if win.height < 2 * step or win.width < 2 * step:
            break
        maps = _lattice_maps(gf, grid, win, step, tol_px)
        if maps is not None:
            return maps
    return gf.map_to_pixels(*grid.cell_centres(win))


def _lattice_maps(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow, step: int,
                  tol_px: float) -> tuple[NDArray[np.float64], ...] | None:
    """The maps from a lattice of every ``step`` cells; ``None`` where not accurate enough."""
    kx, ky = -(-win.width // step) + 2, -(-win.height // step) + 2
    # node k sits where cv2.resize puts source pixel k when enlarging by ``step``
    cols = win.col0 + (np.arange(kx) - 1) * step + (step - 1) / 2
    rows = win.row0 + (np.arange(ky) - 1) * step + (step - 1) / 2
    e = grid.origin_m[0] + (cols[None, :] + 0.5) * grid.gsd_m
    n = grid.origin_m[1] - (rows[:, None] + 0.5) * grid.gsd_m
    coarse = np.stack(gf.map_to_pixels(e, n), axis=-1).astype(np.float32)
    size = (kx * step, ky * step)
    crop = (slice(step, step + win.height), slice(step, step + win.width))
    fine = cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)[crop].astype(np.float64)
    if not _lattice_ok(gf, grid, win, fine, step, tol_px):
        return None
    near = cv2.resize(np.isfinite(coarse[..., 0]).astype(np.float32), size,
                      interpolation=cv2.INTER_LINEAR)[crop]
    redo = np.isnan(fine[..., 0]) & (near > 0)
    if redo.any():
        rr, cc = np.nonzero(redo)
        e1 = grid.origin_m[0] + (win.col0 + cc + 0.5) * grid.gsd_m
        n1 = grid.origin_m[1] - (win.row0 + rr + 0.5) * grid.gsd_m
        fine[rr, cc] = np.stack(gf.map_to_pixels(e1, n1), axis=-1)
    return fine[..., 0], fine[..., 1], fine[..., 2]


def _lattice_ok(gf: GeoFrame, grid: MosaicGrid, win: PixelWindow, fine: NDArray[np.float64],
                step: int, tol_px: float) -> bool:
    """Whether the bilinear maps agree with the exact mapping half a step from the nodes."""
    rr, cc = np.meshgrid(np.arange(step // 2, win.height, step), np.arange(step // 2, win.width, step),
                         indexing="ij")
    e = grid.origin_m[0] + (win.col0 + cc + 0.5) * grid.gsd_m
    n = grid.origin_m[1] - (win.row0 + rr + 0.5) * grid.gsd_m
    u, v, _ = gf.map_to_pixels(e, n)
    with np.errstate(invalid="ignore"):
        err = np.hypot(fine[rr, cc, 0] - u, fine[rr, cc, 1] - v)
    err = err[np.isfinite(err)]
    return err.size == 0 or float(err.max()) <= tol_px


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
