"""Mosaic throughput and peak memory: N synthetic 640x512 thermal frames fed into the
tiled Mosaic (live path: ``feed`` one by one; batch path: ``feed_many`` on dask threads)
and written as a COG. Each configuration runs in its own process so that its peak RSS
is its own; peak memory should not grow with N (the tile cache is bounded).

    python bench/mosaic.py                 # N = 50 and 300, both paths
    python bench/mosaic.py --n 50 300 1000 --cache-tiles 16
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _texture(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return (25.0 + 5.0 * np.sin(0.05 * x) * np.cos(0.04 * y)).astype(np.float32)


@dataclass(frozen=True)
class SyntheticLoader:
    """``load(frame_id)``: a 640x512 float32 frame of smooth texture, different per frame
    (a shifted copy: about the cost of a fast decode, ~1 ms)."""

    width: int = 640
    height: int = 512

    def __call__(self, frame_id: str) -> np.ndarray:
        i = int(frame_id[1:])
        return np.roll(_texture(self.width, self.height), (i % 7, 3 * i % 11), axis=(0, 1)) + 0.01 * i


def flight(n: int) -> list:
    """A lawn-mower flight at 80 m, 20 frames per line, 70 % / 60 % overlap."""
    from dronepipe.flightlogs.records import Pose
    from dronepipe.geodesy import UtmFrame
    from dronepipe.stitching.camera import CameraModel
    from dronepipe.stitching.geoframe import geoframe

    lon0, lat0 = 7.7689, 49.4447
    frame = UtmFrame.for_point(lon0, lat0)
    e0, n0 = frame.to_grid(lon0, lat0)
    cam = CameraModel.from_fov("bench-640", 640, 512, 40.0, (-0.1, 0.01, 0.0, 0.0, 0.0))
    out = []
    for i in range(n):
        line, k = divmod(i, 20)
        de = 15.0 * (k if line % 2 == 0 else 19 - k)
        lon, lat = frame.to_lonlat(e0 + de, n0 - 20.0 * line)
        yaw = np.pi / 2 if line % 2 == 0 else -np.pi / 2
        pose = Pose(1.7e9 + i, float(lat), float(lon), 380.0, 80.0, 0.0, 0.0, yaw,
                    0.0, -np.pi / 2, yaw)
        out.append(geoframe(f"f{i}", pose, cam, frame))
    return out


def child(n: int, mode: str, cache_tiles: int) -> dict:
    from dronepipe.stitching.grid import grid_for
    from dronepipe.stitching.mosaic import Mosaic

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    gfs = flight(n)
    t_geo = time.perf_counter() - t0
    grid = grid_for(gfs)
    load = SyntheticLoader()
    loads = n
    if mode != "feed":
        from dronepipe.stitching.batch import plan_blocks
        loads = sum(len(work) for work in plan_blocks(grid, gfs))
    with tempfile.TemporaryDirectory() as tmp:
        m = Mosaic(grid, "thermal", cache_tiles=cache_tiles, workdir=tmp)
        m.prepare()
        t1 = time.perf_counter()
        if mode == "feed":
            for gf in gfs:
                m.feed(gf, load(gf.frame_id))
        else:
            m.feed_many(gfs, load, scheduler="threads")
        t_feed = time.perf_counter() - t1
        feed_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        spills, max_mem = m.store.spills, m.store.max_in_memory
        t2 = time.perf_counter()
        m.finish(Path(tmp) / "ortho_thermal.tif")
        t_write = time.perf_counter() - t2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(n=n, mode=mode, grid=f"{grid.width}x{grid.height}", tiles=grid.tile_rows * grid.tile_cols,
                loads_per_frame=loads / n, georef_fps=n / t_geo, mosaic_fps=n / t_feed, write_s=t_write,
                total_fps=n / (t_geo + t_feed + t_write), tiles_max_in_memory=max_mem,
                spills=spills, base_mb=base_mb, feed_peak_mb=feed_peak_mb, peak_mb=peak_mb)


COLUMNS = [("N", "n", 5, ""), ("mode", "mode", 13, ""), ("grid", "grid", 11, ""),
           ("tiles", "tiles", 5, ""), ("georef/s", "georef_fps", 9, ".1f"),
           ("mosaic/s", "mosaic_fps", 9, ".1f"), ("loads/f", "loads_per_frame", 7, ".2f"),
           ("write s", "write_s", 8, ".2f"), ("total/s", "total_fps", 8, ".1f"),
           ("in mem", "tiles_max_in_memory", 6, ""), ("spills", "spills", 6, ""),
           ("base MB", "base_mb", 8, ".0f"), ("feed MB", "feed_peak_mb", 8, ".0f"),
           ("peak MB", "peak_mb", 8, ".0f")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, nargs="+", default=[50, 300])
    ap.add_argument("--modes", nargs="+", default=["feed", "dask-threads"])
    ap.add_argument("--cache-tiles", type=int, default=16)
    ap.add_argument("--child", nargs=2, metavar=("N", "MODE"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.cache_tiles)))
        return
    print(" ".join(f"{head:>{width}}" for head, _, width, _ in COLUMNS))
    for mode in args.modes:
        for n in args.n:
            res = subprocess.run([sys.executable, __file__, "--child", str(n), mode,
                                  "--cache-tiles", str(args.cache_tiles)],
                                 check=True, capture_output=True, text=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(" ".join(f"{r[key]:>{width}{fmt}}" for _, key, width, fmt in COLUMNS))

if __name__ == "__main__":
    main()
