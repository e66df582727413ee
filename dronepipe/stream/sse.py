"""Server-Sent Events: the wire format, and the loop that streams the bus to one client.

Each event is ``event: TYPE``, ``id: SEQ`` and ``data: JSON`` lines and a blank line;
a comment line (``: heartbeat``) goes out when nothing was sent for ``heartbeat_s``
seconds, so proxies and the page see a live connection. Where the client's queue
overflowed (a slow client), an ``event: resync`` tells the page to re-read the JSON
routes for what it missed. The loop ends when the client goes away (any socket
error), when ``stop`` is set, or after ``max_s`` seconds; it never raises to the
caller's caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dronepipe.stream.events import Event, EventBus, Subscription
from dronepipe.stream.payloads import json_bytes

log = logging.getLogger(__name__)
Writer = Callable[[bytes], object]
RETRY_MS = 2000


def format_event(ev: Event) -> bytes:
    """One event in SSE wire format (data is a single line of JSON)."""
    return (f"event: {ev.type}\nid: {ev.seq}\n".encode("ascii") + b"data: "
            + json_bytes(ev.data) + b"\n\n")


def heartbeat() -> bytes:
    """A comment line: keeps the connection open, ignored by EventSource."""
    return b": heartbeat\n\n"


def stream_events(bus: EventBus, sub: Subscription, write: Writer, stop: threading.Event, *,
                  heartbeat_s: float = 10.0, poll_s: float = 0.5,
                  max_s: float | None = None) -> int:
    """Send the events of ``sub`` (a subscription to ``bus``, made before the response
    headers went out, so that nothing published after the client saw them is missed)
    through ``write`` until the client goes away or ``stop`` is set; returns how many
    events were sent. Unsubscribes on exit, whatever happens."""
    sent, dropped_seen = 0, 0
    start = last = time.monotonic()
    try:
        write(f"retry: {RETRY_MS}\n\n".encode("ascii"))
        while not stop.is_set():
            now = time.monotonic()
            if max_s is not None and now - start > max_s:
                break
            ev = sub.get(timeout_s=poll_s)
            if sub.dropped > dropped_seen:
                dropped_seen = sub.dropped
                write(b"event: resync\ndata: " + json_bytes({"dropped": dropped_seen}) + b"\n\n")
            if ev is not None:
                write(format_event(ev))
                sent += 1
                last = time.monotonic()
            elif time.monotonic() - last >= heartbeat_s:
                write(heartbeat())
                last = time.monotonic()
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError) as exc:
        log.debug("event stream client went away: %s", type(exc).__name__)
    except OSError as exc:
        log.debug("event stream ended: %s", exc)
    finally:
        bus.unsubscribe(sub)
    return sent
