"""Events of the live mode and the bus that fans them out to the server's clients.

An ``Event`` is what the command centre is told: a hotspot is new or updated, the drone
moved, the mosaic changed, a counter changed. The live processing publishes events on an
``EventBus``; each subscriber (an ``/events`` Server-Sent-Events client, the CoT sender)
gets its own bounded queue, so a slow or vanished client never blocks processing: when
its queue is full its oldest events are dropped and counted.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["hotspot", "drone", "mosaic", "status"]


@dataclass(frozen=True)
class Event:
    """One event: ``type``, a JSON-ready ``data`` mapping, a running ``seq`` number and
    ``t_wall_s`` (time.time() when published; the alert latency is measured from the
    frame's arrival to this)."""

    type: EventType
    data: Mapping[str, Any]
    seq: int = 0
    t_wall_s: float = 0.0


@dataclass
class Subscription:
    """A subscriber's bounded queue; ``dropped`` counts events lost to a full queue."""

    q: queue.Queue[Event] = field(default_factory=lambda: queue.Queue(maxsize=1000))
    dropped: int = 0

    def get(self, timeout_s: float | None = None) -> Event | None:
        """The next event, or None after ``timeout_s`` seconds without one."""
        try:
            return self.q.get(timeout=timeout_s)
        except queue.Empty:
            return None


class EventBus:
    """Thread-safe publish/subscribe with bounded per-subscriber queues."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._maxsize = maxsize

    def subscribe(self) -> Subscription:
        sub = Subscription(queue.Queue(maxsize=self._maxsize))
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, type_: EventType, data: Mapping[str, Any]) -> Event:
        """Send an event to every subscriber now; never blocks."""
        event = Event(type_, data, next(self._seq), time.time())
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            while True:
                try:
                    sub.q.put_nowait(event)
                    break
                except queue.Full:
                    try:
                        sub.q.get_nowait()
                        sub.dropped += 1
                    except queue.Empty:
                        pass
        return event
