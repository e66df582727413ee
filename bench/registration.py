"""Registration throughput: feature extraction, matching and the solve, per frame, on
synthetic lawn-mower blocks of N 640x512 frames (rendered from a textured ground, saved
as files and decoded again, as a flight's files would be: float32 TIFF in degrees C for
``--kind thermal``, the default, grey PNG for ``--kind rgb``), and the solve alone on
thousands of frames. Each N runs in its own process so that its peak RSS is its own.

    python bench/registration.py                       # thermal, N = 50 and 300; solve 1000, 3000
    python bench/registration.py --n 50 300 1000 --solve 3000 10000
    python bench/registration.py --kind rgb --n 50 --solve

Prints, per N: keypoints per frame, pairs and ties, seconds per frame for extraction
(wall, inside the dask waves) and its CPU milliseconds per frame (every frame extracted
again, one after the other: the figure to compare on a shared machine), milliseconds per
pair for matching, the solve, seam median before/after (pixels) and the absolute
placement error before/after (metres RMS, against the true poses: independent 2 m GNSS
and 1 degree heading errors per frame, so the block's error averages down with N), and
peak RSS. Roughly linear in N is the target.

Measured on the shared 2-core machine (threads; heavily loaded by other jobs, load
average 15-25, so wall times are 3-5x an idle machine's; CPU is the comparable figure).
Before: SIFT 1500 keypoints on the full 640x512 frame, whatever the kind (commit a783fed);
after: thermal SIFT 800 on a 320 px working image (full size where under 400 are found):

    thermal  frames kp/fr     pairs    ties     extract   ext CPU       match   solve   total  seam px       abs m
    before       48   954  176/176    11261  0.550 s/fr 132 ms/fr   58.3 ms/p   1.91s   39.1s  33.1 -> 0.12  3.06 -> 0.48
    after        48   800  176/176    11252  0.377 s/fr  37 ms/fr   54.9 ms/p   1.29s   29.6s  33.1 -> 0.19  3.06 -> 0.48
    before      300  1033 1213/1213   77631  0.328 s/fr 126 ms/fr   31.0 ms/p   7.84s  146.6s 31.2 -> 0.11  2.90 -> 0.19
    after       300   800 1213/1213   77579  0.278 s/fr  41 ms/fr   52.6 ms/p  11.43s  163.5s 31.2 -> 0.17  2.90 -> 0.19
    rgb (640x512 grey; under RGB's 1000 px and 1000 keypoints, so unchanged)
    before       48   904  176/176    11264  0.400 s/fr 118 ms/fr   33.8 ms/p   1.26s   26.7s  33.2 -> 0.12  3.06 -> 0.48
    after        48   904  176/176    11264  0.583 s/fr 122 ms/fr   66.6 ms/p   1.65s   41.9s  33.2 -> 0.12  3.06 -> 0.48

On the idle machine (2026-12-06, with the exact grouped matching of ``nearest``):

    thermal  frames kp/fr     pairs    ties     extract   ext CPU       match   solve   total  seam px       abs m   RSS MB
                 48   800  176/176    11252  0.024 s/fr  33 ms/fr    3.6 ms/p   0.12s    1.9s  33.1 -> 0.19  3.06 -> 0.48  288
                300   800 1213/1213   77579  0.019 s/fr  33 ms/fr    3.6 ms/p   0.85s   11.2s  31.2 -> 0.17  2.90 -> 0.19  664
    solve only: 1000 frames (61,952 ties) 0.35 s, 162 MB; 3000 frames (188,480) 1.39 s, 260 MB

Thermal frames tied by guided optical flow (``stitching.flow``, the default since
2026-12-07) against SIFT features, side by side in one run (``--ties flow features``;
the machine slowed by its neighbours, so compare CPU; "kp/fr" is corners for flow; a
block tied by flow keeps 6 partners a frame, not 8):

    tied by frames kp/fr     pairs    ties     extract     ext CPU       match   solve   total    cpu       seam px        abs m  RSS MB
       flow     48   400  156/156     9352  0.004 s/fr   1.5 ms/fr    6.8 ms/p   0.09s    1.1s   1.6s  33.2 -> 0.14 3.06 -> 0.48     252
   features     48   800  176/176    11252  0.043 s/fr  45.4 ms/fr    5.8 ms/p   0.12s    2.0s   3.3s  33.1 -> 0.19 3.06 -> 0.48     291
       flow    300   400  982/985    60050  0.003 s/fr   1.7 ms/fr    5.8 ms/p   0.64s    5.1s   7.9s  31.5 -> 0.15 2.90 -> 0.19     627
   features    300   800 1213/1213   77579  0.039 s/fr  35.3 ms/fr    4.2 ms/p   0.87s   10.3s  17.6s  31.2 -> 0.17 2.90 -> 0.19     655

Flow leaves 3 of 985 pairs untied, pairs that overlap little (about a quarter of the
footprint) and that SIFT ties; every frame stays placed. (Before the phase
correlation's shift was judged per axis, 8 of 985.)

Half-size thermal keypoints cost a little seam (0.11-0.12 -> 0.17-0.19 native pixels, a
working pixel being two) and nothing in placement. Earlier, on a quieter machine (before
per-kind settings): 48 frames 904 kp/fr 0.063 s/fr extract, 6.0 ms/pair, solve 0.09 s,
total 4.2 s; 300 frames 0.059 s/fr, 6.5 ms/pair, 0.42 s, 26.2 s; solve only: 1000 frames
0.34 s, 3000 frames 2.8 s, 10000 frames (634k ties) 10 s, 1 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dronepipe.stitching.adjust import Ties, solve  # noqa: E402
from dronepipe.stitching.camera import CameraModel  # noqa: E402
from dronepipe.stitching.features import extract_features  # noqa: E402
from dronepipe.stitching.flow import frame_image  # noqa: E402
from dronepipe.stitching.geoframe import GeoFrame  # noqa: E402
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust  # noqa: E402
from tests.stitching import regsynth  # noqa: E402

CAM = CameraModel.from_fov("bench-640", 640, 512, 45.0)
ALT, STEP = 80.0, (40.0, 20.0)  # 40 % side and 62 % forward overlap at 80 m


class FileLoader:
    """Frames from files in a folder: grey PNG (uint8) for RGB, float32 TIFF (degrees C)
    for thermal."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder = folder
        self.suffix = ".tif" if kind == "thermal" else ".png"

    def __call__(self, frame_id: str) -> np.ndarray:
        return cv2.imread(str(self.folder / f"{frame_id}{self.suffix}"), cv2.IMREAD_UNCHANGED)


def frame_file(pixels: np.ndarray, kind: str) -> np.ndarray:
    """What a frame's file holds: temperatures 10..40 C (thermal) or the grey levels."""
    if kind == "thermal":
        return (10.0 + pixels * (30.0 / 255.0)).astype(np.float32)
    return np.asarray(pixels[..., 0])


def block_shape(n: int) -> tuple[int, int]:
    """(frames per line, lines) for about ``n`` frames, lines about 1.5x longer than wide."""
    cols = max(1, round(math.sqrt(n * STEP[1] / STEP[0] / 1.5)))
    return max(2, round(n / cols)), cols


def config_for(ties: str) -> RegistrationConfig:
    """Registration's defaults, thermal frames tied by ``"flow"`` or by ``"features"``."""
    return RegistrationConfig() if ties == "flow" else replace(RegistrationConfig(), flow=None)


def one(n: int, kind: str = "thermal", ties: str = "flow") -> dict[str, float]:
    rows, cols = block_shape(n)
    t0 = time.perf_counter()
    ground = regsynth.texture(regsynth.extent_for(rows, cols, STEP, 60.0), cell_m=0.15,
                              seed=3, shapes=rows * cols * 60, scales=(2, 6, 24, 96))
    shots = regsynth.block_shots(rows, cols, STEP, ALT, seed=4, pos_m=2.0, yaw_deg=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth, reported = [], []
        for s in shots:
            sc = regsynth.scene([s], CAM, ground, kind=kind)
            loader = FileLoader(folder, kind)
            cv2.imwrite(str(folder / f"{s.frame_id}{loader.suffix}"),
                        frame_file(sc.loader.frames[s.frame_id], kind))
            truth.append(sc.truth[0])
            reported.append(sc.reported[0])
        render_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        out, rep = register_and_adjust(reported, FileLoader(folder, kind), config_for(ties))
        total_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        ext_cpu_s = extract_cpu_s(reported, FileLoader(folder, kind), rep.tied_by)
    err = {k: float(np.sqrt(np.mean(np.concatenate(
        [regsynth.placement_error_m(t, g) for t, g in zip(truth, gl, strict=True)]) ** 2)))
        for k, gl in (("before", reported), ("after", out))}
    return {"n": len(shots), "tied_by": rep.tied_by, "keypoints": rep.keypoints_median,
            "pairs": rep.pairs_accepted,
            "pairs_tried": rep.pairs_tried,
            "ties": rep.tie_points, "render_s": render_s, "total_s": total_s, "cpu_s": cpu_s,
            "extract_cpu_ms_per_frame": 1000 * ext_cpu_s / len(shots),
            "extract_s_per_frame": rep.extract_s / len(shots),
            "match_ms_per_pair": 1000 * rep.match_s / max(1, rep.pairs_tried),
            "solve_s": rep.solve_s, "seam_before_px": rep.seam_median_before_px,
            "seam_after_px": rep.seam_median_after_px, "abs_before_m": err["before"],
            "abs_after_m": err["after"], "unplaced": len(rep.unplaced),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def extract_cpu_s(gfs: list[GeoFrame], load: FileLoader, tied_by: str) -> float:
    """CPU seconds of preparing every frame again, one after the other (its features,
    or its flow image where the block was ``tied_by`` flow; decoding not counted): what
    registration's extraction costs without the scheduler and the other processes on
    a shared machine."""
    pixels = [load(g.frame_id) for g in gfs]
    cfg = RegistrationConfig()
    t0 = time.process_time()
    for g, p in zip(gfs, pixels, strict=True):
        if tied_by == "flow" and cfg.flow is not None:
            frame_image(g, p, cfg.flow)
        else:
            extract_features(g, p, cfg.features)
    return time.process_time() - t0


def solve_only(n: int, per_pair: int = 32) -> dict[str, float]:
    """The adjustment alone on an n-frame grid with 4 neighbours each (ties made up)."""
    rng = np.random.default_rng(0)
    side = int(math.ceil(math.sqrt(n)))
    centres = np.array([[c * 40.0, r * 20.0] for c in range(side) for r in range(side)])[:n]
    a, b = [], []
    for k in range(n):
        for d in (1, side):
            if k + d < n and (d == side or (k + 1) % side):
                a.append(k)
                b.append(k + d)
    a_arr, b_arr = np.repeat(a, per_pair), np.repeat(b, per_pair)
    g = (centres[a_arr] + centres[b_arr]) / 2 + rng.uniform(-10, 10, (len(a_arr), 2))
    shift = rng.normal(0, 2.0, (n, 2))
    ties = Ties(a_arr, b_arr, g - shift[a_arr], g - shift[b_arr], np.full(len(a_arr), 0.05),
                np.zeros(len(a_arr), np.int64))
    sig = np.tile([2.0, 2.0, math.radians(2.0), 0.02], (n, 1))
    t0 = time.perf_counter()
    sol = solve(centres, ties, np.zeros((n, 4)), sig, np.zeros((n, 4)), np.ones(n, bool),
                bias_sigma=(math.radians(3.0), 0.03))
    return {"n": n, "ties": len(ties), "solve_s": time.perf_counter() - t0,
            "iterations": sol.iterations,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_row(r: dict[str, float]) -> None:
    """One N's row (see module)."""
    print(f"{r['tied_by']:>8} {r['n']:6.0f} {r['keypoints']:5.0f} "
          f"{r['pairs']:4.0f}/{r['pairs_tried']:<4.0f} {r['ties']:7.0f} "
          f"{r['extract_s_per_frame']:6.3f} s/fr {r['extract_cpu_ms_per_frame']:5.1f} ms/fr "
          f"{r['match_ms_per_pair']:6.1f} ms/p {r['solve_s']:6.2f}s {r['total_s']:6.1f}s "
          f"{r['cpu_s']:5.1f}s {r['seam_before_px']:5.1f} -> {r['seam_after_px']:4.2f} "
          f"{r['abs_before_m']:4.2f} -> {r['abs_after_m']:4.2f} {r['peak_rss_mb']:7.0f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="*", default=[50, 300])
    p.add_argument("--solve", type=int, nargs="*", default=[1000, 3000])
    p.add_argument("--kind", choices=["thermal", "rgb"], default="thermal",
                   help="frame kind (its feature settings): float32 TIFF or grey PNG files")
    p.add_argument("--ties", nargs="+", choices=["flow", "features"], default=["flow", "features"],
                   help="what ties thermal frames (RGB always by features), side by side")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--solve-one", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.kind, a.ties[0])))
        return
    if a.solve_one:
        print(json.dumps(solve_only(a.solve_one)))
        return
    print(f"{a.kind} frames")
    print(f"{'tied by':>8} {'frames':>6} {'kp/fr':>5} {'pairs':>9} {'ties':>7} {'extract':>11} "
          f"{'ext CPU':>11} {'match':>11} {'solve':>7} {'total':>7} {'cpu':>6} {'seam px':>13} "
          f"{'abs m':>12} {'RSS MB':>7}")
    methods = a.ties if a.kind == "thermal" else ["features"]
    for n in a.n:
        for method in methods:
            r = run_child(["--one", str(n), "--kind", a.kind, "--ties", method])
            print_row(r)
    print("\nsolve only (4 neighbours per frame, 32 ties per pair):")
    for n in a.solve:
        r = run_child(["--solve-one", str(n)])
        print(f"  {r['n']:6.0f} frames {r['ties']:8.0f} ties: {r['solve_s']:6.2f} s "
              f"({1000 * r['solve_s'] / r['n']:.2f} ms/frame, {r['iterations']:.0f} iterations), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
