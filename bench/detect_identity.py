"""Are this tree's hotspot detections those of another revision, field for field?

For speed work on ``dronepipe.thermal.detect``: the other revision's detect, background
and measure modules (``git show REV:...``) are loaded as a separate package next to
this tree's, and both run on the same frames: the simulated flight's thermal frames
where a bench flight exists (``--sim``, default /tmp/dronepipe-bench/sim300-seed1, at
three GSDs, radiometric and relative, and with a low-threshold config), the synthetic
scenes of bench/thermal_detect.py and random scenes around the class thresholds (with
NaN patches, flat and all-NaN frames). Every Detection field is compared exactly
(arrays bit for bit); the CPU time of both is summed alongside.

    python bench/detect_identity.py                 # against main, about 3 min
    python bench/detect_identity.py --rev HEAD~3 --quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.thermal_detect import frames as bench_frames  # noqa: E402
from dronepipe.thermal.detect import detect_hotspots  # noqa: E402
from dronepipe.thermal.detection import Detection, DetectionConfig  # noqa: E402
from tests.thermal.scenes import add_disc, add_noise, background  # noqa: E402

MODULES = ("detect", "background", "measure")
FIELDS = ("kind", "centroid_px", "contour_px", "max_c", "mean_c", "background_c", "contrast_c",
          "area_m2", "n_pixels", "touches_border", "radiometric", "patch_c", "unresolved")
Case = tuple[str, np.ndarray, float, bool, DetectionConfig]


def load_revision(rev: str, into: Path) -> Callable[..., list[Detection]]:
    """``detect_hotspots`` of revision ``rev``, as package ``refdetect`` under ``into``."""
    pkg = into / "refdetect"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for m in MODULES:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:dronepipe/thermal/{m}.py"],
                             check=True, capture_output=True, text=True).stdout
        for other in MODULES:
            src = src.replace(f"dronepipe.thermal.{other} ", f"refdetect.{other} ")
        (pkg / f"{m}.py").write_text(src)
    sys.path.insert(0, str(into))
    from refdetect.detect import detect_hotspots as ref  # type: ignore[import-not-found]
    return ref  # type: ignore[no-any-return]


def differs(a: list[Detection], b: list[Detection]) -> str | None:
    """None if both lists hold the same detections (exact; NaN equals NaN)."""
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} detections"
    for i, (x, y) in enumerate(zip(a, b)):
        for f in FIELDS:
            u, v = getattr(x, f), getattr(y, f)
            if isinstance(u, (np.ndarray, tuple)):
                u, v = np.asarray(u), np.asarray(v)
                if u.dtype != v.dtype or not np.array_equal(u, v, equal_nan=True):
                    return f"detection {i}: {f}"
            elif not (u == v or (isinstance(u, float) and np.isnan(u) and np.isnan(v))):
                return f"detection {i}: {f} {u!r} vs {v!r}"
    return None


def sim_cases(folder: Path, step: int) -> Iterator[Case]:
    from dronepipe.thermal import DecodeOptions, decode_thermal
    files = sorted(folder.glob("thermal/*.tiff"))
    low = DetectionConfig(ember_c=30.0, fire_c=60.0, anomaly_min_c=20.0, context_min_delta_c=1.0)
    for i, f in enumerate(files[::step]):
        t = decode_thermal(f, DecodeOptions()).celsius
        yield f"{f.name}@0.09", t, 0.09, True, DetectionConfig()
        if i % 5 == 0:
            yield f"{f.name}@0.05", t, 0.05, True, DetectionConfig()
            yield f"{f.name}@0.2", t, 0.2, True, DetectionConfig()
            yield f"{f.name} relative", t, 0.09, False, DetectionConfig()
            yield f"{f.name} low thresholds", t, 0.09, True, low


def stress_cases(n: int, seed: int = 11) -> Iterator[Case]:
    """Random scenes with objects around the class thresholds, NaN patches, flat frames."""
    rng = np.random.default_rng(seed)
    temps = [31, 34, 37.9, 38.1, 39.9, 40.1, 45, 57.9, 58.0, 58.1, 62, 100, 147.9, 148.1, 400]
    for i in range(n):
        gsd = float(rng.choice([0.03, 0.05, 0.09, 0.15, 0.3, 0.6]))
        t = background((512, 640), gsd, rng, lo_c=rng.uniform(-5, 30), hi_c=rng.uniform(30, 55),
                       texture_c=rng.uniform(0.1, 3))
        for _ in range(int(rng.integers(0, 6))):
            c = (rng.uniform(1, 639), rng.uniform(1, 511))
            t = add_disc(t, c, rng.uniform(0.05, 2.0), float(rng.choice(temps)), gsd)
        t = add_noise(t, rng, float(rng.choice([0.0, 0.02, 0.05, 0.2])))
        if rng.random() < 0.2:
            r0, c0 = rng.integers(0, 400), rng.integers(0, 500)
            t[r0:r0 + rng.integers(1, 200), c0:c0 + rng.integers(1, 200)] = np.nan
        if rng.random() < 0.05:
            t[:] = np.nan
        elif rng.random() < 0.05:
            t[:] = np.float32(rng.uniform(0, 70))
        yield f"stress {i}", t, gsd, bool(rng.random() > 0.15), DetectionConfig()


def cases(sim: Path, quick: bool) -> Iterator[Case]:
    if sim.is_dir():
        yield from sim_cases(sim, 3 if quick else 1)
    for gsd in (0.05, 0.1, 0.2):
        for k in (0, 5, 30):
            for j, f in enumerate(bench_frames(8 if quick else 20, gsd, k, seed=k)):
                yield f"bench {gsd} {k} objects #{j}", f, gsd, True, DetectionConfig()
    yield from stress_cases(40 if quick else 200)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="main", help="revision to compare with")
    ap.add_argument("--sim", type=Path, default=Path("/tmp/dronepipe-bench/sim300-seed1"))
    ap.add_argument("--quick", action="store_true", help="a third of the frames")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref = load_revision(args.rev, Path(tmp))
        n = bad = found = 0
        cpu = [0.0, 0.0]
        for name, t, gsd, rad, cfg in cases(args.sim, args.quick):
            t0 = time.process_time()
            a = ref(t, gsd, rad, cfg)
            t1 = time.process_time()
            b = detect_hotspots(t, gsd, rad, cfg)
            cpu[0] += t1 - t0
            cpu[1] += time.process_time() - t1
            n, found = n + 1, found + len(a)
            why = differs(a, b)
            if why:
                bad += 1
                print(f"DIFFERS {name}: {why}")
    print(f"{n} frames, {found} detections, {bad} frames differ; CPU {args.rev} {cpu[0]:.2f} s, "
          f"this tree {cpu[1]:.2f} s")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
