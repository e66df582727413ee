"""The CoT sender on loopback: UDP datagrams and a TCP "TAK server" that drops the line."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import pytest

from dronepipe.errors import DronepipeError
from dronepipe.outputs.hotspot_cot import COT_TYPES
from dronepipe.outputs.uav_cot import UAV_TYPE
from dronepipe.stream.cot_link import TcpLink, UdpLink, parse_cot_url
from dronepipe.stream.cot_sender import CotConfig, CotSender
from dronepipe.thermal.hotspot import HotspotClass
from tests.stream.fakeview import T0, FakeView, drone_over, frame_at, make_hotspot

COT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FAST = CotConfig(poll_s=0.1, drone_interval_s=0.0, hotspot_min_interval_s=0.0, resend_all_s=1e9)


def test_parse_cot_url() -> None:
    t = parse_cot_url("udp://239.2.3.1:6969")
    assert (t.scheme, t.host, t.port, t.ttl, t.multicast) == ("udp", "239.2.3.1", 6969, 1, True)
    t = parse_cot_url("udp://10.0.0.5:4242?ttl=4&iface=10.0.0.2")
    assert (t.ttl, t.iface, t.multicast) == (4, "10.0.0.2", False)
    assert parse_cot_url("tcp://tak.local:8087").scheme == "tcp"
    for bad in ("http://x:1", "udp://x", "udp://:5", "tcp://x:99999", "udp://x:1?ttl=z", "x"):
        with pytest.raises(DronepipeError):
            parse_cot_url(bad)


def test_multicast_socket_has_ttl_1_by_default() -> None:
    for url, ttl in (("udp://239.2.3.1:6969", 1), ("udp://239.2.3.1:6969?ttl=3", 3)):
        link = UdpLink(parse_cot_url(url))
        try:
            assert link.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == ttl
        finally:
            link.close()


def parse_event(data: bytes) -> ET.Element:
    ev = ET.fromstring(data)
    assert ev.tag == "event" and ev.get("version") == "2.0"
    for key in ("time", "start", "stale"):
        assert COT_TIME.fullmatch(ev.get(key) or "")
    assert ev.find("point") is not None and ev.find("detail") is not None
    return ev


@pytest.fixture()
def udp() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10.0)
    yield s
    s.close()


def receive(s: socket.socket, want: int) -> list[ET.Element]:
    return [parse_event(s.recvfrom(65536)[0]) for _ in range(want)]


def test_udp_sends_well_formed_cot_for_hotspots_and_the_drone(udp: socket.socket) -> None:
    view = FakeView()
    fire = make_hotspot(1, HotspotClass.FIRE, 5.0, -5.0, 300.0)
    with CotSender(f"udp://127.0.0.1:{udp.getsockname()[1]}", view, FAST):
        view.put_hotspot(fire)
        view.put_drone(drone_over(frame_at(0.0, 0.0), T0 + 5.0, heading_deg=270.0))
        events = {e.get("uid"): e for e in receive(udp, 2)}
        hs, uav = events["dronepipe.hotspot.1"], events["dronepipe.uav"]
        assert hs.get("type") == COT_TYPES[HotspotClass.FIRE]
        p = hs.find("point")
        assert p is not None
        assert float(p.get("lat") or 0) == pytest.approx(fire.lat_deg, abs=1e-7)
        assert float(p.get("lon") or 0) == pytest.approx(fire.lon_deg, abs=1e-7)
        assert "MGRS" in (hs.findtext("detail/remarks") or "")
        assert uav.get("type") == UAV_TYPE and uav.get("how") == "m-g"
        assert uav.find("detail/track").get("course") == "270.0"  # type: ignore[union-attr]
        # an update of the same hotspot is sent again under the same uid
        view.put_hotspot(make_hotspot(1, HotspotClass.FIRE, 5.0, -5.0, 420.0))
        again = receive(udp, 1)[0]
        assert again.get("uid") == "dronepipe.hotspot.1"
        assert "max 420" in (again.findtext("detail/remarks") or "")


def test_drone_positions_are_rate_limited(udp: socket.socket) -> None:
    view = FakeView()
    cfg = CotConfig(poll_s=0.05, drone_interval_s=1e6)
    with CotSender(f"udp://127.0.0.1:{udp.getsockname()[1]}", view, cfg) as sender:
        for i in range(30):
            view.put_drone(drone_over(frame_at(float(i), 0.0), T0 + i))
        view.put_hotspot(make_hotspot(1, HotspotClass.EMBER, 0.0, 0.0, 90.0))
        uids = [e.get("uid") for e in receive(udp, 2)]
        assert sorted(uids) == ["dronepipe.hotspot.1", "dronepipe.uav"]
        assert sender.drone_events_sent == 1


def test_hotspots_reach_the_sender_without_events(udp: socket.socket) -> None:
    view = FakeView()
    with CotSender(f"udp://127.0.0.1:{udp.getsockname()[1]}", view, FAST):
        view._hotspots[7] = make_hotspot(7, HotspotClass.PERSON, 0.0, 0.0, 34.0)  # no event
        (ev,) = receive(udp, 1)
        assert ev.get("uid") == "dronepipe.hotspot.7" and ev.get("type") == "a-n-X-i-r"


class TakServer:
    """A loopback TCP listener that collects CoT events per connection."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.sock.settimeout(10.0)
        self.port = self.sock.getsockname()[1]

    def accept(self) -> socket.socket:
        conn, _ = self.sock.accept()
        conn.settimeout(10.0)
        return conn

    @staticmethod
    def read_events(conn: socket.socket, n: int) -> list[ET.Element]:
        buf, out = b"", []
        while len(out) < n:
            chunk = conn.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
            while b"</event>" in buf:
                one, buf = buf.split(b"</event>", 1)
                out.append(parse_event(one.strip() + b"</event>"))
        return out

    def close(self) -> None:
        self.sock.close()


def test_tcp_reconnects_and_sends_everything_again() -> None:
    view = FakeView()
    view.put_hotspot(make_hotspot(1, HotspotClass.FIRE, 0.0, 0.0, 300.0))
    view.put_hotspot(make_hotspot(2, HotspotClass.EMBER, 3.0, 0.0, 90.0))
    tak = TakServer()
    port = tak.port
    link = TcpLink(parse_cot_url(f"tcp://127.0.0.1:{port}"), min_backoff_s=0.05, max_backoff_s=0.2)
    with CotSender(f"tcp://127.0.0.1:{port}", view, FAST, link=link):
        conn = tak.accept()
        first = {e.get("uid") for e in tak.read_events(conn, 2)}
        assert first == {"dronepipe.hotspot.1", "dronepipe.hotspot.2"}
        conn.sendall(b"<event/>" * 100)   # what a TAK server sends us is read and dropped
        conn.close()                      # the server drops the line ...
        tak.close()                       # ... and is away for a while
        deadline = time.monotonic() + 10.0
        while link.errors == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.errors >= 1 and not link.connected
        tak = TakServer(port)             # back on the same port
        conn = tak.accept()
        again = {e.get("uid") for e in tak.read_events(conn, 2)}
        assert again == first and link.connects == 2
        view.put_hotspot(make_hotspot(3, HotspotClass.PERSON, 6.0, 0.0, 35.0))
        assert tak.read_events(conn, 1)[0].get("uid") == "dronepipe.hotspot.3"
        conn.close()
    tak.close()
