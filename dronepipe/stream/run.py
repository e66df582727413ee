"""``run_live``: the whole live mode - inputs, processing, serving - until it ends.

    result = run_live(config, stop)     # stop: a threading.Event (Ctrl-C / SIGTERM set it)

Opens the MAVLink link (``open_live``), the frame inputs (a watched folder and/or a
video), the processor, and - where asked and where the serving modules are present -
the HTTP server (``stream.server.start_server``) and the CoT sender
(``stream.cot_sender.CotSender``). It ends when ``stop`` is set, when a video file has
been read to its end, or when nothing arrived for ``exit_after_idle_s``; then it
processes everything received, stops the inputs and the server, and writes the
products (``write_live_products``).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.live import open_live
from dronepipe.stream.config import LiveConfig
from dronepipe.stream.counters import Counters
from dronepipe.stream.folder import FolderWatcher
from dronepipe.stream.poses import LinkPoses
from dronepipe.stream.processor import LiveProcessor
from dronepipe.stream.products import LiveResult, write_live_products
from dronepipe.stream.video import VideoSource

log = logging.getLogger(__name__)


@dataclass
class LiveSession:
    """The running parts of a live run (see ``start_session``)."""

    config: LiveConfig
    poses: LinkPoses
    processor: LiveProcessor
    sources: list[Any] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)
    started_s: float = field(default_factory=time.time)

    @property
    def server_address(self) -> tuple[str, int] | None:
        """(host, port) of the HTTP server, None where none runs."""
        for s in self.services:
            port = getattr(s, "port", None)
            if isinstance(port, int):
                return str(getattr(s, "host", self.config.serve[0] if self.config.serve else "")), port
        return None

    def idle_s(self) -> float:
        """Wall seconds since anything (telemetry or a frame) last arrived."""
        last = max([self.started_s, self.poses.last_arrival_s(), self.processor.last_arrival_s]
                   + [getattr(s, "last_arrival_s", self.started_s) for s in self.sources])
        return time.time() - last

    def ended(self) -> bool:
        """A video file read to its end (folders and streams never end by themselves)."""
        return bool(self.sources) and all(s.ended for s in self.sources)

    def wait(self, stop: threading.Event, poll_s: float = 0.1) -> str:
        """Block until the run should end; returns why."""
        idle = self.config.exit_after_idle_s
        while not stop.wait(poll_s):
            if self.ended():
                return "end of stream"
            if idle is not None and self.idle_s() > idle:
                return f"idle for {idle:g} s"
        return "stopped"

    def finish(self) -> LiveResult:
        """Stop the inputs, process what came, write the products, stop serving."""
        for s in self.sources:
            s.close()
        self.processor.close()
        source = self.config.frames_dir or self.config.video or self.config.mavlink or "live"
        try:
            return write_live_products(self.processor, self.config.out_dir, str(source))
        finally:
            for s in self.services:
                s.close()
            self.poses.close()


def start_session(config: LiveConfig) -> LiveSession:
    """Open the link, the inputs, the processor and the services."""
    if config.mavlink is None:
        raise DronepipeError("the live mode needs telemetry: give --mavlink (e.g. udpin:0.0.0.0:14550)")
    if config.frames_dir is None and config.video is None:
        raise DronepipeError("the live mode needs frames: give --frames DIR and/or --video URL")
    counters = Counters()
    live = open_live(config.mavlink, max_gap_s=config.max_gap_s)
    holder: list[LiveProcessor] = []
    poses = LinkPoses(live, counters, lambda p: holder[0].on_pose(p) if holder else None,
                      max_gap_s=config.max_gap_s)
    proc = LiveProcessor(config, poses, counters=counters)
    holder.append(proc)
    session = LiveSession(config, poses, proc)
    try:
        if config.frames_dir is not None:
            session.sources.append(FolderWatcher(config.frames_dir, proc.submit))
        if config.video is not None:
            session.sources.append(VideoSource(config.video, proc.submit, counters,
                                               reconnect_max_s=config.reconnect_max_s))
        session.services.extend(_services(config, proc))
    except BaseException:
        session.finish()
        raise
    return session


def _services(config: LiveConfig, proc: LiveProcessor) -> list[Any]:
    """The HTTP server and CoT sender, where asked for and present."""
    out: list[Any] = []
    if config.serve is not None:
        server = _optional("dronepipe.stream.server", "start_server")
        if server is None:
            log.warning("--serve given but the HTTP server module is not available")
            proc.counters.set("server", "unavailable")
        else:
            out.append(server(proc, config.serve[0], config.serve[1], config.token))
    if config.cot is not None:
        sender = _optional("dronepipe.stream.cot_sender", "CotSender")
        if sender is None:
            log.warning("--cot given but the CoT sender module is not available")
            proc.counters.set("cot", "unavailable")
        else:
            s = sender(config.cot, proc)
            if hasattr(s, "start"):
                s.start()
            out.append(s)
    return out


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def run_live(config: LiveConfig, stop: threading.Event | None = None,
             on_start: Any | None = None) -> LiveResult:
    """Run until stopped, the stream ends or the run is idle; write the products.
    ``on_start(session)`` is called once everything is open (e.g. to print the address)."""
    stop = stop or threading.Event()
    session = start_session(config)
    try:
        if on_start is not None:
            on_start(session)
        why = session.wait(stop)
        log.info("live run ending: %s", why)
        session.processor.counters.set("ended_by", why)
    finally:
        result = session.finish()
    return result
