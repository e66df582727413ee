"""The live server's share of the alert latency and its tile cost, on loopback.

A fake live view (a real thermal Mosaic of synthetic frames, the real EventBus) is
served by ``start_server``. Printed:

- event delivery: time from ``EventBus.publish`` to the event's arrival at each of N
  ``/events`` clients (p50, p95, max), with the clients reading while tiles are fetched
  at the same time (the server's part of the hotspot alert latency, target p95 200 ms
  for the whole chain);
- tiles: milliseconds per 256 px tile rendered cold (per zoom level) and served from
  the cache, and the PNG size.

    python bench/serve.py                    # 4 clients, 400 events
    python bench/serve.py --clients 8 --events 1000
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.server import ServerConfig, start_server
from dronepipe.stream.webmercator import tile_of
from tests.stitching.synthetic import KL
from tests.stream.fakeview import FakeView, feed, grid_around
from tests.stream.sseclient import SseClient


def receive(port: int, n: int, out: list[float]) -> None:
    """Read ``n`` events and record each arrival delay (s) against its published time."""
    c = SseClient(port)
    try:
        got = 0
        while got < n:
            m = c.next_event(60.0)
            if m.event == "hotspot":
                out.append(time.time() - json.loads(m.data or "{}")["t"])
                got += 1
    finally:
        c.close()


def fetch_tiles(port: int, paths: list[str], stop: threading.Event) -> int:
    n = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        for p in paths:
            conn.request("GET", p)
            conn.getresponse().read()
            n += 1
    conn.close()
    return n


def tile_paths(z: int, radius: int) -> list[str]:
    x, y = (int(v) for v in tile_of(*KL, z))
    return [f"/tiles/{z}/{x + dx}/{y + dy}.png" for dx in range(-radius, radius + 1)
            for dy in range(-radius, radius + 1)]


def bench_events(port: int, view: FakeView, clients: int, events: int) -> None:
    delays: list[list[float]] = [[] for _ in range(clients)]
    readers = [threading.Thread(target=receive, args=(port, events, d)) for d in delays]
    for r in readers:
        r.start()
    time.sleep(1.0)   # every client subscribed
    stop = threading.Event()
    loader = threading.Thread(target=fetch_tiles, args=(port, tile_paths(19, 2), stop))
    loader.start()
    for i in range(events):
        view.events.publish("hotspot", {"id": i, "t": time.time(), "pad": "x" * 400})
        time.sleep(0.005)
    for r in readers:
        r.join(120)
    stop.set()
    loader.join(30)
    flat = np.array([d for ds in delays for d in ds]) * 1e3
    print(f"event delivery to {clients} clients, {events} events each, tiles loading meanwhile: "
          f"p50 {np.percentile(flat, 50):.1f} ms, p95 {np.percentile(flat, 95):.1f} ms, "
          f"max {flat.max():.1f} ms")


def bench_tiles(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for z in (16, 18, 20, 22):
        cold, warm, size = [], [], []
        for p in tile_paths(z, 1):
            ms = []
            for _ in range(2):
                t0 = time.perf_counter()
                conn.request("GET", p)
                r = conn.getresponse()
                body = r.read()
                ms.append((time.perf_counter() - t0) * 1e3)
            if r.status == 200:   # tiles with mosaic in them (204: outside)
                cold.append(ms[0])
                warm.append(ms[1])
                size.append(len(body))
        if cold:
            print(f"tiles z{z}: cold {statistics.median(cold):.1f} ms (max {max(cold):.1f}), "
                  f"cached {statistics.median(warm):.1f} ms, {len(cold)} tiles with data, "
                  f"PNG {statistics.median(size) / 1024:.0f} KiB")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--events", type=int, default=400)
    args = ap.parse_args()
    view = FakeView()
    with Mosaic(grid_around(half_m=60.0), "thermal") as m:
        for i, de in enumerate(range(-40, 41, 8)):
            feed(m, float(de), 0.0, i)
            feed(m, float(de), 25.0, 100 + i)
        view.set_mosaic(m)
        with start_server(view, "127.0.0.1", 0, None, ServerConfig(heartbeat_s=5.0)) as handle:
            bench_tiles(handle.port)
            bench_events(handle.port, view, args.clients, args.events)


if __name__ == "__main__":
    main()
