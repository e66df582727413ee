"""Live MAVLink telemetry: ``open_live(connection)`` reads a link in a background thread.

The link's bytes go through the same parser and ``MavlinkCollector`` as tlog files, so a
live flight and its tlog give the same Telemetry. ``LiveTelemetry`` offers:

- ``updates()``: an iterator of ``LiveUpdate`` as messages arrive (bounded queue; when
  the consumer falls behind the oldest updates are dropped and counted);
- ``snapshot()``: the Telemetry of what has arrived (rebuilt only when something new
  came in), and ``pose_at(t)``, thread-safe, for placing frames while flying;
- bounded memory: at most ``max_samples`` samples of each kind are kept (the oldest go);
- ``close()``: stops the thread and closes the link (also as a context manager).

Times: the autopilot's SYSTEM_TIME maps its boot clock to UTC; until one arrives the
local receive time (``time.time()``) stands in, flagged ``time_source="ground_station"``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from dronepipe.errors import DronepipeError, LinkError
from dronepipe.flightlogs.live_links import Transport, open_transport
from dronepipe.flightlogs.mavlink_build import build
from dronepipe.flightlogs.mavlink_collect import MavlinkCollector
from dronepipe.flightlogs.mavlink_dialect import new_parser
from dronepipe.flightlogs.records import Pose
from dronepipe.flightlogs.telemetry import DEFAULT_MAX_GAP_S, ReadStats, Telemetry

log = logging.getLogger(__name__)

_POLL_S = 0.1
_END = object()


@dataclass(frozen=True)
class LiveUpdate:
    """One message that arrived: its type (as pymavlink names it), the kind of sample it
    gave (``"att"``, ``"gpi"``, ``"gps"``, ``"gimbal"``, ``"camera"``, ``"systime"``, or
    ``""``), the local receive time (UTC s) and the decoded pymavlink message."""

    msg_type: str
    kind: str
    recv_utc_s: float
    message: Any


class LiveTelemetry:
    """A live link being read; see the module doc. Build it with ``open_live``."""

    def __init__(self, transport: Transport, *, max_samples: int = 100_000,
                 max_gap_s: float = DEFAULT_MAX_GAP_S, min_fix_type: int = 3,
                 queue_size: int = 10_000, heartbeat_s: float | None = 1.0,
                 request_streams_hz: float | None = None, rebuild_s: float = 0.2,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = transport.name
        self.max_gap_s, self.min_fix_type = max_gap_s, min_fix_type
        self._transport, self._clock = transport, clock
        self._collector = MavlinkCollector(max_samples=max_samples)
        self._mav = new_parser()
        self._heartbeat_s, self._request_hz, self._rebuild_s = heartbeat_s, request_streams_hz, rebuild_s
        self._lock, self._build_lock = threading.Lock(), threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._stop = threading.Event()
        self._version, self.dropped_updates = 0, 0
        self._cache: tuple[int, float, Telemetry] | None = None
        self._error: BaseException | None = None
        self._requested = False
        self._thread = threading.Thread(target=self._run, name=f"live:{self.name}", daemon=True)

    def start(self) -> LiveTelemetry:
        """Start reading (``open_live`` does this)."""
        self._thread.start()
        return self

    @property
    def address(self) -> tuple[str, int] | None:
        """The local (host, port) of a network link (handy with port 0)."""
        return self._transport.address

    @property
    def error(self) -> BaseException | None:
        """What stopped the reader thread, if anything did."""
        return self._error

    @property
    def messages(self) -> dict[str, int]:
        """Message counts so far, by type name."""
        with self._lock:
            return dict(self._collector.counts)

    def __enter__(self) -> LiveTelemetry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the reader thread and close the link; safe to call twice."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        self._transport.close()

    # --- reader thread -----------------------------------------------------------------

    def _run(self) -> None:
        last_hb = float("-inf")
        try:
            while not self._stop.is_set():
                now = self._clock()
                if self._heartbeat_s is not None and now - last_hb >= self._heartbeat_s:
                    self._send(self._mav.heartbeat_encode(6, 8, 0, 0, 0))  # GCS, no autopilot
                    last_hb = now
                data = self._transport.recv(_POLL_S)
                if data:
                    self._handle(self._mav.parse_buffer(data) or [], self._clock())
        except (DronepipeError, OSError) as exc:
            self._error = exc if isinstance(exc, DronepipeError) else LinkError(f"{self.name}: {exc}")
            log.warning("%s: live link stopped: %s", self.name, self._error)
        finally:
            self._put(_END)

    def _handle(self, msgs: list[Any], now: float) -> None:
        updates = []
        with self._lock:
            for msg in msgs:
                kind = self._collector.add(msg, now)
                if msg.get_type() != "BAD_DATA":
                    updates.append(LiveUpdate(msg.get_type(), kind or "", now, msg))
            self._version += 1
            vehicle = self._collector.vehicle_id
        for u in updates:
            self._put(u)
        if self._request_hz and vehicle is not None and not self._requested:
            self._send(self._mav.request_data_stream_encode(vehicle[0], vehicle[1], 0,
                                                            int(self._request_hz), 1))
            self._requested = True

    def _send(self, msg: Any) -> None:
        try:
            self._transport.send(bytes(msg.pack(self._mav)))
            self._mav.seq = (self._mav.seq + 1) % 256
        except OSError as exc:
            log.debug("%s: send failed: %s", self.name, exc)

    def _put(self, item: Any) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped_updates += 1
                except queue.Empty:
                    pass

    # --- consumers ---------------------------------------------------------------------

    def updates(self, timeout_s: float | None = None) -> Iterator[LiveUpdate]:
        """Updates as they arrive, until the link is closed (or, with ``timeout_s``, until
        nothing arrived for that long). Raises ``LinkError`` if the link failed."""
        while True:
            try:
                item = self._queue.get(timeout=timeout_s)
            except queue.Empty:
                return
            if item is _END:
                self._put(_END)  # let other consumers see the end too
                if self._error is not None:
                    raise LinkError(str(self._error)) from self._error
                return
            yield item

    def snapshot(self) -> Telemetry:
        """Telemetry of everything received so far (cached until something new arrives)."""
        with self._build_lock:
            with self._lock:
                if self._cache is not None and self._cache[0] == self._version:
                    return self._cache[2]
                version, collector = self._version, self._collector.snapshot()
            tel = self._build(collector)
            self._cache = (version, self._clock(), tel)
            return tel

    def _build(self, c: MavlinkCollector) -> Telemetry:
        b = build(c, max_gap_s=self.max_gap_s, min_fix_type=self.min_fix_type)
        ls = c.link_stats
        stats = ReadStats(bad_crc=ls.bad_crc, bad_data=ls.bad_data,
                          bytes_skipped=ls.bad_data_bytes, unknown_messages=ls.unknown_messages)
        return b.telemetry(self.name, "live", dict(c.counts), stats, self.max_gap_s)

    def pose_at(self, t_utc_s: float, *, max_gap_s: float | None = None) -> Pose:
        """The pose at a UTC time from what has arrived (``NoPoseError`` if none yet, in a
        gap, or past the newest sample). A snapshot younger than ``rebuild_s`` is reused
        unless ``t_utc_s`` lies beyond its end."""
        cache = self._cache
        fresh = (cache is not None and self._clock() - cache[1] < self._rebuild_s
                 and t_utc_s <= cache[2].end_utc_s)
        tel = cache[2] if fresh and cache is not None else self.snapshot()
        return tel.pose_at(t_utc_s, max_gap_s=max_gap_s)


def open_live(connection: str, *, max_samples: int = 100_000,
              max_gap_s: float = DEFAULT_MAX_GAP_S, min_fix_type: int = 3,
              queue_size: int = 10_000, heartbeat_s: float | None = 1.0,
              request_streams_hz: float | None = None) -> LiveTelemetry:
    """Open a live MAVLink link (``udpin:HOST:PORT``, ``udpout:``, ``tcp:``, ``tcpin:``,
    ``serial:DEVICE:BAUD``) and start reading it in a background thread.

    ``heartbeat_s``: send a ground-station HEARTBEAT this often (None: stay silent);
    ``request_streams_hz``: ask the vehicle for all data streams at this rate once it is
    heard (None: rely on the rates another ground station has set). ``LinkError`` where
    the link cannot be opened.
    """
    transport = open_transport(connection)
    return LiveTelemetry(transport, max_samples=max_samples, max_gap_s=max_gap_s,
                         min_fix_type=min_fix_type, queue_size=queue_size,
                         heartbeat_s=heartbeat_s, request_streams_hz=request_streams_hz).start()
