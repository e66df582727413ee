"""Measuring a mosaic's displacement against the true orthophoto at many points.

Both images are on the same grid (``rasters.py``). A coarse whole-image phase
correlation (at a quarter of the resolution) finds any large common shift first; then
square windows on a regular lattice are registered by phase correlation
(``cv2.phaseCorrelate``, Hanning-weighted, sub-pixel) of the mosaic window against the
truth window displaced by the coarse shift. Windows with no data, too little texture or
a weak correlation peak are skipped. The displacement of the mosaic is reported
positive east and north, in metres.

Robust statistics: windows whose displacement is far from the median (beyond
``max(3 * 1.4826 * MAD, 2 cells)``) are dropped as mismatches before the RMSE.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Displacements:
    """Per-window displacements (N, 2) east/north metres at window centres (N, 2) pixels
    (col, row); ``inlier`` marks those kept by the robust filter; ``tried`` windows."""

    shifts_m: F64
    centres_px: F64
    inlier: NDArray[np.bool_]
    tried: int   # windows with texture and data in both images

    @property
    def points(self) -> int:
        return int(np.count_nonzero(self.inlier))

    def rmse_m(self, about_m: tuple[float, float] | None = None) -> float | None:
        """RMS length (m) of the kept displacements, or of their difference from
        ``about_m`` (east, north metres), e.g. their median or a known common offset."""
        if self.points == 0:
            return None
        d = self.shifts_m[self.inlier]
        if about_m is not None:
            d = d - np.asarray(about_m, dtype=np.float64)
        return float(np.sqrt(np.mean(np.sum(d * d, axis=1))))

    def median_m(self) -> tuple[float, float] | None:
        if self.points == 0:
            return None
        m = np.median(self.shifts_m[self.inlier], axis=0)
        return float(m[0]), float(m[1])

    def quantile_m(self, q: float) -> float | None:
        if self.points == 0:
            return None
        return float(np.quantile(np.hypot(*self.shifts_m[self.inlier].T), q))


def _normalise(a: F32, valid: NDArray[np.bool_]) -> F32:
    """Zero mean, unit variance over valid cells; invalid cells set to 0."""
    v = a[valid]
    out = np.zeros_like(a, dtype=np.float32)
    if v.size:
        out[valid] = (v - v.mean()) / max(float(v.std()), 1e-6)
    return out


def _correlate(ref: F32, mov: F32) -> tuple[float, float, float]:
    """Shift (dx, dy) in pixels of ``mov`` relative to ``ref`` and the peak response."""
    win = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F)
    (dx, dy), resp = cv2.phaseCorrelate(ref.astype(np.float32), mov.astype(np.float32), win)
    return float(dx), float(dy), float(resp)


def coarse_shift(truth: F32, mosaic: F32, factor: int = 4) -> tuple[int, int]:
    """Whole-image shift (dx, dy) in grid pixels, rounded, from a reduced resolution."""
    valid = np.isfinite(truth) & np.isfinite(mosaic)
    if np.count_nonzero(valid) < 64:
        return 0, 0
    a = cv2.resize(_normalise(truth, valid), None, fx=1 / factor, fy=1 / factor,
                   interpolation=cv2.INTER_AREA)
    b = cv2.resize(_normalise(mosaic, valid), None, fx=1 / factor, fy=1 / factor,
                   interpolation=cv2.INTER_AREA)
    if min(a.shape) < 16:
        return 0, 0
    dx, dy, _ = _correlate(a, b)
    return int(round(dx * factor)), int(round(dy * factor))


def band_limit(a: F32, sigma_px: float = 1.0) -> F32:
    """Gaussian low-pass that ignores NaN cells (normalised convolution); cells whose
    neighbourhood is mostly missing stay NaN. Phase correlation whitens the spectrum,
    so frequencies near Nyquist (pixel noise, detail lost by resampling) would
    otherwise bias sub-pixel shifts."""
    valid = np.isfinite(a)
    num = cv2.GaussianBlur(np.where(valid, a, 0.0).astype(np.float32), (0, 0), sigma_px)
    den = cv2.GaussianBlur(valid.astype(np.float32), (0, 0), sigma_px)
    out = num / np.maximum(den, 1e-6)
    out[~valid | (den < 0.99)] = np.nan
    return out


def register_windows(truth: F32, mosaic: F32, cell_m: float, window: int = 48,
                     step: int = 32, min_response: float = 0.05,
                     min_std: float = 1e-3) -> Displacements:
    """Displacements of ``mosaic`` against ``truth`` (same grid, NaN = no data)."""
    truth, mosaic = band_limit(truth), band_limit(mosaic)
    cx, cy = coarse_shift(truth, mosaic)
    h, w = truth.shape
    shifts, centres, tried = [], [], 0
    half = window // 2
    for r in range(0, h - window + 1, step):
        for c in range(0, w - window + 1, step):
            t = truth[r:r + window, c:c + window]
            if not np.isfinite(t).all() or float(t.std()) < min_std:
                continue
            m = mosaic[max(0, r + cy):r + cy + window, max(0, c + cx):c + cx + window]
            if m.shape != t.shape or not np.isfinite(m).all():
                continue                       # the mosaic does not cover this window
            tried += 1
            found = _refine(t, mosaic, r, c, cx, cy, min_std, min_response)
            if found is None:
                continue
            # mosaic content at truth position p appears at p + (dx, dy) pixels
            shifts.append((found[0] * cell_m, -found[1] * cell_m))
            centres.append((c + half, r + half))
    s = np.array(shifts, dtype=np.float64).reshape(-1, 2)
    return Displacements(s, np.array(centres, dtype=np.float64).reshape(-1, 2),
                         robust_inliers(s, 2.0 * cell_m), tried)


def _refine(t: F32, mosaic: F32, r: int, c: int, ox: int, oy: int, min_std: float,
            min_response: float) -> tuple[float, float] | None:
    """Total shift (dx, dy) pixels of one truth window in the mosaic: correlate at the
    offset, move the mosaic window by the rounded result, correlate again until the
    residual is within a pixel, then polish it (``_subpixel``). Waiting for a residual
    under half a pixel instead oscillated between -0.5 and +0.5 where the true fraction
    is near a half (phase correlation's estimate there is biased either way), and two
    windows in three of a mosaic off by half a pixel were dropped."""
    n = t.shape[0]
    tn = (t - t.mean()) / t.std()
    for _ in range(3):
        if r + oy < 0 or c + ox < 0 or r + oy + n > mosaic.shape[0] or c + ox + n > mosaic.shape[1]:
            return None
        m = mosaic[r + oy:r + oy + n, c + ox:c + ox + n]
        if not np.isfinite(m).all() or float(m.std()) < min_std:
            return None
        dx, dy, resp = _correlate(tn, (m - m.mean()) / m.std())
        if resp < min_response or max(abs(dx), abs(dy)) > n / 4:
            return None
        if abs(dx) <= 1.0 and abs(dy) <= 1.0:
            return _subpixel(tn, mosaic, r + oy, c + ox, dx, dy, ox, oy)
        ox, oy = ox + int(round(dx)), oy + int(round(dy))
    return None


def _subpixel(tn: F32, mosaic: F32, r: int, c: int, dx: float, dy: float, ox: int,
              oy: int, margin: int = 3) -> tuple[float, float]:
    """Polish a sub-pixel shift: move the mosaic window back by the estimate (cubic
    interpolation) and correlate again until the residual vanishes (phase correlation's
    peak centroid is biased for fractional shifts, not for zero)."""
    n = tn.shape[0]
    r0, c0 = r - margin, c - margin
    if r0 < 0 or c0 < 0 or r0 + n + 2 * margin > mosaic.shape[0] or c0 + n + 2 * margin > mosaic.shape[1]:
        return ox + dx, oy + dy
    big = mosaic[r0:r0 + n + 2 * margin, c0:c0 + n + 2 * margin]
    if not np.isfinite(big).all():
        return ox + dx, oy + dy
    for _ in range(12):
        shift = np.float32([[1, 0, dx + margin], [0, 1, dy + margin]])
        m = cv2.warpAffine(big, shift, (n, n), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        ex, ey, _ = _correlate(tn, (m - m.mean()) / max(float(m.std()), 1e-6))
        if abs(ex) > 1.5 or abs(ey) > 1.5:
            break
        dx, dy = dx + ex, dy + ey
        if abs(ex) < 2e-3 and abs(ey) < 2e-3:
            break
    return ox + dx, oy + dy


def robust_inliers(shifts_m: F64, floor_m: float) -> NDArray[np.bool_]:
    """Displacements within ``max(3 * 1.4826 * MAD, floor_m)`` of the median."""
    if len(shifts_m) == 0:
        return np.zeros(0, dtype=bool)
    r = np.hypot(*(shifts_m - np.median(shifts_m, axis=0)).T)
    limit = max(3.0 * 1.4826 * float(np.median(r)), floor_m)
    return r <= limit
