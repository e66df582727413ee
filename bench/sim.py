"""Benchmark of the flight simulator: how long a flight takes to render, by stage.

    python bench/sim.py                 # 100 frames, 640x512 thermal + 2000x1500 RGB
    python bench/sim.py --frames 40 --rgb-size 800x600

Prints wall time per stage (world generation, frames, video, logs, truth), frames per
second, CPU time, peak resident memory and the size of what was written.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from dronepipe.sim import SimConfig, simulate
from dronepipe.sim.config import default_rgb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--rgb-size", default="2000x1500")
    ap.add_argument("--height", type=float, default=80.0)
    ap.add_argument("--terrain", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    w, h = (int(v) for v in args.rgb_size.split("x"))
    cfg = SimConfig(seed=args.seed, frames=args.frames, height_m=args.height, rgb=default_rgb(w, h),
                    terrain=args.terrain)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        res = simulate(cfg, Path(tmp))
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"simulated flight: {res.frames} frame pairs (thermal 640x512 + RGB {w}x{h}), "
          f"{res.video_frames} video frames, height {args.height:g} m, terrain {args.terrain}")
    print(f"world            : {res.world_size[0]} x {res.world_size[1]} cells of {cfg.world_cell} m")
    for stage, secs in res.timings_s.items():
        print(f"  {stage:<15}: {secs:6.1f} s")
    print(f"total            : {total:6.1f} s  ({res.frames / res.timings_s['frames_s']:.1f} frame pairs/s "
          "while rendering)")
    print(f"cpu time         : {cpu:6.1f} s  (wall time above depends on what else runs)")
    print(f"peak memory      : {peak_mb:6.0f} MB")
    print(f"written          : {size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
