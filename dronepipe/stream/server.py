"""The live server of ``dronepipe live --serve``: the command-centre page, tiles, GeoJSON, events.

Entry point for the ``live`` command::

    handle = start_server(view, "127.0.0.1", 8080, token=None)   # returns at once
    print(handle.page_url)        # http://127.0.0.1:8080/  (with ?token=... if one is set)
    ...                           # processing goes on; the server reads through ``view``
    handle.close()                # ends event streams, closes every socket, joins threads

``view`` is the live processing's ``LiveView``; the server only reads through it and
subscribes to its ``EventBus`` (one bounded queue per ``/events`` client), so a slow or
vanished browser never holds processing up. The routes are listed in ``routes``.

Rules the server keeps (tested in ``tests/stream/test_server.py``):

- Bound to 127.0.0.1 unless told otherwise; any non-loopback address needs a token
  (``access``), which every request must carry (401 otherwise). Without a token the
  Host header must be a loopback name (no DNS rebinding).
- Read-only: GET and HEAD; any other method gets 405.
- No path from a request reaches the file system: the page's files are read from the
  package once at start and served from memory; paths are matched whole against a
  fixed table.
- Security headers on every answer (``nosniff``, no referrer, no framing, a strict
  Content-Security-Policy on the page); no CORS header unless ``cors_origin`` is set.
- A client that disconnects, stalls or floods is the server's problem only: socket
  errors end that client's thread, writes time out after ``socket_timeout_s``, and at
  most ``max_event_clients`` event streams run at once (503 beyond).

Why the standard library's ``ThreadingHTTPServer``: a command centre has a handful of
browsers and GIS clients; one thread per connection is simple and robust at that scale,
the ``LiveView`` is a thread-safe blocking API, and it adds no dependency to the field
laptop. An asyncio server would scale to thousands of clients, which is not needed.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import quote

from dronepipe.errors import DronepipeError
from dronepipe.stream.access import check_bind, host_header_ok, is_loopback, request_token, token_ok
from dronepipe.stream.routes import EventStream, Request, Response, Routes
from dronepipe.stream.sse import stream_events
from dronepipe.stream.thermal_span import ThermalSpan
from dronepipe.stream.view import LiveView

log = logging.getLogger(__name__)
ALLOWED = "GET, HEAD"


@dataclass(frozen=True)
class ServerConfig:
    """Options of the live server.

    ``heartbeat_s``: seconds between SSE heartbeat comments; ``max_event_clients``:
    concurrent ``/events`` streams; ``tile_cache_bytes``: rendered-tile cache;
    ``thermal_span_c``: fixed colour span (low, high degrees C) of thermal tiles, None
    for a span that adapts to the mosaic; ``socket_timeout_s``: a client that does not
    read or write for this long is dropped; ``cors_origin``: an origin allowed to read
    the data routes from another web page (None: none).
    """

    heartbeat_s: float = 10.0
    max_event_clients: int = 32
    tile_cache_bytes: int = 64 << 20
    thermal_span_c: tuple[float, float] | None = None
    socket_timeout_s: float = 30.0
    cors_origin: str | None = None


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its routes and can close live connections."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], routes: Routes, config: ServerConfig,
                 token: str | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.routes = routes
        self.config = config
        self.token = token
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse name lookup (slow or hanging offline)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut every open client connection (their threads then end)."""
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait_closed(self, timeout_s: float) -> bool:
        """Wait until every connection's thread has finished; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._conns_lock:
                if not self._conns:
                    return True
            time.sleep(0.02)
        return False

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended: %r", client_address, sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    """One connection: access check, route, answer; GET/HEAD only."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "dronepipe"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.config.socket_timeout_s)
        # headers and body are two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold the body back ~40 ms on a keep-alive connection
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def __getattr__(self, name: str) -> Any:
        """Every other method (POST, PUT, DELETE, OPTIONS, ...) is answered 405."""
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True  # its body, if any, is not read
        denied = self._denied()
        self._send(denied or Response(405, b"read-only\n", "text/plain; charset=utf-8",
                                      (("Allow", ALLOWED),)), head=False)

    def _request(self) -> Request:
        path, _, query = self.path.partition("?")
        return Request(path, query, {k: v for k, v in self.headers.items()})

    def _denied(self) -> Response | None:
        """401 without the right token; 403 for a non-loopback Host without a token."""
        req = self._request()
        if self.server.token is not None:
            if token_ok(self.server.token, request_token(req.headers, req.query)):
                return None
            return Response(401, b"token required\n", "text/plain; charset=utf-8",
                            (("WWW-Authenticate", 'Bearer realm="dronepipe"'),))
        if host_header_ok(self.headers.get("Host")):
            return None
        return Response(403, b"use a loopback host name\n", "text/plain; charset=utf-8")

    def _serve(self, head: bool) -> None:
        denied = self._denied()
        if denied is not None:
            self._send(denied, head)
            return
        try:
            answer = self.server.routes.dispatch(self._request())
        except Exception:
            log.exception("error answering %s", self.path.partition("?")[0])
            answer = Response(500, b"internal error\n", "text/plain; charset=utf-8")
        if isinstance(answer, EventStream):
            self._stream(head)
        else:
            self._send(answer, head)

    def _common_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        origin = self.server.config.cors_origin
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        else:
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")

    def _send(self, r: Response, head: bool) -> None:
        self.send_response(r.status)
        self._common_headers()
        for k, v in r.headers:
            self.send_header(k, v)
        if r.content_type is not None:
            self.send_header("Content-Type", r.content_type)
        if r.status not in (204, 304):
            self.send_header("Content-Length", str(len(r.body)))
        self.end_headers()
        if not head and r.status not in (204, 304):
            self.wfile.write(r.body)

    def _stream(self, head: bool) -> None:
        routes, cfg = self.server.routes, self.server.config
        if not routes.enter_event_client(cfg.max_event_clients):
            self._send(Response(503, b"too many event clients\n", "text/plain; charset=utf-8",
                                (("Retry-After", "10"),)), head)
            return
        bus = routes.view.events
        sub = bus.subscribe()   # before the headers: the page reads its snapshot after them
        try:
            self.close_connection = True
            self.send_response(200)
            self._common_headers()
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            if not head:
                stream_events(bus, sub, self.wfile.write, self.server.stopping,
                              heartbeat_s=cfg.heartbeat_s)
        finally:
            bus.unsubscribe(sub)
            routes.leave_event_client()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Logs method, path (never the query: it may hold the token) and status."""
        log.debug("%s %s %s %s", self.client_address[0], self.command,
                  self.path.partition("?")[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.client_address[0], *args)


class ServerHandle:
    """A running server: ``url`` (base, no token), ``page_url`` (with the token, to
    open in a browser), ``host``, ``port``; ``close()`` stops it (idempotent)."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str, token: str | None) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_address[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else \
            f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.page_url = self.url + ("" if token is None else "?token=" + quote(token, safe=""))
        self._closed = False

    @property
    def routes(self) -> Routes:
        return self._server.routes

    def close(self, timeout_s: float = 5.0) -> None:
        """End event streams, stop accepting, close every connection and wait (up to
        ``timeout_s``) until their threads have finished."""
        if self._closed:
            return
        self._closed = True
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(timeout_s)
        if not self._server.wait_closed(timeout_s):
            log.warning("live server: some connections did not close within %.0f s", timeout_s)
        log.info("live server on %s closed", self.url)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(view: LiveView, host: str = "127.0.0.1", port: int = 8080,
                 token: str | None = None, config: ServerConfig | None = None) -> ServerHandle:
    """Start serving ``view`` on ``host``:``port`` (0: any free port) in background
    threads and return at once.

    Raises ``DronepipeError`` for a non-loopback ``host`` without a ``token`` (or a token
    shorter than 12 characters), and where the address cannot be bound (in use, not an
    address of this machine).
    """
    cfg = config or ServerConfig()
    check_bind(host, token)
    routes = Routes(view, token, ThermalSpan(cfg.thermal_span_c), cfg.tile_cache_bytes)
    try:
        server = _Server((host, port), routes, cfg, token)
    except OSError as exc:
        raise DronepipeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"dronepipe-http-{server.server_address[1]}", daemon=True)
    thread.start()
    handle = ServerHandle(server, thread, host, token)
    log.info("live server on %s%s", handle.url,
             "" if is_loopback(host) else " (token required)")
    return handle
