"""``ClockMap``: the local wall clock mapped onto the telemetry's clock.

Telemetry times are the autopilot's UTC (from SYSTEM_TIME); frames without a capture
time only have their local arrival time. Pairs (wall time a message arrived, newest
telemetry sample time then) are fitted with a straight line over a sliding window, so
the map follows an offset (wrong ground-station clock, link lag) and a rate (a replay
played faster than real time). Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class ClockMap:
    """``telemetry_s = a + b * wall_s`` fitted on the last ``window`` pairs."""

    def __init__(self, window: int = 64, min_span_s: float = 1.0, reset_s: float = 5.0) -> None:
        self.reset_s = reset_s
        self._pairs: deque[tuple[float, float]] = deque(maxlen=window)
        self._min_span_s = min_span_s
        self._lock = threading.Lock()
        self._fit: tuple[float, float] | None = None

    def add(self, wall_s: float, telemetry_s: float) -> None:
        """One pair (seconds); ignored unless the telemetry time moved forward. A jump
        back by more than ``reset_s`` (the telemetry's clock changed source, e.g. from
        receive times to the autopilot's UTC) starts the map afresh."""
        with self._lock:
            if self._pairs and telemetry_s < self._pairs[-1][1] - self.reset_s:
                self._pairs.clear()
            if self._pairs and telemetry_s <= self._pairs[-1][1]:
                return
            self._pairs.append((wall_s, telemetry_s))
            self._fit = self._solve()

    def _solve(self) -> tuple[float, float]:
        w = np.array([p[0] for p in self._pairs])
        t = np.array([p[1] for p in self._pairs])
        rate = 1.0
        if len(w) >= 3 and w[-1] - w[0] >= self._min_span_s:
            rate = float(np.polyfit(w - w[-1], t - t[-1], 1)[0])
            rate = min(max(rate, 0.05), 100.0)
        offset = float(np.median(t - rate * w))
        return offset, rate

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._fit is not None

    @property
    def rate(self) -> float:
        """Telemetry seconds per wall second (1 live; the speed of a replay)."""
        with self._lock:
            return self._fit[1] if self._fit else 1.0

    def to_telemetry(self, wall_s: float) -> float | None:
        """The telemetry time at a wall time, None before the first pair."""
        with self._lock:
            if self._fit is None:
                return None
            return self._fit[0] + self._fit[1] * wall_s
