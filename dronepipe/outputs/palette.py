"""Thermal pictures: the "ironbow" palette, colour scales, PNG/JPEG encoding.

Temperatures (degrees C, NaN = no value) become 8-bit RGB through a 256-entry
ironbow table (black - violet - red - orange - yellow - white, the look thermal
cameras use), between a low and a high temperature; NaN pixels get a plain
background colour. Used for KMZ thumbnails and the situation report.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]

_STOPS = np.array([0.0, 0.15, 0.35, 0.55, 0.75, 0.9, 1.0])
_RGB = np.array([[0, 0, 0], [32, 0, 140], [145, 0, 160], [220, 60, 40], [250, 150, 0],
                 [255, 220, 60], [255, 255, 255]], dtype=np.float64)


def ironbow_lut() -> U8:
    """The palette as a (256, 3) uint8 RGB table."""
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, _STOPS, _RGB[:, k]) for k in range(3)], axis=-1).round() \
        .astype(np.uint8)


def colour_range(celsius: NDArray[np.floating], lo_pct: float = 1.0,
                 hi_pct: float = 99.8) -> tuple[float, float]:
    """A robust display range (degrees C) from percentiles of the finite values."""
    vals = np.asarray(celsius, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(vals, [lo_pct, hi_pct]))
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def colourise(celsius: NDArray[np.floating], lo_c: float, hi_c: float,
              nan_rgb: tuple[int, int, int] = (255, 255, 255)) -> U8:
    """RGB (H, W, 3) uint8 of a temperature array between ``lo_c`` and ``hi_c``."""
    t = np.asarray(celsius, dtype=np.float32)
    finite = np.isfinite(t)
    idx = np.clip((np.where(finite, t, lo_c) - lo_c) / max(hi_c - lo_c, 1e-6) * 255.0, 0, 255)
    rgb = ironbow_lut()[idx.astype(np.uint8)]
    rgb[~finite] = nan_rgb
    return rgb


def png_bytes(rgb: U8) -> bytes:
    """PNG of an RGB (H, W, 3) or RGBA (H, W, 4) uint8 image."""
    code = cv2.COLOR_RGBA2BGRA if rgb.shape[-1] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), code))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def jpeg_bytes(rgb: U8, quality: int = 85) -> bytes:
    """JPEG of an RGB (H, W, 3) uint8 image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def thumbnail_png(patch_c: NDArray[np.floating], side_px: int = 128) -> bytes:
    """A PNG thumbnail of a temperature patch, scaled to its own min..max, enlarged
    with nearest-neighbour pixels to about ``side_px`` on the long side."""
    lo, hi = colour_range(patch_c, 0.0, 100.0)
    rgb = colourise(patch_c, lo, hi)
    h, w = rgb.shape[:2]
    s = max(1, side_px // max(h, w))
    if s > 1:
        rgb = np.asarray(cv2.resize(rgb, (w * s, h * s), interpolation=cv2.INTER_NEAREST),
                         dtype=np.uint8)
    return png_bytes(rgb)


def marker_icon_png(rgb: tuple[int, int, int], side_px: int = 32) -> bytes:
    """A round map pin (filled circle, white ring, transparent outside) as RGBA PNG."""
    img = np.zeros((side_px, side_px, 4), np.uint8)
    c, r = side_px // 2, side_px // 2 - 2
    cv2.circle(img, (c, c), r, (255, 255, 255, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (c, c), r - 3, (*rgb, 255), -1, cv2.LINE_AA)
    return png_bytes(img)


CLASS_RGB: dict[str, tuple[int, int, int]] = {
    "fire": (215, 25, 28),      # red
    "ember": (253, 141, 60),    # orange
    "anomaly": (255, 215, 0),   # yellow
    "person": (44, 123, 182),   # blue
}
"""Map colours of the hotspot classes (RGB), the same in KMZ pins and the report."""


def hex_rgb(rgb: tuple[int, int, int]) -> str:
    """``#rrggbb`` for CSS and SVG."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
