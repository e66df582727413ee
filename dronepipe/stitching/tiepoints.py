"""Tie points over a block: features extracted and pairs matched in waves, on dask.

Frames are taken in input (flight) order in waves of ``wave_frames``: a wave extracts
the features of its frames (one dask task each, loading the pixels on the worker, so
only keypoints travel), then matches every pair whose later frame is in the wave (one
task per pair), then forgets the features of frames whose pairs are all done. Features
stay in memory only from a frame's first pair to its last (about two flight lines in a
lawn-mower pattern), so memory does not grow with the flight. A frame whose pixels
cannot be read is reported with the reason, and its pairs are refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
from numpy.typing import NDArray

from dronepipe.errors import DronepipeError
from dronepipe.stitching.batch import dask_scheduler, opaque_task
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.features import AnyFeatures, FrameFeatures, extract_features
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.match import Gate, MatchConfig, PairMatch, match_pair
from dronepipe.stitching.pairs import Pair

F64 = NDArray[np.float64]
Loader = Callable[[str], np.ndarray]
Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairResult:
    """One pair's match and its tie points: raw ground points ``raw_a``/``raw_b`` (T, 2
    metres), frame pixels ``uv_a``/``uv_b`` (T, 2) and the ties' ``sigma_m``."""

    pair: Pair
    match: PairMatch
    raw_a: F64 = field(repr=False)
    raw_b: F64 = field(repr=False)
    uv_a: F64 = field(repr=False)
    uv_b: F64 = field(repr=False)
    sigma_m: float


@dataclass(frozen=True)
class TieCollection:
    """Every pair's result, frames that could not be read (id -> reason), keypoints per
    frame, and wall time (seconds) spent extracting and matching."""

    results: list[PairResult]
    unreadable: dict[str, str]
    keypoints: dict[str, int]
    extract_s: float
    match_s: float


def pair_result(pair: Pair, fa: FrameFeatures, fb: FrameFeatures, corr_a: Correction2D,
                corr_b: Correction2D, gate: Gate, config: MatchConfig) -> PairResult:
    """Match one pair and gather its tie points."""
    m = match_pair(fa, fb, corr_a, corr_b, gate, config)
    sigma = config.tie_sigma_px * max(fa.work_gsd_m, fb.work_gsd_m)
    return PairResult(pair, m, fa.raw_m[m.idx_a], fb.raw_m[m.idx_b], fa.uv_px[m.idx_a],
                      fb.uv_px[m.idx_b], sigma)


def safe_extract(gf: GeoFrame, load: Loader, config: AnyFeatures) -> FrameFeatures | str:
    """A frame's features (settings by its kind, with ``KindFeatures``), or the reason
    (text) its pixels could not be used."""
    try:
        return extract_features(gf, load(gf.frame_id), config)
    except (OSError, ValueError, DronepipeError) as exc:
        return f"{type(exc).__name__}: {exc}"


def collect_ties(geoframes: Sequence[GeoFrame], pairs: Sequence[Pair], load: Loader,
                 gates: Sequence[Gate], features: AnyFeatures, match: MatchConfig,
                 scheduler: Any = "threads", wave_frames: int = 16,
                 progress: Progress | None = None) -> TieCollection:
    """Extract and match in waves (see module). ``gates[k]`` belongs to ``pairs[k]``."""
    order = sorted(range(len(pairs)), key=lambda k: (pairs[k].j, pairs[k].i))
    last = {}
    for k in order:
        last[pairs[k].i] = last[pairs[k].j] = pairs[k].j
    held: dict[int, FrameFeatures] = {}
    bad: dict[int, str] = {}
    results: list[PairResult] = []
    counts: dict[str, int] = {}
    t_ext = t_match = 0.0
    pos = 0
    with dask_scheduler(scheduler) as (sched, _):
        for start in range(0, len(geoframes), wave_frames):
            end = min(start + wave_frames, len(geoframes))
            todo = [f for f in range(start, end) if f in last]
            t0 = time.perf_counter()
            got = dask.compute(*[opaque_task(safe_extract, geoframes[f], load, features)
                                 for f in todo], scheduler=sched)
            t_ext += time.perf_counter() - t0
            for f, g in zip(todo, got, strict=True):
                if isinstance(g, str):
                    bad[f] = g
                    log.warning("registration: frame %s unreadable: %s", geoframes[f].frame_id, g)
                else:
                    held[f] = g
                    counts[g.frame_id] = len(g)
            batch = []
            while pos < len(order) and pairs[order[pos]].j < end:
                batch.append(order[pos])
                pos += 1
            t0 = time.perf_counter()
            tasks = [opaque_task(_pair_or_refusal, pairs[k], held.get(pairs[k].i),
                                 held.get(pairs[k].j), geoframes[pairs[k].i].correction,
                                 geoframes[pairs[k].j].correction, gates[k], match)
                     for k in batch]
            results.extend(dask.compute(*tasks, scheduler=sched))
            t_match += time.perf_counter() - t0
            for f in [f for f in held if last[f] < end]:
                del held[f]
            if progress is not None:
                progress("registration: features and matching", end, len(geoframes))
    unreadable = {geoframes[f].frame_id: r for f, r in bad.items()}
    return TieCollection(results, unreadable, counts, t_ext, t_match)


def _pair_or_refusal(pair: Pair, fa: FrameFeatures | None, fb: FrameFeatures | None,
                     corr_a: Correction2D, corr_b: Correction2D, gate: Gate,
                     config: MatchConfig) -> PairResult:
    if fa is None or fb is None:
        empty = np.zeros((0, 2))
        return PairResult(pair, PairMatch(0, 0, False, "frame unreadable", gate.guided),
                          empty, empty, empty, empty, 0.0)
    return pair_result(pair, fa, fb, corr_a, corr_b, gate, config)
