"""Registration throughput: feature extraction, matching and the solve, per frame, on
synthetic lawn-mower blocks of N 640x512 frames (rendered from a textured ground, saved
as PNG and decoded again, as a flight's files would be), and the solve alone on
thousands of frames. Each N runs in its own process so that its peak RSS is its own.

    python bench/registration.py                       # N = 50 and 300; solve 1000, 3000
    python bench/registration.py --n 50 300 1000 --solve 3000 10000

Prints, per N: keypoints per frame, pairs and ties, seconds per frame for extraction,
milliseconds per pair for matching, the solve, seam median before/after (pixels) and the
absolute placement error before/after (metres RMS, against the true poses: independent
2 m GNSS and 1 degree heading errors per frame, so the block's error averages down with
N), and peak RSS. Roughly linear in N is the target.

Measured on the shared 2-core machine (threads):

    frames kp/fr     pairs    ties     extract       match   solve   total  seam px       abs m
        48   904  176/176    11264  0.063 s/fr    6.0 ms/p   0.09s    4.2s  33.2 -> 0.12  3.06 -> 0.38
       300   997 1213/1213   77627  0.059 s/fr    6.5 ms/p   0.42s   26.2s  31.2 -> 0.11  2.90 -> 0.12
    solve only: 1000 frames 0.34 s, 3000 frames 2.8 s, 10000 frames (634k ties) 10 s, 1 GB
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
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dronepipe.stitching.adjust import Ties, solve  # noqa: E402
from dronepipe.stitching.camera import CameraModel  # noqa: E402
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust  # noqa: E402
from tests.stitching import regsynth  # noqa: E402

CAM = CameraModel.from_fov("bench-640", 640, 512, 45.0)
ALT, STEP = 80.0, (40.0, 20.0)  # 40 % side and 62 % forward overlap at 80 m


class PngLoader:
    """Frames from PNG files in a folder (grey, as uint8)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, frame_id: str) -> np.ndarray:
        return cv2.imread(str(self.folder / f"{frame_id}.png"), cv2.IMREAD_GRAYSCALE)


def block_shape(n: int) -> tuple[int, int]:
    """(frames per line, lines) for about ``n`` frames, lines about 1.5x longer than wide."""
    cols = max(1, round(math.sqrt(n * STEP[1] / STEP[0] / 1.5)))
    return max(2, round(n / cols)), cols


def one(n: int) -> dict[str, float]:
    rows, cols = block_shape(n)
    t0 = time.perf_counter()
    ground = regsynth.texture(regsynth.extent_for(rows, cols, STEP, 60.0), cell_m=0.15,
                              seed=3, shapes=rows * cols * 60, scales=(2, 6, 24, 96))
    shots = regsynth.block_shots(rows, cols, STEP, ALT, seed=4, pos_m=2.0, yaw_deg=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth, reported = [], []
        for s in shots:
            sc = regsynth.scene([s], CAM, ground)
            cv2.imwrite(str(folder / f"{s.frame_id}.png"), sc.loader.frames[s.frame_id][..., 0])
            truth.append(sc.truth[0])
            reported.append(sc.reported[0])
        render_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        out, rep = register_and_adjust(reported, PngLoader(folder), RegistrationConfig())
        total_s = time.perf_counter() - t0
    err = {k: float(np.sqrt(np.mean(np.concatenate(
        [regsynth.placement_error_m(t, g) for t, g in zip(truth, gl, strict=True)]) ** 2)))
        for k, gl in (("before", reported), ("after", out))}
    return {"n": len(shots), "keypoints": rep.keypoints_median, "pairs": rep.pairs_accepted,
            "pairs_tried": rep.pairs_tried,
            "ties": rep.tie_points, "render_s": render_s, "total_s": total_s,
            "extract_s_per_frame": rep.extract_s / len(shots),
            "match_ms_per_pair": 1000 * rep.match_s / max(1, rep.pairs_tried),
            "solve_s": rep.solve_s, "seam_before_px": rep.seam_median_before_px,
            "seam_after_px": rep.seam_median_after_px, "abs_before_m": err["before"],
            "abs_after_m": err["after"], "unplaced": len(rep.unplaced),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="*", default=[50, 300])
    p.add_argument("--solve", type=int, nargs="*", default=[1000, 3000])
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--solve-one", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(one(a.one)))
        return
    if a.solve_one:
        print(json.dumps(solve_only(a.solve_one)))
        return
    print(f"{'frames':>6} {'kp/fr':>5} {'pairs':>9} {'ties':>7} {'extract':>11} {'match':>11} {'solve':>7} "
          f"{'total':>7} {'seam px':>13} {'abs m':>12} {'RSS MB':>7}")
    for n in a.n:
        r = run_child(["--one", str(n)])
        print(f"{r['n']:6.0f} {r['keypoints']:5.0f} {r['pairs']:4.0f}/{r['pairs_tried']:<4.0f} "
              f"{r['ties']:7.0f} "
              f"{r['extract_s_per_frame']:6.3f} s/fr {r['match_ms_per_pair']:6.1f} ms/p "
              f"{r['solve_s']:6.2f}s {r['total_s']:6.1f}s {r['seam_before_px']:5.1f} -> "
              f"{r['seam_after_px']:4.2f} {r['abs_before_m']:4.2f} -> {r['abs_after_m']:4.2f} "
              f"{r['peak_rss_mb']:7.0f}")
    print("\nsolve only (4 neighbours per frame, 32 ties per pair):")
    for n in a.solve:
        r = run_child(["--solve-one", str(n)])
        print(f"  {r['n']:6.0f} frames {r['ties']:8.0f} ties: {r['solve_s']:6.2f} s "
              f"({1000 * r['solve_s'] / r['n']:.2f} ms/frame, {r['iterations']:.0f} iterations), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
