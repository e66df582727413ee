"""``Counters``: thread-safe named counts and latency samples of a live run."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class Counters:
    """Named integer counters (``add``), latest values (``set``) and a bounded window of
    alert latencies (seconds, ``latency``); ``snapshot`` copies everything at once."""

    def __init__(self, latency_window: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._values: dict[str, object] = {}
        self._latency: deque[float] = deque(maxlen=latency_window)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def set(self, name: str, value: object) -> None:
        with self._lock:
            self._values[name] = value

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def latency(self, seconds: float) -> None:
        """Record one alert latency (frame arrival to event published, seconds)."""
        with self._lock:
            self._latency.append(seconds)

    def latencies(self) -> list[float]:
        with self._lock:
            return list(self._latency)

    def snapshot(self) -> dict[str, object]:
        """Every counter and value, plus alert latency p50/p95 (milliseconds)."""
        with self._lock:
            out: dict[str, object] = {**self._counts, **self._values}
            lat = np.array(self._latency, dtype=np.float64)
        if lat.size:
            out["alert_latency_p50_ms"] = round(float(np.percentile(lat, 50)) * 1000.0, 1)
            out["alert_latency_p95_ms"] = round(float(np.percentile(lat, 95)) * 1000.0, 1)
        return out
