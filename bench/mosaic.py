"""Mosaic throughput and peak memory: N synthetic 640x512 thermal frames fed into the
tiled Mosaic (live path: ``feed`` one by one; batch path: ``feed_many`` on dask threads)
and written as a COG. Each configuration runs in its own process so that its peak RSS
is its own; peak memory should not grow with N (the tile cache is bounded).

    python bench/mosaic.py                 # N = 50 and 300, both paths
    python bench/mosaic.py --n 50 300 1000 --cache-tiles 16

``--flights demo sim``: instead, the CPU seconds (process time, all threads) of
``feed_many`` on the synchronous scheduler for the real mosaics of the shipped demo
flight and of the simulated 300-frame flight (``bench/process.py``'s cache), with the
frames placed and registered once (pickled beside the frames decoded once into .npy, so
decoding is not counted; ``--register`` for registered frames), ``--repeat`` N keeping
the least; ``--save`` writes the mosaics for comparison and ``--ids`` makes every
thermal frame hold its index, which shows which frame each pixel came from. Another
checkout is measured with ``PYTHONPATH=/that/tree python bench/mosaic.py --flights ...``.

    python bench/mosaic.py --flights demo sim --register --repeat 3

Measured on the shared 2-core machine (load average 15-20; seconds of CPU, least of 3
or 5; before: main at a783fed, one lattice of 8 cells per frame and tile in float64,
every frame drawn at every pixel it overlaps; after: one float32 lattice per frame of
16 (thermal) / 32 (RGB) cells and the coverage plan, RGB ``max_contributors=4``)::

    flight  kind     grid         before    after
    demo    thermal  1575x1657     1.13     0.23 - 0.28
    demo    rgb      1196x1182     1.58     0.61 - 0.71
    sim300  thermal  3558x3694    10.43     1.52 - 1.89
    sim300  rgb      6976x6986   116.4*    16.0 - 16.6   (* one run)

(the ranges: runs at different load; the exact mapping near image edges added last).
Thermal output: the frame each pixel comes from (``--ids``) differs on 1.3e-4 (demo) /
1.4e-4 (sim300) of the pixels, all on seams where two frames' scores nearly tie; the
coverage mask equals the exact mapping's (before: 15 / 17 pixels just outside every
frame were covered). RGB blends the best 4 frames instead of ~20 (sim300: mean absolute
change 3.8 grey levels, p99 14, sharper where frames disagree); bench/accuracy.py
mosaic RMSE seeds 1 / 2: 0.9430 / 0.4124 m before, 0.9443 / 0.4119 m after.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


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


# -- a real flight's mosaics: CPU seconds per kind --------------------------------------------
FLIGHTS = {"demo": ROOT / "sample_data" / "demo", "sim": Path("/tmp/dronepipe-bench/sim300-seed1")}


def flight_geoframes(folder: Path, cache: Path, register: bool) -> dict[str, list]:
    """The flight's GeoFrames per kind (placed, and registered with ``register``),
    pickled in ``cache`` so that repeated runs and other checkouts use the same ones."""
    path = cache / ("geoframes-registered.pkl" if register else "geoframes.pkl")
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    import importlib

    proc = importlib.import_module("dronepipe.pipeline.process")
    from dronepipe.pipeline.config import ProcessConfig

    run = proc._Run(ProcessConfig(folder, cache / "out", register=register), lambda *a: None)
    proc._poses(run)
    proc._placement(run)
    proc._registration(run)
    save_frames(run, cache)
    cache.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(run.geoframes, f)
    return run.geoframes


def save_frames(run: Any, cache: Path) -> None:
    """Decode every frame once into ``cache`` as .npy (the timed runs read them back)."""
    import importlib

    proc = importlib.import_module("dronepipe.pipeline.process")

    loader = proc._loader(run)
    for gfs in run.geoframes.values():
        for gf in gfs:
            out = cache / (gf.frame_id.replace("/", "__") + ".npy")
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                np.save(out, np.asarray(loader(gf.frame_id)))


@dataclass(frozen=True)
class IdLoader:
    """``load(frame_id)``: a thermal frame holding its own index everywhere, so that a
    thermal mosaic shows which frame each pixel came from (``--ids``)."""

    index: dict
    shape: tuple

    def __call__(self, frame_id: str) -> np.ndarray:
        return np.full(self.shape, float(self.index[frame_id]), np.float32)


@dataclass(frozen=True)
class NpyLoader:
    """``load(frame_id)``: a frame decoded ahead by ``save_frames``."""

    cache: Path

    def __call__(self, frame_id: str) -> np.ndarray:
        return np.load(self.cache / (frame_id.replace("/", "__") + ".npy"))


def flight_child(name: str, kind: str, register: bool, save: Path | None,
                 ids: bool = False, repeat: int = 1) -> dict:
    """CPU seconds of one kind's mosaic of a flight: ``feed_many`` on the synchronous
    scheduler (decoded frames read from .npy: decoding is not counted), then the COG."""
    import inspect

    from dronepipe.stitching.grid import grid_for
    from dronepipe.stitching.mosaic import Mosaic

    cache = Path("/tmp/dronepipe-bench") / f"mosaic-{name}"
    gfs = flight_geoframes(FLIGHTS[name], cache, register)[kind]
    grid = grid_for(gfs)
    extra = {"max_contributors": 4} if "max_contributors" in inspect.signature(Mosaic).parameters else {}
    load: Any = NpyLoader(cache)
    if ids:
        load = IdLoader({gf.frame_id: i for i, gf in enumerate(gfs)},
                        (gfs[0].camera.height, gfs[0].camera.width))
    for gf in gfs[:3]:
        load(gf.frame_id)
    import dask  # noqa: F401  (imports are not the mosaic's cost)
    import dronepipe.stitching.batch  # noqa: F401
    cpus = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):  # the least of the repetitions: the machine is shared
            m = Mosaic(grid, kind, cache_tiles=64, workdir=tmp, **extra)
            m.prepare()
            c0 = time.process_time()
            m.feed_many(gfs, load, scheduler="synchronous")
            cpus.append(time.process_time() - c0)
        cpu = min(cpus)
        if save is not None:
            from dronepipe.stitching.grid import PixelWindow
            np.save(save, m.read_window(PixelWindow(0, 0, grid.height, grid.width)))
        c1 = time.process_time()
        m.finish(Path(tmp) / f"ortho_{kind}.tif")
        write = time.process_time() - c1
    return dict(flight=name, kind=kind, frames=len(gfs), grid=f"{grid.width}x{grid.height}",
                mosaic_cpu_s=cpu, write_cpu_s=write, options=str(extra or "-"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, nargs="+", default=[50, 300])
    ap.add_argument("--modes", nargs="+", default=["feed", "dask-threads"])
    ap.add_argument("--cache-tiles", type=int, default=16)
    ap.add_argument("--child", nargs=2, metavar=("N", "MODE"))
    ap.add_argument("--flights", nargs="+", choices=sorted(FLIGHTS),
                    help="instead: CPU seconds of the mosaics of these flights")
    ap.add_argument("--kinds", nargs="+", default=["thermal", "rgb"])
    ap.add_argument("--register", action="store_true", help="register the frames first")
    ap.add_argument("--save", type=Path, help="with --flights: save each mosaic as SAVE/FLIGHT-KIND.npy")
    ap.add_argument("--repeat", type=int, default=1, help="with --flights: the least CPU of so many")
    ap.add_argument("--ids", action="store_true",
                    help="with --flights, thermal: frames hold their index (which frame won where)")
    args = ap.parse_args()
    if args.flights:
        for name in args.flights:
            for kind in args.kinds:
                tag = "-ids" if args.ids else ""
                save = args.save / f"{name}-{kind}{tag}.npy" if args.save else None
                print(json.dumps(flight_child(name, kind, args.register, save, args.ids,
                                                args.repeat)), flush=True)
        return
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
