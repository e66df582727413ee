"""Hotspot detection in one temperature image: fire, ember nests, warm anomalies, persons.

Two tests run on every frame (float32 degrees C, NaN = no value):

* absolute: pixels at or above the ember threshold (minus the camera's accuracy) form
  hot regions; fragments closer than ``merge_gap_m`` join. A region whose peak reaches
  the fire threshold, or that is saturated, is ``fire``; otherwise ``ember``.
* contextual: the contrast of each pixel over its immediate surroundings (the
  white top-hat of ``background.local_contrast``: warm features smaller than
  ``object_max_m``, whatever the large-scale structure such as a sun-heated roof)
  grows regions at ``context_grow_k`` robust sigmas; a region counts when its peak is
  ``context_k`` sigmas and ``context_min_delta_c`` above, and it stands out of a ring
  around it (not the corner of a warm surface). It is a ``person`` when its peak lies
  in the body-temperature band and it has person size and shape, else an ``anomaly``
  (a hidden ember under cover, a warm engine...). Regions holding pixels of a fire or
  ember nest belong to that (their warm halo is not a second object).

Both tests drop regions smaller than ``min_area_m2``; the contextual mask is opened
(3x3) where objects span enough pixels for that not to erase them. Non-radiometric
images (relative values) get the contextual test only, as ``anomaly``.

Area is measured with mixed pixels in mind: a pixel half covered by a 60 C nest on
20 C ground reads about 40 C. The area is the larger of the pixel count above the
class threshold and the "equivalent area" sum(excess / peak excess) around the region,
which is exact for a uniform object with at least one fully covered pixel.
Everything is whole-array numpy/OpenCV work plus a short loop over the few regions.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from dronepipe.thermal.background import local_background, local_contrast
from dronepipe.thermal.detection import Detection, DetectionConfig
from dronepipe.thermal.measure import Box, FrameArrays, measure_context, measure_hot

log = logging.getLogger(__name__)

__all__ = ["Detection", "DetectionConfig", "detect_hotspots"]

F32 = NDArray[np.float32]


def detect_hotspots(celsius: NDArray[np.floating], gsd_m: float, radiometric: bool = True,
                    config: DetectionConfig = DetectionConfig()) -> list[Detection]:
    """Hot objects in one temperature image (degrees C, NaN = no value).

    ``gsd_m`` is the ground sample distance (metres per pixel) that converts the
    minimum area and the context window to pixels. ``radiometric`` False runs the
    contextual test only. Detections come hottest class first, then hottest first.
    """
    if not gsd_m > 0:
        raise ValueError(f"gsd_m must be positive, got {gsd_m}")
    t = np.ascontiguousarray(celsius, dtype=np.float32)
    if t.ndim != 2:
        raise ValueError(f"celsius must be 2-D, got shape {t.shape}")
    window_px = config.context_window_m / gsd_m
    usable = _usable_mask(t, config.border_px)
    hot = usable & (t >= config.ember_c - config.accuracy_c) if radiometric else None
    excess = None
    if hot is not None and hot.any():  # the block background only where something is hot
        excess = t - local_background(t, window_px, config.noise_floor_c)[0]
    contrast, sigma = local_contrast(t, config.object_max_m / gsd_m, window_px,
                                     config.noise_floor_c)
    fr = FrameArrays(t, excess, contrast, sigma, gsd_m, radiometric, config)
    out: list[Detection] = []
    taken = None
    if hot is not None and excess is not None:
        out, taken = _hot_regions(fr, hot)
    out += _context_regions(fr, usable, taken)
    out.sort(key=lambda d: (-d.kind.precedence, -d.max_c))
    return out


def _usable_mask(t: F32, border_px: int) -> NDArray[np.bool_]:
    """Finite pixels away from the frame border."""
    usable = np.isfinite(t)
    b = max(0, border_px)
    if b:
        usable[:b, :] = usable[-b:, :] = False
        usable[:, :b] = usable[:, -b:] = False
    return usable


def _min_pixels(fr: FrameArrays) -> int:
    return max(fr.config.min_pixels, math.ceil(fr.config.min_area_m2 / fr.gsd_m ** 2 - 1e-9))


def _hot_regions(fr: FrameArrays, hot: NDArray[np.bool_]) -> tuple[list[Detection],
                                                                    NDArray[np.bool_]]:
    """Fire and ember nests: connected hot pixels, fragments within the merge gap joined.
    Also returns the mask of the hot pixels that made a detection."""
    cfg = fr.config
    hot8 = hot.view(np.uint8)
    gap_px = round(cfg.merge_gap_m / fr.gsd_m / 2.0)
    joined = np.asarray(cv2.dilate(hot8, _disk(gap_px)), np.uint8) if gap_px >= 1 else hot8
    n, labels, boxes = _components(joined)
    counts = np.bincount(labels[hot], minlength=n)
    keep = _limit([i for i in range(1, n) if counts[i] > 0], counts, cfg.max_regions, "hot")
    out, accepted = [], np.zeros(n, bool)
    for i in keep:
        box = boxes[i]
        region = (labels[box[0]:box[1], box[2]:box[3]] == i) & hot[box[0]:box[1], box[2]:box[3]]
        det = measure_hot(fr, box, region)
        if det is not None:
            out.append(det)
            accepted[i] = True
    return out, hot & accepted[labels]


def _context_regions(fr: FrameArrays, usable: NDArray[np.bool_],
                     taken_px: NDArray[np.bool_] | None) -> list[Detection]:
    """Anomalies and persons: regions warmer than their surroundings, except those
    holding pixels of a hot detection (its warm halo)."""
    cfg = fr.config
    with np.errstate(invalid="ignore"):
        seeds = fr.contrast >= np.maximum(cfg.context_k * fr.sigma, cfg.context_min_delta_c)
        if not (seeds & usable).any():
            return []
        grow = fr.contrast >= np.maximum(cfg.context_grow_k * fr.sigma, cfg.context_grow_delta_c)
    mask = (grow & usable).view(np.uint8)
    min_px = _min_pixels(fr)
    if math.sqrt(min_px) >= 4.5:
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disk(1))
    n, labels, boxes = _components(mask)
    counts = np.bincount(labels[mask.view(bool)], minlength=n)
    taken = np.zeros(n, bool)
    if taken_px is not None and taken_px.any():
        taken[np.unique(labels[taken_px])] = True
    keep = [i for i in range(1, n) if counts[i] >= min_px and not taken[i]]
    keep = _limit(keep, counts, cfg.max_regions, "contextual")
    out = []
    for i in keep:
        box = boxes[i]
        det = measure_context(fr, box, labels[box[0]:box[1], box[2]:box[3]] == i)
        if det is not None:
            out.append(det)
    return out


def _components(mask: NDArray[np.uint8]) -> tuple[int, NDArray[np.int32], list[Box]]:
    """8-connected labels of a 0/1 mask, and each label's box (row0, row1, col0, col1);
    index 0 (background) gets an empty box. OpenCV's labelling is fast, its statistics
    are not (1.5 ms a frame), so boxes come from ``scipy.ndimage.find_objects``."""
    n, lab = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    labels = np.asarray(lab, dtype=np.int32)
    boxes: list[Box] = [(0, 0, 0, 0)]
    for sl in ndimage.find_objects(labels):
        boxes.append((sl[0].start, sl[0].stop, sl[1].start, sl[1].stop) if sl else (0, 0, 0, 0))
    return n, labels, boxes


def _limit(ids: list[int], counts: NDArray[np.integer], limit: int, what: str) -> list[int]:
    """At most ``limit`` region ids, the largest ones."""
    if len(ids) <= limit:
        return ids
    log.warning("%d %s regions in one frame; keeping the %d largest", len(ids), what, limit)
    return sorted(ids, key=lambda i: -int(counts[i]))[:limit]


def _disk(r: int) -> NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)),
                      dtype=np.uint8)
