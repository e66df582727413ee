"""Tie points over a block: features extracted and pairs matched in waves, on dask.

What "features" and "matching" are depends on the block: descriptor features
(``features``) and guided matching (``match``), or, for a thermal block tied by flow,
each frame's working temperatures and corners (``flow.frame_image``) and guided
optical flow per pair (``flow.flow_pair``). Both give the same ``PairResult``.

Frames are taken in input (flight) order in waves of ``wave_frames``. Each computation
extracts the features of one wave's frames (one dask task each, loading the pixels on the
worker, so only keypoints travel) and, beside it, matches every pair whose later frame
was in the wave before (one task per later frame, for all its pairs); then it forgets
the features of frames whose pairs are all done. Features stay in memory only from a
frame's first pair to its last (about two flight lines in a lawn-mower pattern), so
memory does not grow with the flight. A frame whose pixels cannot be read is reported
with the reason, and its pairs are refused.

Why extraction and matching share a computation: extraction is mostly OpenCV, thermal
decoding and large-array numpy, which release the GIL; matching is many small numpy
calls, which hold it. Run apart, two matching tasks on two threads wait for each other
(on the 300-frame simulated thermal flight, two threads matched in 6.2 s wall what one
thread matches in 5.1 s of CPU); run beside extractions, matching fills the time they
spend without the GIL. Waves of 32 frames instead of 16 changed nothing measurable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dask
import numpy as np
from numpy.typing import NDArray

from dronepipe.errors import DronepipeError
from dronepipe.stitching.batch import dask_scheduler, opaque_task
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.features import AnyFeatures, FrameFeatures, extract_features
from dronepipe.stitching.flow import FlowConfig, FrameImage, flow_pair, frame_image
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.match import Gate, MatchConfig, PairMatch, match_pair
from dronepipe.stitching.pairs import Pair

F64 = NDArray[np.float64]
Loader = Callable[[str], np.ndarray]
Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)
T = TypeVar("T")


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
    frame, and the seconds spent in extraction and in matching tasks (summed over the
    tasks, so over the workers that ran them at once)."""

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


Prepared = FrameFeatures | FrameImage


def flow_result(pair: Pair, ga: GeoFrame, gb: GeoFrame, ia: FrameImage, ib: FrameImage,
                gate: Gate, match: MatchConfig, flow: FlowConfig) -> PairResult:
    """Tie one pair of thermal frames by guided flow (``flow``) and gather its tie points."""
    ft = flow_pair(ga, gb, ia, ib, gate, match, flow)
    m = ft.match
    sigma = match.tie_sigma_px * max(ia.work_gsd_m, ib.work_gsd_m)
    return PairResult(pair, m, ft.raw_a[m.idx_a], ft.raw_b[m.idx_b], ft.uv_a[m.idx_a],
                      ft.uv_b[m.idx_b], sigma)


def safe_extract(gf: GeoFrame, load: Loader, config: AnyFeatures,
                 flow: FlowConfig | None = None) -> Prepared | str:
    """A frame's features (settings by its kind, with ``KindFeatures``), or with ``flow``
    a thermal frame's flow image, or the reason (text) its pixels could not be used."""
    try:
        pixels = load(gf.frame_id)
        if flow is not None and gf.kind == "thermal":
            return frame_image(gf, pixels, flow)
        return extract_features(gf, pixels, config)
    except (OSError, ValueError, DronepipeError) as exc:
        return f"{type(exc).__name__}: {exc}"


def collect_ties(geoframes: Sequence[GeoFrame], pairs: Sequence[Pair], load: Loader,
                 gates: Sequence[Gate], features: AnyFeatures, match: MatchConfig,
                 scheduler: Any = "threads", wave_frames: int = 16,
                 progress: Progress | None = None, flow: FlowConfig | None = None) -> TieCollection:
    """Extract and match in waves (see module). ``gates[k]`` belongs to ``pairs[k]``;
    with ``flow``, thermal frames are tied by guided flow (``flow``) instead of features."""
    waves = _Waves(len(geoframes), pairs, wave_frames)
    held: dict[int, Prepared] = {}
    bad: dict[int, str] = {}
    results: list[PairResult] = []
    counts: dict[str, int] = {}
    busy = [0.0, 0.0]
    with dask_scheduler(scheduler) as (sched, _):
        for w in range(waves.count + 1):
            todo = waves.frames(w)
            matching = waves.pairs_done_by(w - 1)
            tasks = [opaque_task(_timed, safe_extract, geoframes[f], load, features, flow)
                     for f in todo]
            for ks in _by_later_frame(matching, pairs):
                jobs = [(pairs[k], held.get(pairs[k].i), held.get(pairs[k].j),
                         geoframes[pairs[k].i], geoframes[pairs[k].j], gates[k]) for k in ks]
                tasks.append(opaque_task(_timed, _match_all, jobs, match, flow))
            got = dask.compute(*tasks, scheduler=sched)
            for f, (g, sec) in zip(todo, got[:len(todo)], strict=True):
                busy[0] += sec
                if isinstance(g, str):
                    bad[f] = g
                    log.warning("registration: frame %s unreadable: %s", geoframes[f].frame_id, g)
                else:
                    held[f] = g
                    counts[g.frame_id] = len(g)
            for res, sec in got[len(todo):]:
                busy[1] += sec
                results.extend(res)
            for f in [f for f in held if waves.last_pair_wave(f) < w]:
                del held[f]
            if progress is not None and w:
                progress("registration: features and matching", waves.end(w - 1), len(geoframes))
    unreadable = {geoframes[f].frame_id: r for f, r in bad.items()}
    return TieCollection(results, unreadable, counts, busy[0], busy[1])


class _Waves:
    """Frames in waves of ``size`` in input order; a pair is matched in the computation
    after the one that extracts its later frame, beside the next wave's extraction."""

    def __init__(self, n_frames: int, pairs: Sequence[Pair], size: int) -> None:
        self.n, self.size = n_frames, max(1, size)
        self.count = -(-n_frames // self.size)
        order = sorted(range(len(pairs)), key=lambda k: (pairs[k].j, pairs[k].i))
        self._by_wave: dict[int, list[int]] = {}
        self._last: dict[int, int] = {}
        for k in order:
            w = pairs[k].j // self.size
            self._by_wave.setdefault(w, []).append(k)
            self._last[pairs[k].i] = self._last[pairs[k].j] = w

    def end(self, w: int) -> int:
        """One past the last frame of wave ``w``."""
        return min((w + 1) * self.size, self.n)

    def frames(self, w: int) -> list[int]:
        """The frames of wave ``w`` that are in a pair (none past the last wave)."""
        if w >= self.count:
            return []
        return [f for f in range(w * self.size, self.end(w)) if f in self._last]

    def pairs_done_by(self, w: int) -> list[int]:
        """The pairs whose later frame is in wave ``w`` (by later, then earlier frame)."""
        return self._by_wave.get(w, [])

    def last_pair_wave(self, f: int) -> int:
        """The wave that holds the later frame of frame ``f``'s last pair."""
        return self._last.get(f, -1)


def _timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """``fn(*args)`` and the seconds it took."""
    t0 = time.perf_counter()
    return fn(*args), time.perf_counter() - t0


def _by_later_frame(ks: Sequence[int], pairs: Sequence[Pair]) -> list[list[int]]:
    """The pairs ``ks`` (sorted by later frame) in runs of one later frame each: one
    task each, as each dask task costs the driver 0.2-0.3 ms with the GIL held."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and pairs[runs[-1][-1]].j == pairs[k].j:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _match_all(jobs: Sequence[tuple[Pair, Prepared | None, Prepared | None, GeoFrame,
                                    GeoFrame, Gate]],
               config: MatchConfig, flow: FlowConfig | None) -> list[PairResult]:
    """``_pair_or_refusal`` of each job (pair, what was prepared of its frames, the
    frames, its gate)."""
    return [_pair_or_refusal(*job, config, flow) for job in jobs]


def _pair_or_refusal(pair: Pair, fa: Prepared | None, fb: Prepared | None, ga: GeoFrame,
                     gb: GeoFrame, gate: Gate, config: MatchConfig,
                     flow: FlowConfig | None) -> PairResult:
    if isinstance(fa, FrameFeatures) and isinstance(fb, FrameFeatures):
        return pair_result(pair, fa, fb, ga.correction, gb.correction, gate, config)
    if isinstance(fa, FrameImage) and isinstance(fb, FrameImage) and flow is not None:
        return flow_result(pair, ga, gb, fa, fb, gate, config, flow)
    why = "frame unreadable" if fa is None or fb is None else "thermal and RGB frame"
    empty = np.zeros((0, 2))
    return PairResult(pair, PairMatch(0, 0, False, why, gate.guided), empty, empty, empty,
                      empty, 0.0)
