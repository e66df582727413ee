"""How frames combine in a mosaic tile: one frame per pixel for thermal, feathering for RGB.

A tile's state is an accumulator, float32 of shape (channels, tile, tile):

- thermal: (temperature degC, score). A pixel takes the sample of the frame that saw it
  most directly (highest score, the squared cosine of the viewing angle from the vertical);
  ties keep the frame that came first. Temperatures are never averaged across frames,
  so every output value is one frame's (bilinearly interpolated) measurement.
- rgb: (R*w, G*w, B*w, w). Samples are weighted by their distance to the frame's edge
  (feathering), so seams blend smoothly; the tile is the weighted mean. In batch, only
  the ``k`` frames with the largest weights at a cell blend (``Mosaic(max_contributors=k)``):
  each adds with its weight less the (k+1)-th largest there (``top_weights``), which
  fades a frame out continuously where it leaves the best k. Where at most k frames see
  a cell that is the plain feathered mean.

Accumulators merge associatively (thermal: keep the higher score; rgb: add), so tiles
rendered in separate dask tasks combine into the same result as feeding one by one.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
Kind = Literal["thermal", "rgb"]
NO_SCORE = np.float32(-1.0)  # below any score (squared cosine) of a viewing angle


def channels(kind: Kind) -> int:
    """Accumulator channels of a mosaic kind."""
    return 2 if kind == "thermal" else 4


def output_bands(kind: Kind) -> int:
    """Bands of a finished tile: 1 (degC) for thermal, 4 (R, G, B, alpha) for rgb."""
    return 1 if kind == "thermal" else 4


def empty(kind: Kind, size: int) -> F32:
    """A fresh accumulator for a ``size`` x ``size`` tile (nothing seen yet)."""
    acc = np.zeros((channels(kind), size, size), dtype=np.float32)
    if kind == "thermal":
        acc[0] = np.nan
        acc[1] = NO_SCORE
    return acc


def add_sample(acc: F32, kind: Kind, values: np.ndarray, weight: F32,
               threshold: F32 | None = None) -> None:
    """Fold one frame's samples into an accumulator window, in place.

    ``acc`` (channels, h, w) is a view of the tile; ``values`` the frame's pixels at the
    cells (thermal (h, w) float32 degC, NaN invalid; rgb (h, w, 3) uint8);
    ``weight`` (h, w) float32 the score (thermal) or feather weight (rgb), <= 0 or NaN
    where the frame does not see the cell. RGB ``threshold`` (h, w): the weight of the
    best frame left out at each cell (``top_weights``); a frame then adds with weight
    ``weight - threshold`` where positive, so that only the frames above it blend and a
    frame's share fades to nothing as it drops out of them (no seams).
    """
    if kind == "thermal":
        take = weight > acc[1]
        take &= np.isfinite(values)
        np.copyto(acc[0], values, where=take)
        np.copyto(acc[1], weight, where=take)
        return
    w = weight if threshold is None else weight - threshold
    w = np.maximum(w, np.float32(0.0))  # NaN (unseen) -> 0 as well
    tmp = np.empty(w.shape, np.float32)
    for c, plane in enumerate(cv2.split(values)):  # contiguous planes: 40 % faster
        np.multiply(plane, w, out=tmp)
        acc[c] += tmp
    acc[3] += w


def top_weights(weights: F32, weight: F32, keep: int) -> None:
    """Fold a frame's ``weight`` (h, w) into ``weights`` (keep, h, w), the ``keep`` largest
    weights seen at each cell so far in descending order (0: none), in place."""
    x = np.maximum(weight, np.float32(0.0))
    for slot in weights[:keep]:
        hi = np.maximum(slot, x)
        np.minimum(slot, x, out=x)
        slot[...] = hi


def merge(acc: F32, other: F32, kind: Kind) -> None:
    """Merge accumulator ``other`` into ``acc`` (same shape), in place; ``acc`` came first."""
    if kind == "thermal":
        take = other[1] > acc[1]
        acc[0][take] = other[0][take]
        acc[1][take] = other[1][take]
    else:
        acc += other


def finish(acc: F32, kind: Kind) -> NDArray[np.float32] | NDArray[np.uint8]:
    """The output pixels of an accumulator: thermal (1, h, w) float32 degC, NaN where
    unseen; rgb (4, h, w) uint8 R, G, B, alpha (255 seen, 0 unseen)."""
    if kind == "thermal":
        out = acc[0].copy()
        out[acc[1] <= NO_SCORE] = np.nan
        return out[None]
    w = acc[3]
    seen = w > 0
    rgb = np.zeros((4, *w.shape), dtype=np.uint8)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = acc[:3] / np.where(seen, w, 1.0)
    rgb[:3] = np.clip(np.rint(mean), 0, 255).astype(np.uint8) * seen
    rgb[3] = np.where(seen, 255, 0)
    return rgb
