"""``CameraSync``: the camera clock's offset from the autopilot, found while flying.

Stills carry their capture time on the camera's clock, which runs off the autopilot's
UTC by an unknown offset (often most of a second: metres on the map). Where the link
carries camera trigger events (CAMERA_FEEDBACK), the recent capture times are aligned
with the recent trigger times by ``timesync.match_events`` - the same alignment the
batch job uses - and the offset is taken once at least ``min_pairs`` line up.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.timesync import match_events


class CameraSync:
    """``offset_s``: add to a camera time to get the autopilot's UTC (None: not found yet)."""

    def __init__(self, min_pairs: int = 3, window: int = 60) -> None:
        self._frames: deque[float] = deque(maxlen=window)
        self._min_pairs = min_pairs
        self._lock = threading.Lock()
        self._n_events = 0
        self.offset_s: float | None = None
        self.pairs = 0

    def add_frame(self, t_camera_s: float) -> None:
        with self._lock:
            self._frames.append(t_camera_s)

    def update(self, event_t_utc_s: NDArray[np.float64]) -> float | None:
        """Re-align with the trigger times received so far; returns the offset."""
        with self._lock:
            frames = np.array(sorted(self._frames))
        events = np.asarray(event_t_utc_s, dtype=np.float64)
        if len(frames) < self._min_pairs or len(events) < self._min_pairs:
            return self.offset_s
        if len(events) == self._n_events and self.offset_s is not None:
            return self.offset_s
        match = match_events(frames, events[-400:])
        self._n_events = len(events)
        if match is not None and len(match.pairs) >= self._min_pairs:
            self.offset_s, self.pairs = float(match.offset_s), len(match.pairs)
        return self.offset_s
