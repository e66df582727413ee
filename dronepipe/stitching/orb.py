"""ORB keypoint positions in the pixel-centre convention, optionally refined to sub-pixel.

OpenCV's ORB finds keypoints on a pyramid: level ``L`` is level ``L - 1`` resized
(bilinear) to ``round(size / f**L)`` pixels, and a keypoint found at integer position
``p`` of level ``L`` is reported at ``p * f**L``. That is a corner convention (pixel 0's
centre at 0 on every level) and the nominal scale, not the level's actual one: at level
7 (f = 1.2) a keypoint sits 1.3 px down-right of where it is, which frames flown in
opposite directions see as a 2.6 px seam. SIFT's keypoints (``features``) are pixel
centres; so are these after ``orb_positions``: each level's integer position is mapped
down the resize chain, centre to centre (``x_prev = (x + 0.5) * w_prev / w - 0.5``).

FAST corners are integer positions on their level; ``subpixel`` moves each to the peak
of a quadratic through its level's Harris response (ORB's own score), at most half a
level pixel, which is what a coarse level needs to tie to a full-resolution pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
ORB_SCALE = 1.2  # pyramid scale factor between levels
ORB_LEVELS = 8  # pyramid levels


def level_sizes(width: int, height: int, scale: float = ORB_SCALE,
                levels: int = ORB_LEVELS) -> list[tuple[int, int]]:
    """(width, height) of each pyramid level (pixels), as ORB computes them."""
    f = np.float32(scale)
    return [(round(width / float(f ** k)), round(height / float(f ** k))) for k in range(levels)]


def level_to_base(xy: F64, level: int, sizes: Sequence[tuple[int, int]]) -> F64:
    """Positions (N, 2) on pyramid ``level`` to level 0 (pixel centres), down the resize chain."""
    out = np.array(xy, dtype=np.float64)
    for k in range(level, 0, -1):
        ratio = np.array(sizes[k - 1], np.float64) / np.array(sizes[k], np.float64)
        out = (out + 0.5) * ratio - 0.5
    return out


def orb_positions(keypoints: Sequence[cv2.KeyPoint], gray: U8, subpixel: bool = False,
                  scale: float = ORB_SCALE) -> F64:
    """Positions (N, 2, working pixels, centre convention) of ORB keypoints found on
    ``gray`` (see module)."""
    pts = np.array([k.pt for k in keypoints], dtype=np.float64).reshape(-1, 2)
    lv = np.array([k.octave for k in keypoints], dtype=np.int64)
    levels = int(lv.max()) + 1 if len(lv) else 1
    sizes = level_sizes(gray.shape[1], gray.shape[0], scale, max(levels, 1))
    on_level = np.rint(pts / np.float32(scale) ** lv[:, None].astype(np.float64))
    if subpixel:
        on_level = _refine(on_level, lv, gray, sizes)
    out = np.empty_like(pts)
    for k in range(levels):
        sel = lv == k
        out[sel] = level_to_base(on_level[sel], k, sizes)
    return out


def _refine(xy: F64, lv: NDArray[np.int64], gray: U8, sizes: Sequence[tuple[int, int]]) -> F64:
    """Sub-pixel positions on each keypoint's own pyramid level (level pixels): the peak
    of a quadratic through the Harris response (ORB's own score) around the keypoint;
    a keypoint not at a response maximum keeps its integer position."""
    out = xy.copy()
    img = gray
    for k in range(len(sizes)):
        if k:
            img = cv2.resize(img, sizes[k], interpolation=cv2.INTER_LINEAR_EXACT)
        sel = np.flatnonzero(lv == k)
        if len(sel):
            resp = cv2.cornerHarris(np.float32(img), 7, 3, 0.04)
            out[sel] = xy[sel] + _peak_offsets(resp, xy[sel].astype(np.int64))
    return out


def _peak_offsets(resp: NDArray[np.float32], ij: NDArray[np.int64]) -> F64:
    """Offsets (N, 2, within +-0.5 px) of a response's quadratic peak from integer
    positions (x, y); zero where the position is no maximum or at the border."""
    h, w = resp.shape
    x = np.clip(ij[:, 0], 1, w - 2)
    y = np.clip(ij[:, 1], 1, h - 2)
    c = resp[y, x].astype(np.float64)
    off = np.zeros((len(ij), 2))
    for axis, (lo, hi) in enumerate(((resp[y, x - 1], resp[y, x + 1]), (resp[y - 1, x], resp[y + 1, x]))):
        curv = 2.0 * c - lo - hi
        ok = (curv > 0) & (c >= lo) & (c >= hi) & (x == ij[:, 0]) & (y == ij[:, 1])
        off[ok, axis] = np.clip(0.5 * (hi - lo)[ok] / curv[ok], -0.5, 0.5)
    return off
