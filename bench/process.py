"""``dronepipe process`` against its floor and against OpenStitching, side by side.

For each flight (the shipped ``sample_data/demo``: 36 thermal 640x512 + 36 RGB 640x480
frames, and a simulated 300-frame flight, thermal 640x512 + RGB 2000x1500, generated
once into ``--cache`` when missing) and each repetition, in one run:

- ``process``: the whole after-flight job (``dronepipe.pipeline.process`` with the
  config the CLI builds for ``dronepipe process FLIGHT -o OUT --scheduler S``), with the
  per-stage seconds from its ``process.json``;
- ``floor``: only decoding every input frame (thermal through
  ``dronepipe.thermal.decode_thermal``, RGB with ``cv2.imread``, on a pool of as many
  threads as the pipeline's dask) and writing every output: two COGs of the same grids,
  tiles and coverage as the job's (``write_cog``), the hotspot products of the same
  hotspots and ``process.json`` - no georeferencing, registration or mosaicking;
- ``openstitching``: the RGB frames through OpenStitching (``stitching`` on PyPI) with
  its default settings, in its own venv (it needs non-headless ``opencv-python``),
  created under ``--cache`` when missing; killed after ``--stitching-timeout`` seconds
  or beyond ``--stitching-mem-gb`` of address space, which the table then says;
- optionally ``process`` again with ``--scheduler processes`` and with the ``tcp://``
  address of a ``distributed.LocalCluster`` started here (2 single-threaded workers);
- optionally ``process`` of another checkout (``--baseline``), for before and after.

Every measurement is its own process, run from compiled bytecode as an installed
package runs (``PYTHONDONTWRITEBYTECODE`` is dropped for the children, and the caches are
written once before the first; a machine that sets it would otherwise compile about
110 of our modules in every run of the job, 0.1-0.2 s, and fewer in the floor's).
Seconds are wall time from the child's start (imports included) to its last write; ``frames/s`` counts every input frame (thermal +
RGB; OpenStitching gets the RGB ones only). ``cpu s``: user + system seconds of the job's
processes (and the cluster's workers; not the cluster's scheduler, which runs in this
process), less sensitive to other load than wall time. ``peak MB``: the largest
process's high-water mark (VmHWM; not ``ru_maxrss``, which on Linux counts the bench's
own RSS copied at fork); ``tree MB``: RSS summed over the job's processes (and the
cluster's workers), sampled every 0.2 s. ``x floor``: seconds over the floor's seconds
of the same flight and repetition (the target: ``process`` within 3x). The machine is
shared, so run with ``--repeat`` >= 2 and read the rows of one repetition together.

    python bench/process.py                              # demo + 300 frames, twice
    python bench/process.py --flights demo --repeat 3 --no-stitching
    python bench/process.py --schedulers threads processes cluster
    python bench/process.py --only thermal               # DESIGN.md's target row
    git archive COMMIT | tar -x -C /tmp/base && python bench/process.py --baseline /tmp/base

Measured on the shared 2-core machine on 2026-12-07 (third session), ``--only thermal
--repeat 3 --no-stitching --baseline`` commit 849cb26 (the end of the session before:
each thermal frame decoded about twice, the block's pairs made twice, scipy.ndimage and
scipy.optimize imported, 96 corners tracked a pair), three repetitions on a calmer
spell (a pure-Python loop that takes 1.3 s idle took 1.8 s; children then still
compiled from source) and three on a slower one (2.5-2.8 s); seconds, x floor:

    flight, spell     process threads                  baseline 849cb26                 floor
    sim300/T calmer   9.3 / 9.2 / 10.1    3.00 / 3.18 / 2.95x   10.8 / 11.8 / 12.4  3.47 / 4.07 / 3.63x   3.1 / 2.9 / 3.4
    sim300/T slower   11.1 / 11.5 / 12.0  3.65 / 3.28 / 3.40x   13.7 / 13.7 / 13.7  4.50 / 3.89 / 3.88x   3.0 / 3.5 / 3.5
    demo/T calmer     2.5 / 2.3 / 2.9     1.73 / 1.72 / 1.78x   2.6 / 2.6 / 3.2     1.80 / 1.94 / 1.94x   1.4 / 1.3 / 1.6
    demo/T slower     2.5 / 2.7 / 2.5     1.84 / 1.85 / 1.60x   3.2 / 3.1 / 2.7     2.30 / 2.13 / 1.74x   1.4 / 1.4 / 1.6

After the local schedulers stopped importing dask.distributed (commit df630e3, see
``stitching.batch.dask_scheduler``), three more on a middling spell (the loop 1.9-2.5 s):
sim300/T 10.5 / 11.5 / 11.5 s, 3.80 / 3.81 / 3.71x (baseline 13.2 / 12.4 / 14.0 s,
4.77 / 4.12 / 4.53x; floor 2.8 / 3.0 / 3.1 s); demo/T 1.72-2.00x (baseline 2.10-2.27x).
The ratio swings with whether the floor's 3 s land in a calm moment: read the
baseline's column of the same runs, and the CPU seconds.

Then the COGs were compressed on both cores, in the job and in the floor alike (commit
after df630e3: GDAL NUM_THREADS, the same bytes; 0.8 s instead of 1.3 s for the sim300
thermal mosaic). That makes the floor faster by as much as the job, so the ratio rises:
three repetitions (the loop 1.7-2.2 s): sim300/T 10.9 / 10.8 / 9.0 s, 4.25 / 3.89 /
3.86x against a floor of 2.6 / 2.8 / 2.3 s (baseline, which writes its COG on one
core: 12.4 / 11.4 / 11.8 s, 4.85 / 4.12 / 5.04x); demo/T 2.4 / 2.5 / 2.2 s, 1.73 / 1.85
/ 1.82x (baseline 2.24-2.26x). CPU 13.3-16.1 s (baseline 15.7-17.3).

CPU seconds, sim300 thermal: 12.9-14.3 calmer, 15.6-16.9 slower, 14.7-16.2 middling
(baseline 14.9-17.1, 18.9-19.0 and 17.2-19.4; floor 3.6-4.6); peaks 411-455 MB
(baseline 408-460). Stages (slower spell): registration 6.8-7.3 s (baseline 7.7-8.1),
mosaics 2.8-3.3 (3.9-4.1), imports and products 1.0 (1.2-1.5). What changed: each frame is decoded once (frames the 64 MB
cache drops wait on disk, ``pipeline.spill``: 300 decodes and 325-329 reads instead of
632 decodes), corners are tracked 64 first and 32 more only where fewer than 40 held
(``flow``), the pairs are ranked once, each frame's mosaic cover is made on the workers,
and the imports of scipy.ndimage and scipy.optimize are gone (0.3-0.4 s a start).
DESIGN.md's 3x holds on the sample flight and at 300 frames on a calm machine, barely
(2.95-3.18x); under load it is 3.3-3.7x.

Where the CPU goes (sim300 thermal, synchronous scheduler, slower spell, 14.8-15.3 s
CPU): imports 1.2-1.4 s (compiling from source); registration 9.2-9.5 s, of which each
frame's decoding, hotspot detection and flow image 3.9 s (13 ms a frame: decoding
4-5 ms, detection 4-5, the flow image 2.5), the 986 flow pairs 4.1 s (LK a third, then
the ground points and RANSAC, the phase correlation, the window correlation, the
warps), the adjustment 0.56 s; mosaics 3.0-4.0 s (the COG 1.2-1.5 s of it, as in the
floor). Two threads give about 1.3-1.6 cores' worth on this machine even for code
without the GIL (two processes of a pure loop: 1.3-1.4x), so only less CPU makes the
job faster; OpenCV's own threads (``opencv_threads`` None) did not help (9.6 / 10.3 s
against 9.4 / 10.2 s).

The session before (against commit 24f1f46, SIFT on 320 px working images, 8 partners
a frame): sim300 thermal 10.8-10.9 s, 3.5-3.6x against 16.2-17.8 s, 5.3-5.7x; demo
thermal 1.8-1.9x against 2.2-2.5x. Both kinds, one run this session: demo 6.2 s, 3.9x
(baseline 7.1 s, 4.5x); sim300 80.1 s, 6.2x (baseline 74.6 s, 5.8x; floor 12.9 s). That
flight is RGB-bound and its RGB path did not change: the RGB extraction tasks took
70.4 s against 64.3 s in the baseline's run, the same code, so the machine's noise; its
2000 x 1500 RGB frames are decoded 3.3 times each (too large for the memory cache, and
not written to disk, see ``pipeline.framecache``). Earlier figures with
OpenStitching (RGB, default settings): demo 46 s and 819 MB; sim300 out of memory
(34 GB).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
T_START = time.perf_counter()
STITCH_SCRIPT = """
import json, os, resource, sys, time, warnings
t0 = time.perf_counter()
limit = int(os.environ.get("BENCH_MEM_BYTES", "0"))
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import cv2
from stitching import Stitcher
files, out = sys.argv[1:-1], sys.argv[-1]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    stitcher = Stitcher()
    pano = stitcher.stitch(files)
    cv2.imwrite(out, pano)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"seconds": time.perf_counter() - t0, "used": len(stitcher.images.names),
                  "hwm_mb": int(hwm) / 1024,
                  "given": len(files), "shape": list(pano.shape),
                  "warnings": sorted({str(w.message)[:80] for w in caught})}))
"""


# -- measuring a child process -------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    """One child process: its JSON report (``None`` if it failed), exit ``status``,
    wall ``seconds`` seen from here, ``cpu_s`` (user + system: its own, its reaped
    children's and ``extra_pids``'), ``peak_mb`` of its largest process (VmHWM),
    ``tree_mb`` (sampled sum of RSS over its processes and ``extra_pids``), and the end of
    its stderr where it failed (``error``)."""

    report: dict[str, Any] | None
    status: str
    seconds: float
    cpu_s: float
    peak_mb: float
    tree_mb: float
    error: str = ""


def _children_of() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    kids: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(stat.split("/")[2]))
    return kids


def _tree(roots: Sequence[int]) -> list[int]:
    """``roots`` and all their descendants (pids)."""
    kids, todo, seen = _children_of(), list(roots), []
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(kids.get(pid, []))
    return seen


def status_mb(pid: int | str, key: str) -> float:
    """A size from /proc/PID/status (``VmRSS``, ``VmHWM``) in MB; 0 where gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _cpu_s(pids: Sequence[int]) -> float:
    """User + system seconds so far of ``pids`` themselves (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class _Sampler:
    """Peak RSS summed over a process tree and each process's high-water mark, sampled
    every 0.2 s until ``stop`` is set (a working record of ``measure``)."""

    roots: list[int]
    stop: threading.Event = field(default_factory=threading.Event)
    tree_mb: float = 0.0
    hwm_mb: dict[int, float] = field(default_factory=dict)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            pids = _tree(self.roots)
            self.tree_mb = max(self.tree_mb, sum(status_mb(p, "VmRSS") for p in pids))
            for p in pids:
                self.hwm_mb[p] = max(self.hwm_mb.get(p, 0.0), status_mb(p, "VmHWM"))


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment for a measured child, with ``extra`` added and without
    ``PYTHONDONTWRITEBYTECODE``: an installed package runs from compiled bytecode, so the
    children do too (``warm_bytecode`` compiles it before the first one)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | (extra or {})


def warm_bytecode(pythonpath: Path | None = None) -> None:
    """Import everything the job and the floor import, once, so that no measured run
    compiles a module (the first import of a module writes its bytecode cache)."""
    subprocess.run([sys.executable, "-c", "import dronepipe.cli, dronepipe.pipeline.process"],
                   check=True, env=_child_env(None if pythonpath is None
                                              else {"PYTHONPATH": str(pythonpath)}))


def measure(cmd: Sequence[str], *, timeout_s: float | None = None,
            extra_pids: Sequence[int] = (), env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` (its last stdout line is a JSON report, with ``hwm_mb``: its own VmHWM
    at the end) and measure it (see ``Measured``); ``env``: variables to add."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        cpu0, t0 = _cpu_s(extra_pids), time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True,
                                env=_child_env(env))
        sampler = _Sampler([proc.pid, *extra_pids])
        thread = threading.Thread(target=sampler.run)
        thread.start()
        timer = threading.Timer(timeout_s, _kill_group, (proc.pid,)) if timeout_s else None
        if timer is not None:
            timer.start()
        _, wstatus, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(wstatus)
        sampler.stop.set()
        thread.join()
        timed_out = timer is not None and timer.finished.is_set()
        if timer is not None:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        report, status, error = _outcome(out.read(), err.read(), proc.returncode, timed_out)
    cpu = usage.ru_utime + usage.ru_stime + _cpu_s(extra_pids) - cpu0
    peak = max([(report or {}).get("hwm_mb", 0.0), *sampler.hwm_mb.values()])
    return Measured(report, status, seconds, cpu, peak, sampler.tree_mb, error)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _outcome(stdout: str, stderr: str, code: int,
             timed_out: bool) -> tuple[dict[str, Any] | None, str, str]:
    tail = " | ".join(line.strip() for line in stderr.strip().splitlines()[-3:])[-300:]
    if timed_out:
        return None, "timed out", tail
    if code != 0:
        return None, f"failed (exit {code})", tail
    try:
        return json.loads(stdout.strip().splitlines()[-1]), "ok", ""
    except (IndexError, json.JSONDecodeError):
        return None, "no report", tail


# -- the children ----------------------------------------------------------------------------
def child_pipeline(flight: Path, out: Path, scheduler: str,
                   kinds: tuple[str, ...]) -> dict[str, Any]:
    """The job as ``dronepipe process FLIGHT -o OUT --scheduler S`` runs it; afterwards
    (not timed) the hotspots and mosaic records for the floor, pickled into OUT."""
    from dronepipe.pipeline import ProcessConfig, process

    result = process(ProcessConfig(flight, out, scheduler=scheduler,
                                   kinds=kinds))  # type: ignore[arg-type]
    seconds = time.perf_counter() - T_START
    with open(out / "bench.pkl", "wb") as f:
        pickle.dump({"hotspots": result.hotspots, "mosaics": result.mosaics}, f)
    stages = json.loads((out / "process.json").read_text())["timings_s"]
    return {"seconds": seconds, "frames": result.n_frames, "placed": result.n_placed,
            "hotspots": len(result.hotspots), "stages": stages,
            "hwm_mb": status_mb("self", "VmHWM")}


def child_floor(flight: Path, ref: Path, out: Path, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Decode every frame of ``flight`` and write every output of the run in ``ref``
    again into ``out`` (see the module); the reading of ``ref`` is not timed."""
    import process_floor as fp  # bench/process_floor.py, beside this script

    t_setup = time.perf_counter()
    plan = fp.FloorPlan.from_run(flight, ref, kinds)
    setup_s = time.perf_counter() - t_setup
    frames = fp.decode_all(plan)
    t_write = time.perf_counter()
    fp.write_all(plan, frames, out)
    end = time.perf_counter()
    return {"seconds": end - T_START - setup_s, "frames": plan.n_frames,
            "write_s": end - t_write, "setup_s": setup_s, "hwm_mb": status_mb("self", "VmHWM")}


# -- flights ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flight:
    """A flight to measure: ``name``, folder and the frame ``kinds`` to process."""

    name: str
    path: Path
    kinds: tuple[str, ...] = ("thermal", "rgb")

    def rgb_frames(self) -> list[str]:
        return sorted(str(p) for p in (self.path / "rgb").glob("*.jpg"))

    @property
    def n_frames(self) -> int:
        """Input frames of the processed kinds."""
        thermal = len(list((self.path / "thermal").glob("*"))) if "thermal" in self.kinds else 0
        return thermal + (len(self.rgb_frames()) if "rgb" in self.kinds else 0)


def sim_flight(cache: Path, frames: int, seed: int = 1) -> Flight:
    """The simulated flight in ``cache`` (made once: default cameras, no video)."""
    from dronepipe.sim import SimConfig, simulate

    path = cache / f"sim{frames}-seed{seed}"
    if not path.is_dir():
        print(f"simulating {frames} frame pairs into {path} (once) ...", flush=True)
        part = path.with_name(path.name + ".part")
        simulate(SimConfig(seed=seed, frames=frames, video_s=0.0), part)
        os.replace(part, path)
    return Flight(f"sim{frames}", path)


def stitching_python(cache: Path) -> Path:
    """The Python of the OpenStitching venv (created with ``pip install stitching``)."""
    venv = cache / "stitching-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating {venv} with OpenStitching (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "stitching"], check=True)
    return py


# -- one repetition ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """A table row: flight, what ran, repetition, input frames, the measurement."""

    flight: str
    what: str
    rep: int
    frames: int
    m: Measured
    floor_s: float | None = None
    stages: dict[str, float] = field(default_factory=dict)
    process_s: float | None = None  # process on threads, same flight and repetition


def run_pipeline(fl: Flight, out: Path, scheduler: str, extra_pids: Sequence[int] = (),
                 pythonpath: Path | None = None) -> Measured:
    _clean(out)
    return measure([sys.executable, __file__, "--child", "pipeline", str(fl.path), str(out),
                    scheduler, "--only", *fl.kinds], extra_pids=extra_pids,
                   env=None if pythonpath is None else {"PYTHONPATH": str(pythonpath)})


def run_floor(fl: Flight, ref: Path, out: Path) -> Measured:
    _clean(out)
    return measure([sys.executable, __file__, "--child", "floor", str(fl.path), str(ref), str(out),
                    "--only", *fl.kinds])


def run_stitching(fl: Flight, py: Path, out: Path, args: argparse.Namespace) -> Measured:
    _clean(out)
    return measure([str(py), "-c", STITCH_SCRIPT, *fl.rgb_frames(), str(out / "pano.jpg")],
                   timeout_s=args.stitching_timeout,
                   env={"BENCH_MEM_BYTES": str(int(args.stitching_mem_gb * 2**30))})


def _clean(out: Path) -> None:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)


def repetition(fl: Flight, rep: int, args: argparse.Namespace, cluster: Any,
               stitch_py: Path | None, skip_stitching: bool) -> list[Row]:
    """Every measurement of one flight, once."""
    work = args.cache / "out" / fl.name.replace("/", "-")
    n_frames = fl.n_frames
    rows = []
    m = run_pipeline(fl, work / "process-threads", "threads")
    rows.append(Row(fl.name, "process threads", rep, n_frames, m,
                    stages=(m.report or {}).get("stages", {})))
    floor = run_floor(fl, work / "process-threads", work / "floor") if m.report else None
    floor_s = floor.report["seconds"] if floor and floor.report else None
    if floor is not None:
        rows.append(Row(fl.name, "floor", rep, n_frames, floor))
    if args.baseline is not None:
        m = run_pipeline(fl, work / "process-baseline", "threads", pythonpath=args.baseline)
        rows.append(Row(fl.name, "process baseline", rep, n_frames, m,
                        stages=(m.report or {}).get("stages", {})))
    for sched in args.schedulers:
        if sched == "threads":
            continue
        address, pids = cluster if sched == "cluster" else (sched, ())
        if address is None:
            continue
        m = run_pipeline(fl, work / f"process-{sched}", address, pids)
        rows.append(Row(fl.name, f"process {sched}", rep, n_frames, m,
                        stages=(m.report or {}).get("stages", {})))
    if stitch_py is not None and not skip_stitching and "rgb" in fl.kinds:
        m = run_stitching(fl, stitch_py, work / "openstitching", args)
        rows.append(Row(fl.name, "openstitching (RGB)", rep, len(fl.rgb_frames()), m))
    process_s = rows[0].m.report["seconds"] if rows[0].m.report else None
    return [replace(r, floor_s=floor_s, process_s=process_s) for r in rows]


# -- the table -----------------------------------------------------------------------------------
def print_rows(rows: Sequence[Row]) -> None:
    print(f"{'flight':<7} {'what':<20} {'run':>3} {'frames':>6} {'seconds':>8} {'frames/s':>8} "
          f"{'cpu s':>7} {'peak MB':>7} {'tree MB':>7} {'x floor':>7}  note")
    for r in rows:
        secs = _seconds(r)
        fps = f"{r.frames / secs:8.2f}" if secs else f"{'-':>8}"
        ratio = f"{secs / r.floor_s:7.2f}" if secs and r.floor_s else f"{'-':>7}"
        print(f"{r.flight:<7} {r.what:<20} {r.rep:>3} {r.frames:>6} "
              f"{secs if secs else r.m.seconds:8.1f} {fps} {r.m.cpu_s:7.1f} {r.m.peak_mb:7.0f} "
              f"{r.m.tree_mb:7.0f} "
              f"{ratio}  {_note(r)}")


def _seconds(r: Row) -> float | None:
    return None if r.m.report is None else float(r.m.report["seconds"])


def _note(r: Row) -> str:
    rep = r.m.report
    if rep is None:
        return f"{r.m.status} after {r.m.seconds:.0f} s: {r.m.error}"
    if "used" in rep:
        note = f"used {rep['used']}/{rep['given']} frames, pano {rep['shape'][1]}x{rep['shape'][0]}"
        if r.process_s:
            note += f", {rep['seconds'] / r.process_s:.1f}x process threads"
        return note + (f"; warned: {rep['warnings'][0][:60]}" if rep["warnings"] else "")
    if "write_s" in rep:
        return f"of which writing {rep['write_s']:.1f} s"
    return f"{rep['placed']} placed, {rep['hotspots']} hotspots"


def print_stages(rows: Sequence[Row]) -> None:
    names = ["poses", "placement", "registration", "mosaics", "hotspots"]
    print(f"\nstages of process (seconds, from process.json timings_s; rest = imports, "
          f"products):\n{'flight':<7} {'what':<20} {'run':>3} "
          + " ".join(f"{n:>12}" for n in names) + f" {'rest':>8}")
    for r in rows:
        if not r.stages or r.m.report is None:
            continue
        rest = float(r.m.report["seconds"]) - sum(r.stages.values())
        print(f"{r.flight:<7} {r.what:<20} {r.rep:>3} "
              + " ".join(f"{r.stages.get(n, float('nan')):12.2f}" for n in names) + f" {rest:8.2f}")


# -- main ------------------------------------------------------------------------------------------
def start_cluster(wanted: bool) -> tuple[Any, tuple[str | None, list[int]]]:
    """A LocalCluster (2 single-threaded worker processes) and (its address, its pids)."""
    if not wanted:
        return None, (None, [])
    from distributed import LocalCluster

    before = set(_children_of().get(os.getpid(), []))
    cluster = LocalCluster(n_workers=min(2, os.cpu_count() or 1), threads_per_worker=1,
                           processes=True, dashboard_address=None)
    pids = [p for p in _children_of().get(os.getpid(), []) if p not in before]
    return cluster, (cluster.scheduler_address, pids)


def flights(args: argparse.Namespace) -> Iterator[Flight]:
    kinds = tuple(args.only)
    tag = "" if len(kinds) == 2 else f"/{kinds[0][0].upper()}"
    for name in args.flights:
        fl = Flight("demo", ROOT / "sample_data" / "demo") if name == "demo" \
            else sim_flight(args.cache, args.sim_frames)
        yield replace(fl, name=fl.name + tag, kinds=kinds)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flights", nargs="+", choices=["demo", "sim"], default=["demo", "sim"])
    ap.add_argument("--sim-frames", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dronepipe-bench")
    ap.add_argument("--schedulers", nargs="+", default=["threads"],
                    choices=["threads", "processes", "cluster"])
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a checkout of another commit (e.g. from git archive) whose process "
                         "runs beside this one, on threads")
    ap.add_argument("--no-stitching", action="store_true")
    ap.add_argument("--stitching-timeout", type=float, default=1200.0)
    ap.add_argument("--stitching-mem-gb", type=float, default=8.0)
    ap.add_argument("--only", nargs="+", choices=["thermal", "rgb"], default=["thermal", "rgb"],
                    help="frame kinds to process (the target row of DESIGN.md is thermal)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse()
    if args.child:
        kind, a, b, c = args.child
        kinds = tuple(args.only)
        report = child_pipeline(Path(a), Path(b), c, kinds) if kind == "pipeline" \
            else child_floor(Path(a), Path(b), Path(c), kinds)
        print(json.dumps(report))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    fls = list(flights(args))
    warm_bytecode()
    if args.baseline is not None:
        warm_bytecode(args.baseline)
    stitch_py = None if args.no_stitching else stitching_python(args.cache)
    cluster, address = start_cluster("cluster" in args.schedulers)
    rows: list[Row] = []
    try:
        for rep in range(1, args.repeat + 1):
            for fl in fls:
                skip = any(r.flight == fl.name and r.what.startswith("openstitching")
                           and r.m.status == "timed out" for r in rows)
                rows.extend(repetition(fl, rep, args, address, stitch_py, skip))
    finally:
        if cluster is not None:
            cluster.close()
    print_rows(rows)
    print_stages(rows)


if __name__ == "__main__":
    main()
