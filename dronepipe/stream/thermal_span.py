"""The temperature span (degrees C) that thermal map tiles are coloured over.

Every tile of the map must use the same span, or the same colour would mean different
temperatures side by side; the page's legend states it. A fixed span (``--span`` style,
e.g. 0..150 C) never changes. The adaptive span follows the mosaic: for each tile that
changed, robust low and high values (1st and 99.8th percentile of a strided sample of
its pixels) are kept; the span is the lowest low and the highest high over all tiles,
rounded outwards to ``step_c`` so that it changes rarely (each change re-colours every
tile). It is recomputed at most every ``interval_s`` seconds and only from the tiles
that changed since, so the cost does not grow with the flight.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from dronepipe.stitching.grid import TileIndex
from dronepipe.stitching.mosaic import Mosaic

Span = tuple[float, float]
DEFAULT_SPAN_C: Span = (0.0, 100.0)


class ThermalSpan:
    """A fixed span (``fixed_c``) or one that adapts to the mosaic (``fixed_c`` None)."""

    def __init__(self, fixed_c: Span | None = None, *, step_c: float = 5.0,
                 interval_s: float = 2.0, stride_px: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if fixed_c is not None and not fixed_c[1] > fixed_c[0]:
            raise ValueError(f"thermal span must rise, got {fixed_c}")
        self.fixed_c = fixed_c
        self.step_c = step_c
        self.interval_s = interval_s
        self.stride_px = stride_px
        self._clock = clock
        self._lock = threading.Lock()
        self._mosaic_id: int | None = None
        self._version = 0
        self._per_tile: dict[TileIndex, Span] = {}
        self._span: Span = fixed_c or DEFAULT_SPAN_C
        self._last_update = -math.inf

    @property
    def adaptive(self) -> bool:
        return self.fixed_c is None

    def current(self, mosaic: Mosaic | None) -> Span:
        """The span now (low, high degrees C), brought up to date with ``mosaic`` at
        most every ``interval_s`` seconds."""
        if self.fixed_c is not None or mosaic is None:
            return self._span
        with self._lock:
            now = self._clock()
            if now - self._last_update >= self.interval_s:
                self._last_update = now
                self._update(mosaic)
            return self._span

    def _update(self, mosaic: Mosaic) -> None:
        if id(mosaic) != self._mosaic_id:
            self._mosaic_id, self._version, self._per_tile = id(mosaic), 0, {}
        self._version, changed = mosaic.changes_since(self._version)
        for t in changed:
            data = mosaic.read_tile(t)
            if data is None:
                continue
            lo_hi = robust_range(data[0, ::self.stride_px, ::self.stride_px])
            if lo_hi is not None:
                self._per_tile[t] = lo_hi
        if self._per_tile:
            lo = min(v[0] for v in self._per_tile.values())
            hi = max(v[1] for v in self._per_tile.values())
            self._span = rounded_out(lo, hi, self.step_c)


def robust_range(celsius: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.8) -> Span | None:
    """Low and high percentiles of the finite values (None where there are none)."""
    vals = celsius[np.isfinite(celsius)]
    if vals.size == 0:
        return None
    lo, hi = np.percentile(vals, [lo_pct, hi_pct])
    return float(lo), float(hi)


def rounded_out(lo_c: float, hi_c: float, step_c: float) -> Span:
    """``lo_c`` down and ``hi_c`` up to whole multiples of ``step_c`` (at least one step apart)."""
    lo = math.floor(lo_c / step_c) * step_c
    hi = max(math.ceil(hi_c / step_c) * step_c, lo + step_c)
    return float(lo), float(hi)
