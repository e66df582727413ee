"""Live links over loopback UDP and TCP: updates as they arrive, pose_at, bounded
memory, clean close."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from dronepipe.errors import LinkError, NoPoseError
from dronepipe.flightlogs import open_live
from dronepipe.flightlogs.live_links import open_transport
from dronepipe.flightlogs.tlog_writer import TlogWriter

T0 = 1_700_000_000.0


def _frames(n: int, start: int = 0) -> list[bytes]:
    w = TlogWriter(io.BytesIO())
    m, out = w.mav, []
    for i in range(start, start + n):
        tb = 1000 + i * 100
        out.append(w.frame(m.heartbeat_encode(2, 3, 81, 0, 4)))
        out.append(w.frame(m.system_time_encode(round((T0 + i * 0.1) * 1e6), tb)))
        out.append(w.frame(m.attitude_encode(tb, 0.0, 0.1, 0.01 * i, 0, 0, 0)))
        out.append(w.frame(m.gps_raw_int_encode(tb * 1000, 3, 525200000 + i * 10, 134000000, 80000, 70, 100, 500, 0, 12)))
        out.append(w.frame(m.global_position_int_encode(tb, 525200000 + i * 10, 134000000, 80000, 30000, 500, 0, 0, 0)))
    return out


def _drain(live, want: int, timeout_s: float = 5.0) -> int:  # type: ignore[no-untyped-def]
    n, deadline = 0, time.monotonic() + timeout_s
    for _ in live.updates(timeout_s=0.5):
        n += 1
        if n >= want or time.monotonic() > deadline:
            break
    return n


def test_udp_updates_and_pose_at() -> None:
    with open_live("udpin:127.0.0.1:0", heartbeat_s=None) as live:
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for f in _frames(30):
            tx.sendto(f, live.address)
        assert _drain(live, 150) == 150
        assert live.messages["ATTITUDE"] == 30
        pose = live.pose_at(T0 + 1.05)
        assert pose.lat_deg == pytest.approx(52.52 + 10.5 * 1e-6)
        assert pose.yaw_rad == pytest.approx(0.105, abs=1e-6)
        assert live.snapshot().time_source == "autopilot"
        with pytest.raises(NoPoseError, match="after the position track ends"):
            live.pose_at(T0 + 10.0)
        tx.close()
    assert not live._thread.is_alive()


def test_tcp_client_bounded_memory_and_link_end() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(b"".join(_frames(200)))
        time.sleep(0.3)
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    live = open_live(f"tcp:127.0.0.1:{port}", max_samples=50, queue_size=100, heartbeat_s=0.05)
    try:
        time.sleep(1.0)
        tel = live.snapshot()
        assert len(tel.attitude) == 50            # only the newest samples are kept
        assert tel.attitude.t_utc_s[-1] == pytest.approx(T0 + 19.9)
        assert live.dropped_updates >= 900         # 1000 updates through a queue of 100
        with pytest.raises(LinkError, match="closed the connection"):
            for _ in live.updates(timeout_s=2.0):
                pass
    finally:
        live.close()
        thread.join()
        server.close()


def test_bad_connection_strings() -> None:
    with pytest.raises(LinkError, match="not a connection string"):
        open_transport("carrier-pigeon:1")
    with pytest.raises(LinkError, match="HOST:PORT"):
        open_transport("udpin:14550")
    with pytest.raises(LinkError, match="cannot connect"):
        open_live("tcp:127.0.0.1:1")


def test_serial_link_through_a_pseudo_terminal() -> None:
    import os
    import sys
    if not sys.platform.startswith("linux"):
        pytest.skip("needs a Linux pty")
    pytest.importorskip("serial")
    master, slave = os.openpty()
    try:
        with open_live(f"serial:{os.ttyname(slave)}:57600", heartbeat_s=None) as live:
            for f in _frames(10):
                os.write(master, f)
            assert _drain(live, 50) == 50
            assert live.snapshot().attitude.yaw_rad[-1] == pytest.approx(0.09, abs=1e-6)
    finally:
        os.close(master)
        os.close(slave)
