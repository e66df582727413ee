"""Keyframes: the frames that add new ground to the mosaic, chosen by footprint overlap.

A frame is a keyframe when its footprint overlaps the last keyframe's by less than
``max_overlap`` of its own area (or it is the first). The selector only moves on when
the caller says the keyframe was taken (``accept``): a keyframe the mosaic had to skip
(queue full) is followed by the very next frame as a candidate, so skipping delays the
mosaic a little and leaves no hole.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


def footprint_overlap(a: ArrayLike, b: ArrayLike) -> float:
    """Area of the intersection of two footprints (N, 2 metres) over the area of ``a``
    (0..1); footprints are taken as their convex hulls."""
    pa = cv2.convexHull(np.asarray(a, dtype=np.float32))
    pb = cv2.convexHull(np.asarray(b, dtype=np.float32))
    area_a = cv2.contourArea(pa)
    if area_a <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    return float(min(1.0, max(0.0, inter / area_a)))


class KeyframeSelector:
    """Per-kind keyframe choice (see the module docstring); thread-safe."""

    def __init__(self, max_overlap: float = 0.7) -> None:
        if not 0.0 <= max_overlap <= 1.0:
            raise ValueError(f"keyframe overlap must be within 0..1, got {max_overlap}")
        self.max_overlap = max_overlap
        self._last: dict[str, F64] = {}
        self._lock = threading.Lock()

    def is_keyframe(self, kind: str, footprint_m: ArrayLike) -> bool:
        """Whether a frame with this footprint adds enough new ground."""
        with self._lock:
            last = self._last.get(kind)
        if last is None:
            return True
        centre = np.asarray(footprint_m, dtype=np.float64).mean(axis=0)
        fp = np.asarray(footprint_m, dtype=np.float64) - centre
        return footprint_overlap(fp, last - centre) < self.max_overlap

    def accept(self, kind: str, footprint_m: ArrayLike) -> None:
        """The keyframe went to the mosaic: compare the next frames with it."""
        with self._lock:
            self._last[kind] = np.asarray(footprint_m, dtype=np.float64).copy()
