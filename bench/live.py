"""Live mode at 30 frames per second: a simulated 640x512 thermal video flight pushed
into ``LiveProcessor`` in-process, frame by frame at the video's own rate, with the
flight's telemetry (the fast path: no sockets, so what is measured is the processing).

Prints the sustained throughput (frames processed per second against the 30 offered),
the hotspot alert latency (p50, p95: from a frame's arrival to each hotspot event it
caused on the bus; and, separately, to the first event of each new hotspot), how many
keyframes the mosaic took and skipped, and the time to write the products.

    python bench/live.py                    # 10 s of video (300 frames)
    python bench/live.py --seconds 20 --fps 30 --keep /tmp/flight
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np


def simulate_flight(out: Path, seconds: float) -> Path:
    from dronepipe.sim import HotspotCounts, SimConfig, simulate

    if not (out / "truth" / "flight.json").is_file():
        cfg = SimConfig(frames=8, rgb=None, video_s=seconds, write_dataflash=False,
                        hotspots=HotspotCounts(2, 6, 2, 2), world_cell_m=0.05)
        t = time.perf_counter()
        simulate(cfg, out)
        print(f"simulated {seconds:g} s of 640x512 video in {time.perf_counter() - t:.1f} s")
    return out


def load_video(flight: Path) -> tuple[list[np.ndarray], float, float]:
    meta = json.loads((flight / "truth" / "flight.json").read_text())["video"]
    cap = cv2.VideoCapture(str(flight / "video" / "thermal.avi"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if f.ndim == 3 else f)
    cap.release()
    return frames, float(meta["start_utc_s"]), float(meta["fps"])


def run(flight: Path, fps: float, out: Path) -> None:
    from dronepipe.flightlogs import read_telemetry
    from dronepipe.stream.arrivals import Arrival
    from dronepipe.stream.config import LiveConfig
    from dronepipe.stream.poses import FixedPoses
    from dronepipe.stream.processor import LiveProcessor
    from dronepipe.stream.products import write_live_products

    frames, start, video_fps = load_video(flight)
    span = tuple(json.loads((flight / "video" / "thermal.json").read_text())["span_c"])
    cfg = LiveConfig(out_dir=out, cameras=flight / "cameras.toml", span_c=span)  # type: ignore[arg-type]
    proc = LiveProcessor(cfg, FixedPoses(read_telemetry(flight / "flight.tlog")))
    sub = proc.events.subscribe()
    arrivals: dict[str, float] = {}
    lat_all: list[float] = []
    done = threading.Event()

    def listen() -> None:
        while not done.is_set() or sub.q.qsize():
            ev = sub.get(0.1)
            if ev is not None and ev.type == "hotspot":
                fid = str(ev.data["frame_id"]).split("/", 1)[1]
                lat_all.append(ev.t_wall_s - arrivals[fid])

    th = threading.Thread(target=listen)
    th.start()
    t0 = time.monotonic()
    for k, grey in enumerate(frames):
        t_due = t0 + k / fps
        time.sleep(max(0.0, t_due - time.monotonic()))
        name = f"video#{k}"
        arrivals[name] = time.time()
        proc.submit(Arrival(name, "thermal", arrivals[name], pixels=grey,
                            t_capture_utc_s=start + k / video_fps))
    offered_s = time.monotonic() - t0
    while proc.counters.get("frames_processed") + proc.counters.get("dropped_no_pose") \
            + proc.counters.get("frames_corrupt") < len(frames):
        time.sleep(0.005)
    processed_s = time.monotonic() - t0
    proc.close()
    done.set()
    th.join()
    t = time.monotonic()
    write_live_products(proc, out, str(flight))
    products_s = time.monotonic() - t
    report(proc.status(), len(frames), fps, offered_s, processed_s, lat_all, products_s)


def report(st: dict, n: int, fps: float, offered_s: float, processed_s: float,
           lat_all: list[float], products_s: float) -> None:
    pct = (lambda a, q: float(np.percentile(a, q)) * 1000.0) if lat_all else (lambda a, q: float("nan"))
    print(f"frames offered        {n} at {fps:g} fps over {offered_s:.2f} s")
    print(f"frames processed      {st.get('frames_processed', 0)} "
          f"(dropped {st.get('dropped_no_pose', 0)}, overflow {st.get('frames_overflow', 0)})")
    print(f"sustained throughput  {st.get('frames_processed', 0) / processed_s:.1f} frames/s "
          f"(last frame done {processed_s - offered_s:.3f} s after the last arrival)")
    print(f"alert latency, every hotspot event  p50 {pct(lat_all, 50):.1f} ms  p95 {pct(lat_all, 95):.1f} ms "
          f"({len(lat_all)} events)")
    print(f"alert latency, new hotspots         p50 {st.get('alert_latency_p50_ms', float('nan'))} ms  "
          f"p95 {st.get('alert_latency_p95_ms', float('nan'))} ms ({st.get('hotspot_events_new', 0)} hotspots)")
    print(f"mosaic                keyframes {st.get('keyframes', 0)}, took {st.get('mosaic_taken', 0)}, "
          f"skipped {st.get('mosaic_skipped', 0)}, registered {st.get('registered', 0)}")
    print(f"products on exit      {products_s:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="video length (s)")
    ap.add_argument("--fps", type=float, default=30.0, help="frames pushed per second")
    ap.add_argument("--keep", type=Path, default=None, help="keep/reuse the simulated flight here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        flight = simulate_flight(args.keep or Path(tmp) / "flight", args.seconds)
        run(flight, args.fps, Path(tmp) / "out")


if __name__ == "__main__":
    main()
