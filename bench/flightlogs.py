"""Flight-log reading speed: dronepipe's readers against a plain pymavlink pass.

For every real log in ../shared/realdata/mavlink and for two larger files made from
them (a DataFlash log and a tlog concatenated N times, in a temporary folder), prints
MB/s for

- ours: ``read_telemetry`` (everything: parse, clock, tracks, events), best of R runs;
- pymavlink: ``mavutil.mavlink_connection(path)`` (``DFReader_binary`` for .bin, with
  its C indexer) and ``recv_match()`` until the end, every message, best of R runs;

and the ratio. The target (DESIGN.md) is at least 5x for DataFlash.

    python bench/flightlogs.py [--repeat 3] [--copies 20] [--skip-pymavlink-big]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "mavlink"

_PYMAVLINK_PASS = """
import os, sys, time
os.environ.setdefault("MAVLINK20", "1")
from pymavlink import mavutil
path = sys.argv[1]
t = time.perf_counter()
conn = mavutil.mavlink_connection(path, dialect="ardupilotmega")
n = 0
while conn.recv_match() is not None:
    n += 1
print(time.perf_counter() - t, n)
"""


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    """Shortest wall time of ``repeat`` calls (s)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def ours(path: Path) -> None:
    """One full read with dronepipe."""
    from dronepipe.flightlogs import read_telemetry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_telemetry(path)


def pymavlink_pass(path: Path, repeat: int) -> tuple[float, int]:
    """Best time (s) and message count of a plain pymavlink pass, each in a fresh process
    (mavutil keeps global state; a fresh process is also how a user would meet it)."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _PYMAVLINK_PASS, str(path)], check=True,
                             capture_output=True, text=True).stdout.split()
        best, count = min(best, float(out[0])), int(out[1])
    return best, count


def make_big(src: Path, copies: int, folder: Path) -> Path:
    """``src`` repeated ``copies`` times (several logs in one file, as after a copy-append)."""
    data = src.read_bytes()
    out = folder / f"{src.stem}_x{copies}{src.suffix}"
    with out.open("wb") as fh:
        for _ in range(copies):
            fh.write(data)
    return out


def row(path: Path, repeat: int, pymav: bool) -> None:
    """Print one line of figures for a file."""
    mb = path.stat().st_size / 1e6
    t_ours = best_of(repeat, lambda: ours(path))
    if pymav:
        t_py, n = pymavlink_pass(path, repeat)
        print(f"{path.name:<34} {mb:8.1f} {mb / t_ours:10.1f} {mb / t_py:10.1f} {t_py / t_ours:8.1f}x"
              f" {n:>10}")
    else:
        print(f"{path.name:<34} {mb:8.1f} {mb / t_ours:10.1f} {'-':>10} {'-':>9} {'-':>10}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copies", type=int, default=20, help="concatenations for the big files")
    ap.add_argument("--skip-pymavlink-big", action="store_true")
    args = ap.parse_args()
    logs = sorted(REALDATA.glob("*/*.bin")) + sorted(REALDATA.glob("*/*.tlog"))
    if not logs:
        sys.exit(f"no logs under {REALDATA}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; best of {args.repeat}")
    print(f"{'file':<34} {'MB':>8} {'ours MB/s':>10} {'pymav MB/s':>10} {'ratio':>9} {'messages':>10}")
    for path in logs:
        row(path, args.repeat, True)
    with tempfile.TemporaryDirectory() as tmp:
        for src in (REALDATA / "dronekit_la_testdata" / "log171.bin",
                    REALDATA / "brunoolivieri_brasilia_2021" / "2021-12-08-14-59-44.tlog"):
            if src.exists():
                row(make_big(src, args.copies, Path(tmp)), args.repeat, not args.skip_pymavlink_big)


if __name__ == "__main__":
    main()
