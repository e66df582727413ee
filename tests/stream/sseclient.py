"""A minimal Server-Sent-Events client on a raw socket, for the tests."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SseMessage:
    """One message: event type, id and data (None for a comment), or a comment."""

    event: str | None
    id: str | None
    data: str | None
    comment: str | None = None


class SseClient:
    """Connects to ``/events`` and reads messages one by one."""

    def __init__(self, port: int, path: str = "/events", headers: str = "") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.buf = b""
        head = self._read_until(b"\r\n\r\n", 10.0)
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode("latin-1")

    def _read_until(self, sep: bytes, timeout_s: float) -> bytes:
        end = time.monotonic() + timeout_s
        while sep not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {sep!r} within {timeout_s} s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the stream")
            self.buf += chunk
        block, self.buf = self.buf.split(sep, 1)
        return block

    def next(self, timeout_s: float = 10.0) -> SseMessage:
        """The next message (a blank-line-terminated block)."""
        block = self._read_until(b"\n\n", timeout_s).decode("utf-8")
        fields: dict[str, str] = {}
        comment = None
        for line in block.split("\n"):
            if line.startswith(":"):
                comment = line[1:].strip()
                continue
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        return SseMessage(fields.get("event"), fields.get("id"), fields.get("data"), comment)

    def next_event(self, timeout_s: float = 10.0) -> SseMessage:
        """The next message with data (skipping comments and ``retry``) within ``timeout_s``."""
        end = time.monotonic() + timeout_s
        while True:
            m = self.next(max(end - time.monotonic(), 0.001))
            if m.data is not None:
                return m

    def reset(self) -> None:
        """Close abruptly (TCP RST), as a browser tab that is killed."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()
