"""Peak memory of ``dronepipe process`` against the length of the flight.

For each size (simulated thermal + RGB flights of ``--frames`` frame pairs, made once
into ``--cache`` as ``bench/process.py``'s ``sim_flight`` makes them; only the thermal
frames are processed unless ``--only`` says otherwise), one child process runs
``dronepipe.pipeline.process`` with the config the CLI builds for
``dronepipe process FLIGHT -o OUT``, and reports:

- ``peak MB``: the child's VmHWM (/proc/self/status) at the end, imports included;
- ``cpu s``: the child's user + system seconds (getrusage, all its threads);
- ``dec/frame``: thermal decodes (calls of the loader's ``decode_thermal``) per frame;
- per stage: CPU seconds, decodes per frame, and the stage's own peak RSS (the
  high-water mark is reset through /proc/self/clear_refs at the stage's start; where
  the kernel refuses, the column shows the process peak so far).

The target (DESIGN.md): a flat peak, the largest flight within 10-15 % of the smallest.
CPU seconds, not wall time, since the 2-core machine is shared.

    python bench/memory.py                       # 50, 150, 300 frames
    python bench/memory.py --frames 50 300 --only thermal rgb
    python bench/memory.py --tracemalloc 5       # + the 5 largest allocation sites at the peak

Measured on the shared 2-core machine (load 15-25 from other jobs; thermal only, one
run each; peaks vary by about 25 MB between runs of the same flight). Before: commit
a783fed (frame cache 256 MB, 64 mosaic tiles in memory, hotspot stage decoding its
frames, default malloc arenas); after: 64 MB cache, 16 tiles, hotspots detected as
registration loads the frames, 2 arenas trimmed between stages.

    frames   peak MB          cpu s         decodes/frame   hotspot stage cpu s
             before  after    before after  before after    before after
    50       414     391      16.4   15.0   1.00   1.00     0.6    0.0
    150      576     453      51.5   48.0   1.00   3.47     2.2    0.1
    300      777     427      98.0   96.9   2.77   3.13     4.7    0.1

After, per stage on 300 frames: registration 80.6 s CPU, 1.0 decode a frame, peak
415 MB (detection, about 10 ms a frame, now runs here); mosaics 13.9 s, 2.1 decodes,
427 MB; hotspots 0.1 s, no decode. The peak is set by registration and the mosaic;
what is left above the 150 MB of imports is SIFT and matching on two threads, the
64 MB frame cache and 32 MB of mosaic tiles, none of which grows with the flight.

Thermal decoding (two runs each, interleaved, same machine and load): before, commit
1077286; after, 16-bit counts to degrees C through a table (``thermal.tiff``), the
cache holding thermal frames as counts (``pipeline.loader``) and mosaic blocks in
flight order (``stitching.batch``). The mosaic's decodes a frame fall 1.4 -> 1.1 on
300 frames, 1.1 -> 1.0 on 150; the peak stays flat. CPU seconds of the whole job move
by less than the load on the machine does; a one-thread profile of the 300-frame job
(scheduler "synchronous") gives the decoding alone: ``decode_thermal`` 700 calls 5.52 s
-> 642 calls 4.24 s (plus 0.07 s rebuilding degrees C on 148 cache hits).

    frames   peak MB            cpu s               dec/frame         mosaic dec/frame
             before   after     before    after     before   after    before  after
    50       340 339  303 300    7.6 7.0   8.4 8.1  1.00     1.00     0.0     0.0
    150      407 419  381 408   19.1 16.1 20.1 18.3 2.13     1.97     1.1     1.0
    300      434 422  433 431   39.5 32.8 36.4 32.8 2.45     2.08     1.4     1.1

Three more 50-frame pairs: 6.8-7.6 s CPU before, 6.7-8.0 after; the registration
stage's peak 274-277 MB before, 244-246 after (its 50 frames cached as counts).

2026-12-07 (third session; thermal frames tied by flow since the session before),
frames the 64 MB cache drops kept on disk (``pipeline.spill``), one run each:

    frames   peak MB   cpu s   dec/frame   registration cpu s, dec   mosaics cpu s, dec
    50       307       4.5     1.00        2.1   1.0                 0.8   0.0
    150      398       9.6     1.01        5.5   1.0                 2.4   0.0
    300      423      16.3     1.00       10.2   1.0                 4.2   0.0

(The session before, without the disk: peaks 325 / 439 / 443 MB, 1.00 / 1.91 / 2.11
decodes a frame.) The mosaic now reads the frames registration decoded back from the
output folder's ``.decoded-frames`` instead of decoding them: on 300 frames 300 files,
197 MB, written once, none of it in the process's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("_poses", "_placement", "_registration", "_mosaics")


# -- the child ---------------------------------------------------------------------------------
def status_mb(key: str) -> float:
    """A size of this process from /proc/self/status (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS; False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def cpu_s() -> float:
    """User + system seconds of this process so far (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class _Meter:
    """Per-stage CPU seconds, decodes and peak MB of one run (a working record)."""

    decodes: int = 0
    peak_mb: float = 0.0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.peak_mb = max(self.peak_mb, status_mb("VmHWM"))
        reset_peak()
        c0, d0 = cpu_s(), self.decodes
        try:
            yield
        finally:
            hwm = status_mb("VmHWM")
            self.peak_mb = max(self.peak_mb, hwm)
            self.stages[name] = {"cpu_s": cpu_s() - c0, "decodes": self.decodes - d0,
                                 "peak_mb": hwm}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return fn(*args, **kwargs)
        return run

    def counting(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            self.decodes += 1
            return fn(*args, **kwargs)
        return run


def _instrument(meter: _Meter) -> None:
    """Wrap the stages of ``pipeline.process`` and the loader's thermal decoder."""
    import importlib

    loader_mod = importlib.import_module("dronepipe.pipeline.loader")
    proc_mod = importlib.import_module("dronepipe.pipeline.process")

    for name in STAGES:
        setattr(proc_mod, name, meter.wrap(name.strip("_"), getattr(proc_mod, name)))
    proc_mod.track_hotspots = meter.wrap("hotspots", proc_mod.track_hotspots)
    proc_mod.write_products = meter.wrap("products", proc_mod.write_products)
    loader_mod.decode_thermal = meter.counting(loader_mod.decode_thermal)


def child(flight: Path, out: Path, kinds: tuple[str, ...], top: int,
          options: dict[str, Any]) -> dict[str, Any]:
    """Run ``process`` once, instrumented, with ``options`` of ``ProcessConfig`` beside
    the CLI's defaults; the report (see the module)."""
    import tracemalloc

    if top:
        tracemalloc.start(12)
    from dronepipe.pipeline import ProcessConfig, process

    meter = _Meter()
    _instrument(meter)
    result = process(ProcessConfig(flight, out, kinds=kinds, **options))  # type: ignore[arg-type]
    report: dict[str, Any] = {
        "frames": result.n_frames, "placed": result.n_placed, "hotspots": len(result.hotspots),
        "peak_mb": max(meter.peak_mb, status_mb("VmHWM")), "cpu_s": cpu_s(),
        "decodes": meter.decodes, "stages": meter.stages}
    if top:
        snap = tracemalloc.take_snapshot()
        report["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        report["top"] = [f"{s.size / 2**20:.1f} MB {s.traceback.format()[-1].strip()}"
                         for s in snap.statistics("traceback")[:top]]
    return report


# -- the parent --------------------------------------------------------------------------------
def run_child(flight: Path, kinds: Sequence[str], top: int,
              options: dict[str, Any]) -> dict[str, Any]:
    """One measurement in its own process; its JSON report (``error`` where it failed)."""
    with tempfile.TemporaryDirectory(prefix="dronepipe-mem-") as out:
        cmd = [sys.executable, __file__, "--child", str(flight), out, "--only", *kinds,
               "--tracemalloc", str(top), "--options", json.dumps(options)]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=os.environ | {"PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    names = ["poses", "placement", "registration", "mosaics", "hotspots", "products"]
    print(f"{'frames':>6} {'peak MB':>7} {'cpu s':>6} {'dec/frame':>9}  "
          + "  ".join(f"{n[:12]:>18}" for n in names))
    print(f"{'':>6} {'':>7} {'':>6} {'':>9}  " + "  ".join(f"{'cpu s dec MB':>18}" for _ in names))
    for n, r in rows:
        if "error" in r:
            print(f"{n:>6} failed: {r['error']}")
            continue
        frames = max(1, r["placed"])
        cells = []
        for name in names:
            s = r["stages"].get(name)
            cells.append(f"{'-':>18}" if s is None else
                         f"{s['cpu_s']:6.1f} {s['decodes'] / frames:4.1f} {s['peak_mb']:6.0f}")
        print(f"{r['placed']:>6} {r['peak_mb']:7.0f} {r['cpu_s']:6.1f} "
              f"{r['decodes'] / frames:9.2f}  " + "  ".join(cells))
    for n, r in rows:
        for line in r.get("top", []):
            print(f"  {n} frames, at the end: {line}")


def sim_path(cache: Path, frames: int, seed: int) -> Path:
    """The simulated flight (made once, as ``bench/process.py`` makes it)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import process as bench_process  # bench/process.py, beside this script

    return Path(bench_process.sim_flight(cache, frames, seed).path)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", nargs="+", type=int, default=[50, 150, 300])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dronepipe-bench")
    ap.add_argument("--only", nargs="+", choices=["thermal", "rgb"], default=["thermal"])
    ap.add_argument("--tracemalloc", type=int, default=0,
                    help="also trace allocations (slow) and list the N largest sites left")
    ap.add_argument("--frame-cache-mb", type=float, default=None,
                    help="ProcessConfig.frame_cache_mb (default: the config's)")
    ap.add_argument("--cache-tiles", type=int, default=None,
                    help="ProcessConfig.cache_tiles (default: the config's)")
    ap.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), tuple(args.only),
                               args.tracemalloc, json.loads(args.options))))
        return
    options = {k: v for k, v in (("frame_cache_mb", args.frame_cache_mb),
                                 ("cache_tiles", args.cache_tiles)) if v is not None}
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.frames:
        t0 = time.perf_counter()
        rows.append((n, run_child(sim_path(args.cache, n, args.seed), args.only, args.tracemalloc,
                                  options)))
        print(f"  {n} frames measured in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
