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
    ``thermal_percentiles``: the temperature percentiles stretched to 0 and 255;
    ``stats_sample_px``: pixels sampled (a regular grid) for those percentiles and the
    median (0 = every pixel; 40,000 put a percentile within about 0.05 percentile points
    of the whole frame's, in a quarter of the time of ``np.percentile`` on it)."""

    max_side_px: int = 1200
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    thermal_percentiles: tuple[float, float] = (1.0, 99.0)
    stats_sample_px: int = 40_000


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
    size = work_size(w, h, config)
    gray: np.ndarray
    valid: np.ndarray
    if kind == "thermal" or (arr.ndim == 2 and arr.dtype != np.uint8):
        gray, valid = _stretch_thermal(arr.astype(np.float32, copy=False), config)
    else:
        gray, valid = _luminance(arr), np.ones((h, w), np.uint8)
    if size != (w, h):
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    clahe = cv2.createCLAHE(config.clahe_clip, (config.clahe_tiles, config.clahe_tiles))
    return WorkImage(np.asarray(clahe.apply(gray), np.uint8), detection_mask(valid, size), w / size[0])


def detection_mask(valid: np.ndarray, size: tuple[int, int]) -> U8:
    """The mask (255 = usable) of a frame's read pixels (``valid``, full size, nonzero
    where read) at the working ``size`` (width, height), eroded by 5 x 5 pixels so that
    no keypoint's neighbourhood reaches an unread one."""
    v = np.asarray(valid, np.uint8)
    if v.shape[::-1] != size:
        v = cv2.resize(v, size, interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.erode(np.where(v > 0, 255, 0).astype(np.uint8), np.ones((5, 5), np.uint8)),
                      np.uint8)


def stretch(temps: NDArray[np.float32], lo: float, hi: float) -> U8:
    """Temperatures (degrees C, float32) to 0..255 linearly from ``lo`` to ``hi``, rounded
    and saturating, in one pass (``round(t * alpha - lo * alpha)``)."""
    alpha = 255.0 / max(hi - lo, 1e-3)
    return np.asarray(cv2.addWeighted(temps, alpha, temps, 0.0, -lo * alpha, dtype=cv2.CV_8U), np.uint8)


def _luminance(arr: np.ndarray) -> U8:
    if arr.ndim == 2:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr[..., :3], dtype=np.uint8),
                                   cv2.COLOR_RGB2GRAY), np.uint8)


def _stretch_thermal(t: NDArray[np.float32], config: NormaliseConfig) -> tuple[U8, U8]:
    """Temperatures to 0..255 between two percentiles of the frame; mask of read pixels."""
    valid = np.isfinite(t)
    all_valid = bool(valid.all())
    if not all_valid and not valid.any():
        return np.zeros(t.shape, np.uint8), np.zeros(t.shape, np.uint8)
    lo, hi, med = frame_stats(t, config.thermal_percentiles, config.stats_sample_px)
    g = stretch(t, lo, hi)
    if not all_valid:
        g[~valid] = np.uint8(np.clip(round((med - lo) * 255.0 / max(hi - lo, 1e-3)), 0, 255))
    return g, valid.astype(np.uint8)


def frame_stats(t: NDArray[np.float32], pct: tuple[float, float],
                sample_px: int) -> tuple[float, float, float]:
    """The two percentiles and the median of a frame's read temperatures (degrees C),
    from a regular strided sample of about ``sample_px`` pixels (all pixels when the
    frame is smaller; 0 = all): linear interpolation between order statistics, as
    ``np.percentile``, found by ``np.partition`` (linear time, no full sort)."""
    step = 1 if sample_px <= 0 else max(1, round(float(np.sqrt(t.size / sample_px))))
    sample = t[::step, ::step].ravel()
    sample = sample[np.isfinite(sample)]
    if not len(sample):  # every sampled pixel unread: fall back to all pixels
        sample = t[np.isfinite(t)]
    ranks = [r * (len(sample) - 1) / 100.0 for r in (pct[0], pct[1], 50.0)]
    kth = sorted({k for r in ranks for k in (int(np.floor(r)), min(int(np.floor(r)) + 1, len(sample) - 1))})
    part = np.partition(sample.astype(np.float64), kth)
    return tuple(_interp(part, r) for r in ranks)  # type: ignore[return-value]


def _interp(part: F64, rank: float) -> float:
    """The value at fractional ``rank`` of partitioned values (linear between neighbours)."""
    k = int(np.floor(rank))
    k1 = min(k + 1, len(part) - 1)
    return float(part[k] + (rank - k) * (part[k1] - part[k]))


def work_scale(width: int, height: int, config: NormaliseConfig = NormaliseConfig()) -> float:
    """Full pixels per working pixel for a frame of this size (>= 1)."""
    return max(1.0, max(width, height) / config.max_side_px)


def work_size(width: int, height: int, config: NormaliseConfig = NormaliseConfig()) -> tuple[int, int]:
    """(width, height) of the working image of a frame of this size (pixels)."""
    scale = work_scale(width, height, config)
    return max(1, round(width / scale)), max(1, round(height / scale))
