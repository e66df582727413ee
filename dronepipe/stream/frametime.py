"""When was a frame captured, on the telemetry's clock?

In order of trust:

1. the capture time the source states on the telemetry's clock (an in-process feeder);
2. the file's EXIF capture time, corrected by the camera clock offset (given by hand,
   or found from trigger events by ``CameraSync``), where it is trustworthy: within
   ``exif_tolerance_s`` of the arrival-based estimate below (a camera whose clock was
   never set is far off);
3. the arrival time minus the link latency, mapped onto the telemetry clock
   (``ClockMap``).

A frame whose time cannot be given yet (no telemetry to map its arrival; the offset
of its camera is still being found) waits; ``FrameTimer.time_of`` then returns None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dronepipe.stream.camsync import CameraSync
from dronepipe.stream.clockmap import ClockMap


@dataclass(frozen=True)
class FrameTime:
    """A frame's capture time (telemetry UTC seconds) and how it was found."""

    t_utc_s: float
    source: str


class FrameTimer:
    """Gives frames their capture time (see the module docstring)."""

    def __init__(self, clock: ClockMap, events: Callable[[], NDArray[np.float64]], *,
                 latency_s: float, time_offset_s: float | None, exif_tolerance_s: float,
                 sync_wait_s: float) -> None:
        self.clock, self._events = clock, events
        self.latency_s, self.time_offset_s = latency_s, time_offset_s
        self.exif_tolerance_s, self.sync_wait_s = exif_tolerance_s, sync_wait_s
        self.sync = CameraSync()

    def arrival_estimate(self, arrival_s: float) -> float | None:
        """Arrival minus latency on the telemetry clock (None without telemetry yet)."""
        return self.clock.to_telemetry(arrival_s - self.latency_s)

    def time_of(self, t_capture_utc_s: float | None, t_exif_s: float | None,
                arrival_s: float, waited_s: float) -> FrameTime | None:
        """The capture time of one frame, or None where it must wait (see module)."""
        if t_capture_utc_s is not None:
            return FrameTime(t_capture_utc_s, "source")
        estimate = self.arrival_estimate(arrival_s)
        if t_exif_s is not None:
            t = self._exif_time(t_exif_s, waited_s)
            if t is None:
                return None
            if estimate is None or abs(t.t_utc_s - estimate) <= self.exif_tolerance_s:
                return t
        if estimate is None:
            return None
        return FrameTime(estimate, "arrival")

    def _exif_time(self, t_exif_s: float, waited_s: float) -> FrameTime | None:
        if self.time_offset_s is not None:
            return FrameTime(t_exif_s - self.time_offset_s, "exif+given offset")
        events = self._events()
        offset = self.sync.update(events)
        if offset is not None:
            return FrameTime(t_exif_s + offset, "exif+trigger events")
        if len(events) and waited_s < self.sync_wait_s:
            return None
        return FrameTime(t_exif_s, "exif")
