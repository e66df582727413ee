"""Contrast normalisation of frames for feature detection: 8-bit grey at a working size.

Features are found on a downscaled (``max_side_px``), contrast-equalised grey image:

- RGB (uint8, H x W x 3): luminance, then CLAHE;
- thermal (float32 degrees C, H x W, NaN where no reading): a robust percentile stretch
  of the frame's own temperatures to 0..255 (a scene spans a few kelvin of ground and a
  few hot spots; a fixed span would leave the ground flat), then CLAHE. Unread pixels
  become the median and are masked out of detection.

The working image is the full frame shrunk by ``scale`` (full pixels per working
pixel); ``to_full_px`` maps working pixel coordinates back to the frame's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class NormaliseConfig:
    """``max_side_px``: the working image's longer side (pixels; never enlarged);
    ``clahe_clip``/``clahe_tiles``: OpenCV CLAHE clip limit and tile grid (tiles per side);
    ``thermal_percentiles``: the temperature percentiles stretched to 0 and 255."""

    max_side_px: int = 1200
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    thermal_percentiles: tuple[float, float] = (1.0, 99.0)


@dataclass(frozen=True)
class WorkImage:
    """The 8-bit working image, a detection mask (255 = usable) and ``scale`` (full
    pixels per working pixel, >= 1)."""

    gray: U8
    mask: U8
    scale: float

    def to_full_px(self, u: F64, v: F64) -> tuple[F64, F64]:
        """Working pixel coordinates to full-frame pixel coordinates (pixel centres)."""
        return (u + 0.5) * self.scale - 0.5, (v + 0.5) * self.scale - 0.5


def work_image(pixels: np.ndarray, kind: str, config: NormaliseConfig = NormaliseConfig()) -> WorkImage:
    """The contrast-normalised working image of a frame's pixels (see the module)."""
    arr = np.asarray(pixels)
    h, w = arr.shape[:2]
    scale = max(1.0, max(h, w) / config.max_side_px)
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    gray: np.ndarray
    valid: np.ndarray
    if kind == "thermal" or (arr.ndim == 2 and arr.dtype != np.uint8):
        gray, valid = _stretch_thermal(arr.astype(np.float32, copy=False), config.thermal_percentiles)
    else:
        gray, valid = _luminance(arr), np.ones((h, w), np.uint8)
    if scale > 1.0:
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        valid = cv2.resize(valid, size, interpolation=cv2.INTER_NEAREST)
    clahe = cv2.createCLAHE(config.clahe_clip, (config.clahe_tiles, config.clahe_tiles))
    mask = np.where(valid > 0, 255, 0).astype(np.uint8)
    eroded = cv2.erode(mask, np.ones((5, 5), np.uint8))
    return WorkImage(np.asarray(clahe.apply(gray), np.uint8), np.asarray(eroded, np.uint8), w / size[0])


def _luminance(arr: np.ndarray) -> U8:
    if arr.ndim == 2:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr[..., :3], dtype=np.uint8),
                                   cv2.COLOR_RGB2GRAY), np.uint8)


def _stretch_thermal(t: NDArray[np.float32], pct: tuple[float, float]) -> tuple[U8, U8]:
    """Temperatures to 0..255 between two percentiles of the frame; mask of read pixels."""
    valid = np.isfinite(t)
    if not valid.any():
        return np.zeros(t.shape, np.uint8), np.zeros(t.shape, np.uint8)
    lo, hi = np.percentile(t[valid], pct)
    span = max(float(hi - lo), 1e-3)
    filled = np.where(valid, t, float(np.median(t[valid])))
    g = np.clip((filled - lo) * (255.0 / span), 0, 255)
    return np.rint(g).astype(np.uint8), valid.astype(np.uint8)


def work_scale(width: int, height: int, config: NormaliseConfig = NormaliseConfig()) -> float:
    """Full pixels per working pixel for a frame of this size (>= 1)."""
    return max(1.0, max(width, height) / config.max_side_px)
