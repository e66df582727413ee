"""Byte transports for live MAVLink links: UDP (listen or send), TCP (client or server)
and serial ports, chosen by a connection string as MAVProxy/QGroundControl users
write them:

==========================  ==================================================
``udpin:HOST:PORT``          listen for UDP datagrams (``udp:`` is the same)
``udpout:HOST:PORT``         send to and receive from HOST:PORT over UDP
``tcp:HOST:PORT``            connect to a TCP server (e.g. SITL on 5760)
``tcpin:HOST:PORT``          accept one TCP client
``serial:DEVICE[:BAUD]``     a serial port (``/dev/ttyUSB0,57600`` and ``COM3`` too)
==========================  ==================================================

Serial ports need ``pyserial``.
"""

from __future__ import annotations

import socket
from typing import Any, Protocol

from dronepipe.errors import LinkError, MissingDependencyError

_BUFSIZE = 65536


class Transport(Protocol):
    """Moves bytes; ``recv`` returns b"" when nothing arrived within ``timeout_s``."""

    name: str

    def recv(self, timeout_s: float) -> bytes:
        """Bytes that arrived, waiting at most ``timeout_s`` seconds (b"" if none)."""
        ...

    def send(self, data: bytes) -> None:
        """Send bytes to the other side (best effort where it is not known yet)."""
        ...

    def close(self) -> None:
        """Release the socket or port."""
        ...

    @property
    def address(self) -> tuple[str, int] | None:
        """The local (host, port) of a network link, None for serial ports."""
        ...


def _host_port(conn: str, rest: str) -> tuple[str, int]:
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise LinkError(f"{conn}: expected HOST:PORT after the link type")
    return host or "0.0.0.0", int(port)


class UdpTransport:
    """UDP socket; listening (``udpin``) answers whoever sent last."""

    def __init__(self, conn: str, host: str, port: int, *, listen: bool) -> None:
        self.name = conn
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._peer: tuple[str, int] | None = None if listen else (host, port)
        try:
            if listen:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise LinkError(f"{conn}: cannot listen ({exc.strerror or exc})") from exc

    @property
    def address(self) -> tuple[str, int] | None:
        """The local (host, port) the socket is bound to."""
        return self._sock.getsockname()

    def recv(self, timeout_s: float) -> bytes:
        self._sock.settimeout(timeout_s)
        try:
            data, peer = self._sock.recvfrom(_BUFSIZE)
        except (TimeoutError, socket.timeout):
            return b""
        except ConnectionRefusedError:   # udpout before the peer listens (ICMP)
            return b""
        self._peer = peer
        return data

    def send(self, data: bytes) -> None:
        if self._peer is not None:
            try:
                self._sock.sendto(data, self._peer)
            except OSError:
                pass  # the peer is not there (yet); UDP is best effort

    def close(self) -> None:
        self._sock.close()



class TcpTransport:
    """TCP client (``tcp:``) or a server accepting one client (``tcpin:``)."""

    def __init__(self, conn: str, host: str, port: int, *, listen: bool,
                 connect_timeout_s: float = 5.0) -> None:
        self.name = conn
        self._server: socket.socket | None = None
        self._sock: socket.socket | None = None
        try:
            if listen:
                self._server = socket.create_server((host, port), reuse_port=False)
            else:
                self._sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        except OSError as exc:
            raise LinkError(f"{conn}: cannot {'listen' if listen else 'connect'} "
                            f"({exc.strerror or exc})") from exc

    @property
    def address(self) -> tuple[str, int] | None:
        """The local (host, port) of the listening or connected socket."""
        sock = self._server or self._sock
        return sock.getsockname() if sock is not None else None

    def _accept(self, timeout_s: float) -> bool:
        assert self._server is not None
        self._server.settimeout(timeout_s)
        try:
            self._sock, _ = self._server.accept()
        except (TimeoutError, socket.timeout):
            return False
        return True

    def recv(self, timeout_s: float) -> bytes:
        if self._sock is None and not self._accept(timeout_s):
            return b""
        assert self._sock is not None
        self._sock.settimeout(timeout_s)
        try:
            data = self._sock.recv(_BUFSIZE)
        except (TimeoutError, socket.timeout):
            return b""
        except ConnectionError as exc:
            raise LinkError(f"{self.name}: the other side closed the connection ({exc})") from exc
        if not data:
            raise LinkError(f"{self.name}: the other side closed the connection")
        return data

    def send(self, data: bytes) -> None:
        if self._sock is not None:
            self._sock.sendall(data)

    def close(self) -> None:
        for s in (self._sock, self._server):
            if s is not None:
                s.close()


class SerialTransport:
    """A serial port through pyserial."""

    def __init__(self, conn: str, device: str, baud: int) -> None:
        try:
            import serial  # type: ignore[import-not-found]
        except ImportError as exc:
            raise MissingDependencyError(f"{conn}: serial links need pyserial "
                                         "(pip install pyserial)") from exc
        self.name = conn
        try:
            self._port: Any = serial.Serial(device, baud, timeout=0.1)
        except (OSError, ValueError, serial.SerialException) as exc:
            raise LinkError(f"{conn}: cannot open {device} ({exc})") from exc

    @property
    def address(self) -> tuple[str, int] | None:
        return None

    def recv(self, timeout_s: float) -> bytes:
        self._port.timeout = timeout_s
        first = self._port.read(1)
        return first + self._port.read(self._port.in_waiting) if first else b""

    def send(self, data: bytes) -> None:
        self._port.write(data)

    def close(self) -> None:
        self._port.close()


def _serial_parts(conn: str, spec: str) -> tuple[str, int]:
    for sep in (",", ":"):
        device, s, baud = spec.rpartition(sep)
        if s and baud.isdigit() and device:
            return device, int(baud)
    return spec, 57600


def open_transport(conn: str) -> Transport:
    """The transport a connection string names (``LinkError`` where it cannot be opened)."""
    kind, sep, rest = conn.partition(":")
    kind = kind.lower()
    if sep and kind in ("udpin", "udp"):
        return UdpTransport(conn, *_host_port(conn, rest), listen=True)
    if sep and kind == "udpout":
        return UdpTransport(conn, *_host_port(conn, rest), listen=False)
    if sep and kind in ("tcp", "tcpin"):
        return TcpTransport(conn, *_host_port(conn, rest), listen=kind == "tcpin")
    if sep and kind == "serial":
        return SerialTransport(conn, *_serial_parts(conn, rest))
    if conn.startswith("/dev/") or conn.upper().startswith("COM"):
        return SerialTransport(conn, *_serial_parts(conn, conn))
    raise LinkError(f"{conn}: not a connection string (udpin:HOST:PORT, udpout:HOST:PORT, "
                    "tcp:HOST:PORT, tcpin:HOST:PORT, serial:DEVICE:BAUD)")
