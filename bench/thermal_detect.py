"""Hotspot detection and tracking speed on 640x512 thermal frames, and on a mosaic.

Prints milliseconds per frame (median and 95th percentile) of ``detect_hotspots`` on
synthetic frames (textured 5-35 C ground, 50 mK noise) at three ground sample
distances, empty and with objects; of ``HotspotTracker.update`` per frame; of the
whole per-frame path (detect + track) the live mode runs; and the throughput of
``detect_in_mosaic`` on a synthetic orthomosaic GeoTIFF. Real radiometric frames from
../shared/realdata/thermal are timed too where their decoder is installed.

    python bench/thermal_detect.py               # about 20 s
    python bench/thermal_detect.py --frames 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the synthetic scenes live with the tests

from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.ortho import detect_in_mosaic
from dronepipe.thermal.track import HotspotTracker, affine_pixel_to_map
from tests.thermal.scenes import add_disc, add_noise, background

SHAPE = (512, 640)
REALDATA = ROOT.parent / "shared" / "realdata" / "thermal"


def frames(n: int, gsd_m: float, n_objects: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` synthetic frames with ``n_objects`` hot or warm discs each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = background(SHAPE, gsd_m, rng)
        for _ in range(n_objects):
            c = (rng.uniform(20, SHAPE[1] - 20), rng.uniform(20, SHAPE[0] - 20))
            t = add_disc(t, c, rng.uniform(0.25, 2.0), float(rng.choice([45.0, 80.0, 400.0])), gsd_m)
        out.append(add_noise(t, rng))
    return out


def timed(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """Median and 95th percentile milliseconds of ``fn(i)`` for i in range(n)."""
    fn(0)
    ms = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        ms.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(ms)), float(np.percentile(ms, 95))


def bench_frames(n: int) -> None:
    print(f"detect_hotspots, 640x512 float32 frames ({n} per row)")
    print(f"{'GSD m':>6} {'objects':>8} {'detections':>11} {'p50 ms':>8} {'p95 ms':>8}")
    for gsd in (0.05, 0.1, 0.2):
        for k in (0, 5, 30):
            fr = frames(n, gsd, k, seed=k)
            counts = [len(detect_hotspots(f, gsd)) for f in fr[:5]]
            p50, p95 = timed(lambda i, fr=fr, gsd=gsd: detect_hotspots(fr[i], gsd), n)
            print(f"{gsd:>6.2f} {k:>8d} {np.mean(counts):>11.1f} {p50:>8.2f} {p95:>8.2f}")


def bench_live_path(n: int) -> None:
    """Detect + track per frame: a drone flying east at 2 m per frame over 40 objects."""
    gsd, rng = 0.1, np.random.default_rng(5)
    objs = [(rng.uniform(0, 2 * n + 64), rng.uniform(-51, 0)) for _ in range(40)]
    fr, maps = [], []
    for i in range(n):
        t = background(SHAPE, gsd, rng)
        for e, nn in objs:
            u, v = (e - 2.0 * i) / gsd, -nn / gsd
            if 0 <= u < SHAPE[1] and 0 <= v < SHAPE[0]:
                t = add_disc(t, (u, v), 0.5, 90.0, gsd)
        fr.append(add_noise(t, rng))
        err = rng.normal(0, 1.0, 2)
        maps.append(affine_pixel_to_map(Affine(gsd, 0, 2.0 * i + err[0], 0, -gsd, err[1])))
    dets = [detect_hotspots(f, gsd) for f in fr]
    tracker = HotspotTracker(32632)
    p50, p95 = timed(lambda i: tracker.update(i, float(i), dets[i], maps[i], gsd, 1.0), n)
    print(f"\nHotspotTracker.update: {np.mean([len(d) for d in dets]):.1f} detections per frame, "
          f"{len(tracker)} hotspots at the end: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    tracker = HotspotTracker(32632)
    p50, p95 = timed(lambda i: tracker.update(i, float(i), detect_hotspots(fr[i], gsd), maps[i],
                                              gsd, 1.0), n)
    print(f"detect + track per frame (the live path): p50 {p50:.2f} ms, p95 {p95:.2f} ms "
          f"(budget at 30 fps: 33 ms)")


def bench_mosaic(side: int = 4096) -> None:
    gsd, rng = 0.1, np.random.default_rng(7)
    t = background((side, side), gsd, rng)
    for _ in range(100):
        t = add_disc(t, (rng.uniform(20, side - 20), rng.uniform(20, side - 20)), 0.5, 90.0, gsd)
    t = add_noise(t, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ortho.tif"
        with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=1,
                           dtype="float32", crs="EPSG:32632", tiled=True, blockxsize=512,
                           blockysize=512, transform=Affine(gsd, 0, 5e5, 0, -gsd, 5.4e6)) as dst:
            dst.write(t, 1)
        t0 = time.perf_counter()
        m = detect_in_mosaic(path)
        dt = time.perf_counter() - t0
    print(f"\ndetect_in_mosaic {side}x{side} ({side * side / 1e6:.1f} Mpx, {m.n_tiles} tiles): "
          f"{dt:.2f} s, {side * side / 1e6 / dt:.1f} Mpx/s, {len(m.hotspots)} hotspots of 100")


def bench_real() -> None:
    try:
        from dronepipe.thermal import decode_thermal
    except ImportError:
        return
    files = sorted(REALDATA.glob("dji_rjpeg/**/*.JPG")) + sorted(REALDATA.glob("flir_rjpeg/*.jpg"))
    if not files:
        return
    print("\nreal frames (decoded, GSD assumed 0.1 m):")
    for f in files:
        try:
            img = decode_thermal(f)
        except Exception as exc:  # noqa: BLE001 - a bench reports and goes on
            print(f"  {f.relative_to(REALDATA)}: not decoded ({type(exc).__name__})")
            continue
        p50, _ = timed(lambda i, img=img: detect_hotspots(img.celsius, 0.1, img.radiometric), 20)
        dets = detect_hotspots(img.celsius, 0.1, img.radiometric)
        kinds = ", ".join(f"{d.kind.value} {d.max_c:.0f}C" for d in dets[:6])
        print(f"  {f.relative_to(REALDATA)!s:<28} {img.shape[1]}x{img.shape[0]} "
              f"{p50:6.2f} ms  {len(dets)} detections  {kinds}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60, help="frames per timing row")
    args = ap.parse_args()
    bench_frames(args.frames)
    bench_live_path(args.frames)
    bench_mosaic()
    bench_real()


if __name__ == "__main__":
    main()
