"""``CotSender``: the live hotspots and the drone as CoT events for ATAK/WinTAK and TAK servers.

Entry point for ``dronepipe live --cot URL``::

    sender = CotSender("udp://239.2.3.1:6969", view)   # or udp://host:port, tcp://host:port
    sender.start()                                     # a background thread
    ...
    sender.close()                                     # stops the thread, closes the socket

The sender subscribes to the view's ``EventBus`` (a bounded queue: publishing never
waits for it) and reads the view from its own thread, so it never blocks processing.
What it sends (``cot_link`` says how):

- each new hotspot at once, and each changed one (class, temperature, position, last
  sighting) at most every ``hotspot_min_interval_s`` per hotspot; events use
  ``dronepipe.outputs.hotspot_cot`` (uid ``PREFIX.hotspot.ID``, so TAK clients update
  the marker in place);
- the drone's position whenever it changed, at most every ``drone_interval_s`` (1 Hz),
  with ``dronepipe.outputs.uav_cot``;
- every hotspot again every ``resend_all_s`` seconds (a TAK client that joins the
  multicast group late still gets the picture) and after a TCP reconnect.

The view is also polled every ``poll_s``, so nothing is missed when events are dropped
or carry other data than expected.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Self

from dronepipe.outputs.hotspot_cot import hotspot_cot_event
from dronepipe.outputs.uav_cot import UavPosition, uav_cot_event
from dronepipe.stream.cot_link import CotLink, CotTarget, open_link, parse_cot_url
from dronepipe.stream.events import Subscription
from dronepipe.stream.view import DroneState, LiveView
from dronepipe.thermal.hotspot import Hotspot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CotConfig:
    """Timing (seconds) and naming of the CoT feed (see the module docstring)."""

    drone_interval_s: float = 1.0
    hotspot_min_interval_s: float = 1.0
    resend_all_s: float = 30.0
    poll_s: float = 1.0
    hotspot_stale_s: float = 3600.0
    drone_stale_s: float = 15.0
    uid_prefix: str = "dronepipe"
    callsign: str = "dronepipe UAV"


def hotspot_signature(h: Hotspot) -> tuple[object, ...]:
    """What makes a hotspot worth sending again when it changes."""
    return (h.kind, round(h.max_c, 1), round(h.lon_deg, 7), round(h.lat_deg, 7),
            round(h.uncertainty_m, 1), h.last_seen_utc_s, h.n_frames)


def uav_position(d: DroneState) -> UavPosition:
    return UavPosition(d.t_utc_s, d.lat_deg, d.lon_deg, d.alt_rel_m, d.heading_deg)


class CotSender:
    """Sends the live hotspots and the drone's position to ``url`` as CoT."""

    def __init__(self, url: str, view: LiveView, config: CotConfig | None = None,
                 link: CotLink | None = None) -> None:
        self.target: CotTarget = parse_cot_url(url)
        self.view = view
        self.config = config or CotConfig()
        self._link = link
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent: dict[int, tuple[tuple[object, ...], float]] = {}
        self._drone_sent: tuple[float, float] = (float("nan"), -float("inf"))
        self.hotspot_events_sent = 0
        self.drone_events_sent = 0

    def start(self) -> Self:
        """Open the link (sockets only; a TCP connection is made in the thread) and start."""
        if self._thread is not None:
            return self
        if self._link is None:
            self._link = open_link(self.target)
        sub = self.view.events.subscribe()
        self._thread = threading.Thread(target=self._run, args=(sub,), daemon=True,
                                        name=f"dronepipe-cot-{self.target.scheme}")
        self._thread.start()
        log.info("CoT: sending to %s://%s:%s", self.target.scheme, self.target.host, self.target.port)
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and close the link (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._link is not None:
            self._link.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------------
    def _run(self, sub: Subscription) -> None:
        cfg = self.config
        last_poll = last_resend = time.monotonic()
        try:
            while not self._stop.is_set():
                hot, drone = self._drain(sub, timeout_s=min(0.2, cfg.poll_s))
                assert self._link is not None
                self._link.poll()
                now = time.monotonic()
                resend = self._link.take_reconnected() or now - last_resend >= cfg.resend_all_s
                if resend:
                    last_resend = now
                if hot or resend or now - last_poll >= cfg.poll_s:
                    self._send_hotspots(now, resend)
                if drone or now - last_poll >= cfg.poll_s:
                    self._send_drone(now)
                if now - last_poll >= cfg.poll_s:
                    last_poll = now
        except Exception:
            log.exception("CoT sender stopped by an error")
        finally:
            self.view.events.unsubscribe(sub)

    @staticmethod
    def _drain(sub: Subscription, timeout_s: float) -> tuple[bool, bool]:
        """Wait up to ``timeout_s`` for events, take all that are queued; which kinds came."""
        hot = drone = False
        ev = sub.get(timeout_s)
        while ev is not None:
            hot, drone = hot or ev.type == "hotspot", drone or ev.type == "drone"
            ev = sub.get(0)
        return hot, drone

    def _send_hotspots(self, now: float, everything: bool) -> None:
        cfg = self.config
        for h in self.view.hotspots():
            sig = hotspot_signature(h)
            prev = self._sent.get(h.id)
            due = prev is None or everything or (
                sig != prev[0] and now - prev[1] >= cfg.hotspot_min_interval_s)
            if not due:
                continue
            xml = hotspot_cot_event(h, stale_s=cfg.hotspot_stale_s, uid_prefix=cfg.uid_prefix)
            assert self._link is not None
            if self._link.send(xml.encode("utf-8")):
                self._sent[h.id] = (sig, now)
                self.hotspot_events_sent += 1

    def _send_drone(self, now: float) -> None:
        d = self.view.drone()
        if d is None or d.t_utc_s == self._drone_sent[0]:
            return
        if now - self._drone_sent[1] < self.config.drone_interval_s:
            return
        xml = uav_cot_event(uav_position(d), callsign=self.config.callsign,
                            uid=f"{self.config.uid_prefix}.uav", stale_s=self.config.drone_stale_s)
        assert self._link is not None
        if self._link.send(xml.encode("utf-8")):
            self._drone_sent = (d.t_utc_s, now)
            self.drone_events_sent += 1
