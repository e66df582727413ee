"""Fixtures of the serving tests: a fake live view with real mosaics and hotspots, a
server on a free loopback port, and a small raw HTTP client."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.server import ServerConfig, ServerHandle, start_server
from dronepipe.thermal.hotspot import HotspotClass
from tests.stream.fakeview import T0, FakeView, drone_over, feed, grid_around, make_hotspot

TOKEN = "correct-horse-battery-staple"


@pytest.fixture()
def view() -> Iterator[FakeView]:
    """Thermal mosaic of three frames (a 300 C fire 5 m east, 5 m south of the origin),
    an RGB mosaic of one, the drone over the last frame, three hotspots."""
    v = FakeView()
    thermal, colour = Mosaic(grid_around(), "thermal"), Mosaic(grid_around(), "rgb")
    thermal.prepare()
    colour.prepare()
    gfs = [feed(thermal, de, 0.0, i) for i, de in enumerate((-15.0, 0.0, 15.0))]
    feed(colour, 0.0, 0.0, 0)
    v.set_mosaic(thermal)
    v.set_mosaic(colour)
    v.put_drone(drone_over(gfs[-1], T0 + 30.0, heading_deg=90.0))
    v.put_hotspot(make_hotspot(1, HotspotClass.FIRE, 5.0, -5.0, 300.0))
    v.put_hotspot(make_hotspot(2, HotspotClass.EMBER, -10.0, 8.0, 80.0, seen_s=10.0))
    v.put_hotspot(make_hotspot(3, HotspotClass.PERSON, 12.0, 10.0, 34.0, seen_s=20.0))
    v.set_status(frames_received=3, frames_mosaicked=3)
    yield v
    thermal.close()
    colour.close()


@pytest.fixture()
def server(view: FakeView) -> Iterator[ServerHandle]:
    handle = start_server(view, "127.0.0.1", 0, None, ServerConfig(heartbeat_s=0.3))
    yield handle
    handle.close()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(handle: ServerHandle, path: str, method: str = "GET",
        headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
    """One request on a fresh connection; headers keyed in lower case."""
    conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def raw_request(handle: ServerHandle, request_line: str, extra: str = "") -> tuple[int, bytes]:
    """Send a request line exactly as given (no client-side normalisation)."""
    with socket.create_connection(("127.0.0.1", handle.port), timeout=20) as s:
        s.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
                  .encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data
