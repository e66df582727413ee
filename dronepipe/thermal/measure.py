"""Measuring one candidate region of a temperature image into a ``Detection``.

The detector (``detect``) finds regions; this module turns each into numbers and a
class. Work happens on a small crop around the region, so the cost is per region,
not per frame.

Mixed pixels: an object's edge pixels see part object, part ground. The area is the
larger of the pixel count and the equivalent area ``sum(clip(excess / peak excess))``
over the region and its one-pixel ring (exact for a uniform object with one fully
covered pixel). The centroid weights each pixel by its fraction of the class
threshold (hot regions) or of half the peak excess (contextual regions), so edges
count by how much of the object they hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.thermal.detection import Detection, DetectionConfig
from dronepipe.thermal.hotspot import HotspotClass

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Box = tuple[int, int, int, int]  # row0, row1, col0, col1 (exclusive ends)
_CORNERS = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
_RING = np.ones((3, 3), np.uint8)


@dataclass(frozen=True, eq=False)
class FrameArrays:
    """The per-frame arrays every region measurement reads (all image shape, degrees C):
    temperature, excess over the block background (computed only when a frame has hot
    pixels), contrast over the immediate surroundings (``background.local_contrast``)
    and that contrast's sigma."""

    t: F32
    excess: F32 | None
    contrast: F32
    sigma: F32
    gsd_m: float
    radiometric: bool
    config: DetectionConfig


@dataclass(frozen=True, eq=False)
class _Crop:
    """A region padded by a few pixels: the crop's arrays and where it sits."""

    r0: int
    c0: int
    t: F32
    excess: F32
    region: NDArray[np.bool_]
    ring: NDArray[np.bool_]  # region dilated by one pixel

    def peak(self) -> tuple[int, int]:
        """(row, col) in the crop of the region's hottest pixel."""
        masked = np.where(self.region, self.t, -np.inf)
        return np.unravel_index(int(np.argmax(masked)), masked.shape)  # type: ignore[return-value]


def _crop(fa: FrameArrays, box: Box, region: NDArray[np.bool_], excess: F32,
          pad: int = 2) -> _Crop:
    h, w = fa.t.shape
    r0, r1 = max(0, box[0] - pad), min(h, box[1] + pad)
    c0, c1 = max(0, box[2] - pad), min(w, box[3] + pad)
    reg = np.zeros((r1 - r0, c1 - c0), bool)
    reg[box[0] - r0:box[1] - r0, box[2] - c0:box[3] - c0] = region
    ring = cv2.dilate(reg.view(np.uint8), _RING).view(bool)
    return _Crop(r0, c0, fa.t[r0:r1, c0:c1], excess[r0:r1, c0:c1], reg, ring)


def measure_hot(fa: FrameArrays, box: Box, region: NDArray[np.bool_]) -> Detection | None:
    """A fire or ember nest from pixels at or above the ember threshold."""
    cfg = fa.config
    if fa.excess is None:
        raise ValueError("measure_hot needs the block background excess")
    cr = _crop(fa, box, region, fa.excess)
    pr, pc = cr.peak()
    peak, peak_ex = float(cr.t[pr, pc]), float(cr.excess[pr, pc])
    vals = cr.t[cr.region]
    thr = cfg.ember_c - cfg.accuracy_c
    ex = _finite_or(cr.excess, 0.0)
    area_px = float(vals.size)
    if peak_ex > 0:
        area_px = max(area_px, float(np.clip(ex[cr.ring] / peak_ex, 0.0, 1.0).sum()))
    bg = _finite_or(cr.t - cr.excess, thr)
    ref = thr - bg
    weights = np.where(ref > 0.5, np.clip(ex / np.maximum(ref, 0.5), 0.0, 1.0), 1.0)
    weights = np.where(cr.ring, weights, 0.0)
    weights[cr.region] = np.maximum(weights[cr.region], 1e-3)
    saturated = (cfg.saturation_c is not None and peak >= cfg.saturation_c) or (
        peak >= cfg.plateau_min_c and int(np.count_nonzero(vals == peak)) >= cfg.plateau_min_px)
    kind = HotspotClass.FIRE if (peak >= cfg.fire_c - cfg.accuracy_c or saturated) \
        else HotspotClass.EMBER
    if area_px * fa.gsd_m ** 2 < cfg.min_area_m2:
        return None
    return _detection(fa, cr, kind, weights, area_px, peak, peak_ex, float(vals.mean()))


def measure_context(fa: FrameArrays, box: Box, region: NDArray[np.bool_]) -> Detection | None:
    """A person or warm anomaly from pixels warmer than their surroundings; None if the
    region's peak fails the contextual test or its shape fits neither class."""
    cfg = fa.config
    cr = _crop(fa, box, region, fa.contrast)
    pr, pc = cr.peak()
    peak, peak_ex = float(cr.t[pr, pc]), float(cr.excess[pr, pc])
    sigma = float(fa.sigma[cr.r0 + pr, cr.c0 + pc])
    if not peak_ex >= max(cfg.context_k * sigma, cfg.context_min_delta_c):
        return None
    touches = None if cfg.context_at_border else _touches_border(fa, cr)
    if touches:
        return None
    ex = _finite_or(cr.excess, 0.0)
    area_px = float(np.clip(ex[cr.region] / peak_ex, 0.0, 1.0).sum())
    if area_px * fa.gsd_m ** 2 < cfg.min_area_m2:
        return None
    unresolved = area_px < cfg.unresolved_px
    if unresolved and fa.radiometric and _hot_enough(fa, ex[cr.region], peak - peak_ex):
        kind: HotspotClass | None = HotspotClass.EMBER
    else:
        kind = _context_class(fa, peak, peak_ex, area_px * fa.gsd_m ** 2, *_shape(cr.region))
    # the ring quantile last: the costliest test, and most regions fail the class already
    if kind is None or not _stands_out(fa, box, cr, peak, peak_ex):
        return None
    weights = np.where(cr.region, np.clip(ex / (0.5 * peak_ex), 1e-3, 1.0), 0.0)
    return _detection(fa, cr, kind, weights, area_px, peak, peak_ex,
                      float(cr.t[cr.region].mean()), unresolved, touches)


def _stands_out(fa: FrameArrays, box: Box, cr: _Crop, peak: float, peak_ex: float) -> bool:
    """Whether the peak exceeds the ``ring_quantile`` of a ring around the region by half
    its contrast (an isolated object, not the corner of a warm surface)."""
    cfg = fa.config
    width = max(2, round(cfg.ring_m / fa.gsd_m))
    pad = width + 2
    h, w = fa.t.shape
    r0, r1 = max(0, box[0] - pad), min(h, box[1] + pad)
    c0, c1 = max(0, box[2] - pad), min(w, box[3] + pad)
    reg = np.zeros((r1 - r0, c1 - c0), np.uint8)
    rr, cc = np.nonzero(cr.region)
    reg[rr + cr.r0 - r0, cc + cr.c0 - c0] = 1
    inner = cv2.dilate(reg, _RING)
    outer = cv2.dilate(inner, _disk(width))
    ring = fa.t[r0:r1, c0:c1][(outer > inner)]
    ring = ring[np.isfinite(ring)]
    if ring.size < 4:
        return True
    return peak - float(np.quantile(ring, cfg.ring_quantile)) >= cfg.ring_min_fraction * peak_ex


def _disk(r: int) -> NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)),
                      dtype=np.uint8)


def _hot_enough(fa: FrameArrays, excess: F32, background_c: float) -> bool:
    """Whether an unresolved region holds the heat (excess x area, C m2) of an ember
    nest of the reference area at the ember threshold."""
    cfg = fa.config
    heat_c_m2 = float(np.clip(excess, 0.0, None).sum()) * fa.gsd_m ** 2
    nest_c_m2 = (cfg.ember_c - cfg.accuracy_c - background_c) * cfg.ember_ref_area_m2
    return nest_c_m2 > 0 and heat_c_m2 >= nest_c_m2


def _context_class(fa: FrameArrays, peak: float, peak_ex: float, area_m2: float,
                   elong: float, fill: float) -> HotspotClass | None:
    """Person (body-temperature blob of person size and shape), else warm anomaly."""
    cfg = fa.config
    person = (fa.radiometric and cfg.person_min_c <= peak <= cfg.person_max_c
              and peak_ex >= cfg.person_min_contrast_c
              and cfg.person_min_area_m2 <= area_m2 <= cfg.person_max_area_m2
              and elong <= cfg.person_max_elongation and fill >= cfg.person_min_fill)
    if person:
        return HotspotClass.PERSON
    warm_enough = not fa.radiometric or peak >= cfg.anomaly_min_c
    if warm_enough and elong <= cfg.anomaly_max_elongation and area_m2 <= cfg.anomaly_max_area_m2:
        return HotspotClass.ANOMALY
    return None


def _shape(region: NDArray[np.bool_]) -> tuple[float, float]:
    """Elongation (major/minor axis of the moment ellipse, >= 1) and the fill of that
    ellipse (pixels / ellipse area; about 1 for solid ellipses and rectangles)."""
    m = cv2.moments(region.view(np.uint8), binaryImage=True)
    n = m["m00"]
    if n < 1:
        return 1.0, 1.0
    a, b, c = m["mu20"] / n + 1 / 12, m["mu11"] / n, m["mu02"] / n + 1 / 12
    root = math.sqrt(max(0.0, ((a - c) / 2) ** 2 + b * b))
    l1, l2 = (a + c) / 2 + root, max((a + c) / 2 - root, 1e-6)
    return math.sqrt(l1 / l2), n / (4.0 * math.pi * math.sqrt(l1 * l2))


def _detection(fa: FrameArrays, cr: _Crop, kind: HotspotClass, weights: F64, area_px: float,
               peak: float, peak_ex: float, mean: float, unresolved: bool = False,
               touches_border: bool | None = None) -> Detection:
    """The record; ``touches_border`` where the caller has tested it already."""
    if touches_border is None:
        touches_border = _touches_border(fa, cr)
    wsum = float(weights.sum())
    rows, cols = np.indices(weights.shape)
    u = cr.c0 + float((weights * cols).sum()) / wsum
    v = cr.r0 + float((weights * rows).sum()) / wsum
    return Detection(
        kind=kind, centroid_px=(u, v), contour_px=_outline(cr), max_c=peak, mean_c=mean,
        background_c=peak - peak_ex, contrast_c=peak_ex, area_m2=area_px * fa.gsd_m ** 2,
        n_pixels=int(cr.region.sum()), touches_border=touches_border,
        radiometric=fa.radiometric, patch_c=_patch(fa, cr), unresolved=unresolved)


def _finite_or(a: F32, fill: float) -> F32:
    """``np.nan_to_num(a, nan=fill)`` (a copy), quicker where every value is finite (the
    usual crop: 2 us instead of 9, three times per region)."""
    if np.isfinite(a).all():
        return a.copy()
    return np.nan_to_num(a, nan=fill)


def _outline(cr: _Crop) -> F64:
    """Convex outline (N, 2) of (u, v) through the outer corners of the region's pixels."""
    contours, _ = cv2.findContours(cr.region.view(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    pts = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64)
    corners = (pts[:, None, :] + _CORNERS[None, :, :]).reshape(-1, 2)
    hull = cv2.convexHull(corners.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    hull += (cr.c0, cr.r0)
    hull.flags.writeable = False
    return hull


def _touches_border(fa: FrameArrays, cr: _Crop) -> bool:
    """Whether the region reaches the image edge (or the border band, or no-value pixels)."""
    h, w = fa.t.shape
    b = max(1, fa.config.border_px + 1)
    rows, cols = np.nonzero(cr.region)
    r, c = rows + cr.r0, cols + cr.c0
    if r.min() < b or c.min() < b or r.max() >= h - b or c.max() >= w - b:
        return True
    return bool((~np.isfinite(cr.t[cr.ring])).any())


def _patch(fa: FrameArrays, cr: _Crop) -> F32:
    """A read-only temperature patch around the region, at most ``patch_px`` a side."""
    h, w = fa.t.shape
    rows, cols = np.nonzero(cr.region)
    r0, r1 = int(rows.min()) + cr.r0, int(rows.max()) + cr.r0 + 1
    c0, c1 = int(cols.min()) + cr.c0, int(cols.max()) + cr.c0 + 1
    m = max(6, (max(r1 - r0, c1 - c0) + 1) // 2)
    patch = fa.t[max(0, r0 - m):min(h, r1 + m), max(0, c0 - m):min(w, c1 + m)]
    side = fa.config.patch_px
    if max(patch.shape) > side:
        s = side / max(patch.shape)
        size = (max(1, round(patch.shape[1] * s)), max(1, round(patch.shape[0] * s)))
        patch = np.asarray(cv2.resize(patch, size, interpolation=cv2.INTER_AREA), np.float32)
    out = np.array(patch, dtype=np.float32)
    out.flags.writeable = False
    return out
