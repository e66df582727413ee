"""Where the live mode gets poses: ``PoseSource`` and its two kinds.

``LinkPoses`` reads a live MAVLink link (``flightlogs.open_live``) in its own thread:
it drains the link's updates (so telemetry ingestion never waits for processing),
counts messages, keeps the wall-to-telemetry ``ClockMap`` and reports the drone's
position through a callback at most ``drone_hz`` times a second. ``FixedPoses``
serves a Telemetry that is already complete (a bench or test feeding frames in-process).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.records import Pose
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.stream.clockmap import ClockMap
from dronepipe.stream.counters import Counters

log = logging.getLogger(__name__)


class PoseSource(Protocol):
    """Poses on the telemetry clock, and what the live mode needs to time frames."""

    clock: ClockMap

    def pose_at(self, t_utc_s: float) -> Pose:
        """Interpolated pose; ``NoPoseError`` where telemetry does not cover ``t_utc_s``."""
        ...

    def covered_until(self) -> float:
        """The newest telemetry time (UTC s); -inf before any."""
        ...

    def camera_event_times(self) -> NDArray[np.float64]:
        """Trigger times (UTC s) received so far."""
        ...

    def last_arrival_s(self) -> float:
        """Wall time of the last telemetry message (-inf before any)."""
        ...

    def close(self) -> None: ...


class FixedPoses:
    """A complete Telemetry as a pose source; the clock maps wall time to telemetry time
    by adding ``offset_s`` (None: no map, so frames need a capture time of their own)."""

    def __init__(self, telemetry: Telemetry, offset_s: float | None = None) -> None:
        self.telemetry = telemetry
        self.clock = ClockMap()
        if offset_s is not None:
            self.clock.add(0.0, offset_s)
        self._events = np.array([e.t_utc_s for e in telemetry.camera_events], dtype=np.float64)

    def pose_at(self, t_utc_s: float) -> Pose:
        return self.telemetry.pose_at(t_utc_s)

    def covered_until(self) -> float:
        return self.telemetry.end_utc_s

    def camera_event_times(self) -> NDArray[np.float64]:
        return self._events

    def last_arrival_s(self) -> float:
        return time.time()

    def close(self) -> None:
        pass


class LinkPoses:
    """A live link as a pose source (see the module docstring). ``on_pose(pose)`` is
    called from the reader thread with the newest pose, at most ``drone_hz`` a second."""

    def __init__(self, live: Any, counters: Counters,
                 on_pose: Callable[[Pose], None] | None = None, *,
                 drone_hz: float = 5.0, refresh_hz: float = 20.0, max_gap_s: float = 2.0) -> None:
        self.live, self.counters, self.clock = live, counters, ClockMap()
        self._on_pose, self._drone_period = on_pose, 1.0 / drone_hz
        self._period = 1.0 / refresh_hz
        self._last_drone = 0.0
        self._max_gap_s = max_gap_s
        self._stop = threading.Event()
        self._last_arrival = -math.inf
        self._covered = -math.inf
        self._events: NDArray[np.float64] = np.zeros(0)
        self._thread = threading.Thread(target=self._run, name="live-telemetry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_publish = 0.0
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                for update in self.live.updates(timeout_s=0.1):
                    self.counters.add("telemetry_messages")
                    self._last_arrival = update.recv_utc_s
                    if update.recv_utc_s - last_publish >= self._period:
                        last_publish = update.recv_utc_s
                        self._refresh(update.recv_utc_s)
                    if self._stop.is_set():
                        break
            except DronepipeError as exc:
                log.warning("telemetry link ended: %s", exc)
                self.counters.set("telemetry_error", str(exc))
                return
            if self.live.error is not None:
                return
            if time.monotonic() - t0 < 0.05:  # the link ended: do not spin
                self._stop.wait(0.05)

    def _refresh(self, recv_s: float) -> None:
        tel = self.live.snapshot()
        tracks = [t.t_utc_s for t in (tel.position, tel.attitude) if len(t)]
        if len(tracks) < 2:
            return
        self._covered = min(float(t[-1]) for t in tracks)
        if len(tel.camera_events) != len(self._events):
            self._events = np.array([e.t_utc_s for e in tel.camera_events], dtype=np.float64)
        self.clock.add(recv_s, self._covered)
        if self._on_pose is not None and recv_s - self._last_drone >= self._drone_period:
            self._last_drone = recv_s
            try:
                self._on_pose(tel.pose_at(self._covered))
            except DronepipeError:
                pass

    def pose_at(self, t_utc_s: float) -> Pose:
        return self.live.pose_at(t_utc_s, max_gap_s=self._max_gap_s)

    def covered_until(self) -> float:
        return self._covered

    def camera_event_times(self) -> NDArray[np.float64]:
        return self._events

    def last_arrival_s(self) -> float:
        return self._last_arrival

    def close(self) -> None:
        self._stop.set()
        self.live.close()
        self._thread.join(2.0)
