"""Where CoT events go: UDP (unicast or multicast, as ATAK's SA mesh) or TCP (a TAK server).

``parse_cot_url`` reads ``udp://239.2.3.1:6969`` (multicast, TTL 1 unless
``?ttl=N``, leaving through ``?iface=ADDRESS`` where given), ``udp://host:port``
(unicast) or ``tcp://host:port`` (a TAK server's plain CoT input, often port 8087).

``UdpLink`` sends one event per datagram. ``TcpLink`` keeps one connection, writes the
events one after another, each followed by a newline (a TAK server reads the stream
event by event), reads and
discards what the server sends so that its buffers never fill, and when the
connection fails or closes it reconnects with exponential back-off (``0.5 s`` doubling
up to ``max_backoff_s``). ``take_reconnected`` tells the sender to send everything
again after a fresh connection. Neither link raises on a send: failures are logged and
counted, and ``send`` returns False.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import time
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from dronepipe.errors import DronepipeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CotTarget:
    """A CoT destination: ``scheme``, ``host``, ``port``, multicast ``ttl`` and the
    outgoing interface's address (``iface``, None: the system's choice)."""

    scheme: Literal["udp", "tcp"]
    host: str
    port: int
    ttl: int = 1
    iface: str | None = None

    @property
    def multicast(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            return False


def parse_cot_url(url: str) -> CotTarget:
    """A ``CotTarget`` from ``udp://HOST:PORT[?ttl=N&iface=ADDR]`` or ``tcp://HOST:PORT``."""
    parts = urlsplit(url)
    if parts.scheme not in ("udp", "tcp"):
        raise DronepipeError(f"CoT address {url!r}: use udp://HOST:PORT or tcp://HOST:PORT")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise DronepipeError(f"CoT address {url!r}: {exc}") from exc
    if not host or port is None:
        raise DronepipeError(f"CoT address {url!r} needs a host and a port")
    query = parse_qs(parts.query)
    try:
        ttl = int(query.get("ttl", ["1"])[-1])
    except ValueError as exc:
        raise DronepipeError(f"CoT address {url!r}: ttl must be a whole number") from exc
    if not 0 <= ttl <= 255:
        raise DronepipeError(f"CoT address {url!r}: ttl must be 0..255")
    return CotTarget(parts.scheme, host, port, ttl, query.get("iface", [None])[-1])  # type: ignore[arg-type]


class CotLink(Protocol):
    """A way out for CoT events."""

    def send(self, data: bytes) -> bool: ...
    def poll(self) -> None: ...
    def take_reconnected(self) -> bool: ...
    def close(self) -> None: ...


class UdpLink:
    """Datagrams to a unicast or multicast address."""

    def __init__(self, target: CotTarget) -> None:
        self.target = target
        family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        if target.multicast and family == socket.AF_INET:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, target.ttl)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            if target.iface:
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                     socket.inet_aton(target.iface))
        self.errors = 0
        self._first = True

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendto(data, (self.target.host, self.target.port))
            return True
        except OSError as exc:
            self.errors += 1
            log.debug("CoT datagram to %s:%s failed: %s", self.target.host, self.target.port, exc)
            return False

    def poll(self) -> None:
        return None

    def take_reconnected(self) -> bool:
        first, self._first = self._first, False
        return first

    def close(self) -> None:
        self.sock.close()


class TcpLink:
    """One TCP connection to a TAK server, re-established with back-off."""

    def __init__(self, target: CotTarget, *, connect_timeout_s: float = 3.0,
                 send_timeout_s: float = 5.0, min_backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0) -> None:
        self.target = target
        self.connect_timeout_s = connect_timeout_s
        self.send_timeout_s = send_timeout_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.sock: socket.socket | None = None
        self.connects = 0
        self.errors = 0
        self._backoff = min_backoff_s
        self._next_try = 0.0
        self._reconnected = False

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def _connect(self) -> bool:
        if self.sock is not None:
            return True
        if time.monotonic() < self._next_try:
            return False
        try:
            s = socket.create_connection((self.target.host, self.target.port),
                                         timeout=self.connect_timeout_s)
        except OSError as exc:
            self._fail(f"connect: {exc}")
            return False
        s.settimeout(self.send_timeout_s)
        self.sock, self._backoff, self._reconnected = s, self.min_backoff_s, True
        self.connects += 1
        log.info("CoT: connected to tcp://%s:%s", self.target.host, self.target.port)
        return True

    def _fail(self, why: str) -> None:
        self.errors += 1
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._next_try = time.monotonic() + self._backoff
        log.warning("CoT: tcp://%s:%s %s; retrying in %.1f s", self.target.host,
                    self.target.port, why, self._backoff)
        self._backoff = min(self._backoff * 2.0, self.max_backoff_s)

    def send(self, data: bytes) -> bool:
        if not self._connect():
            return False
        assert self.sock is not None
        try:
            self.sock.sendall(data + b"\n")
            return True
        except OSError as exc:
            self._fail(f"send: {exc}")
            return False

    def poll(self) -> None:
        """Connect if due; read and discard what the server sent; notice a closed peer."""
        if not self._connect():
            return
        assert self.sock is not None
        try:
            while select.select([self.sock], [], [], 0.0)[0]:
                if not self.sock.recv(65536):
                    self._fail("closed by the server")
                    return
        except OSError as exc:
            self._fail(f"receive: {exc}")

    def take_reconnected(self) -> bool:
        fresh, self._reconnected = self._reconnected, False
        return fresh

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def open_link(target: CotTarget) -> CotLink:
    """The link for a target's scheme."""
    return UdpLink(target) if target.scheme == "udp" else TcpLink(target)
