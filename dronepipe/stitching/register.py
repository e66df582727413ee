"""Registration and adjustment of a block of frames: seamless and georeferenced.

    corrected, report = register_and_adjust(geoframes, load_pixels, RegistrationConfig())

1. pairs by footprint overlap (``pairs``), each frame's ``K`` best partners;
2. features per frame on contrast-normalised working images (``features``), and
   matching per pair guided by the poses (``match``), in waves on dask (``tiepoints``);
   thermal frames whose headings are known tie by guided optical flow instead
   (``flow``: no descriptors, a third of SIFT's CPU, and it ties scenes whose detail is
   at the sensor's noise where SIFT finds nothing to describe);
3. one sparse least-squares adjustment of every frame's similarity correction, tie
   points against GNSS priors correlated in time (the receiver's error wanders: a
   Gauss-Markov walk, ``priors.GnssWalk``) and the block's common heading and height
   bias (``adjust``, ``priors``), rotations started from the pair graph (``rotinit``)
   so that headings wrong by anything are undone;
4. the corrected GeoFrames (``GeoFrame.with_correction``) and a ``RegistrationReport``.

Frames without an accepted pair keep their input placement and are listed in the
report. The live mode registers each new keyframe against the frames already placed,
which stay fixed: ``register_new`` (one frame) or ``LiveRegistrar`` (keeps the placed
frames, their footprint index and features). For thermal frames, see ``twins``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.adjust import Solution, SolverConfig, Ties, WalkChain, solve
from dronepipe.stitching.correction_ops import params_of, with_params
from dronepipe.stitching.features import KindFeatures, work_gsd_m
from dronepipe.stitching.flow import FlowConfig
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.match import Gate, MatchConfig, gate_for
from dronepipe.stitching.pairs import Pair, PairConfig, footprint_radius_m, ranked_partners, top_pairs
from dronepipe.stitching.priors import BlockBias, GnssWalk, PoseUncertainty
from dronepipe.stitching.regreport import (
    RegistrationReport,
    frame_corrections,
    pair_reports,
    seam_stats,
)
from dronepipe.stitching.rotinit import initial_rotations
from dronepipe.stitching.tiepoints import Loader, PairResult, Progress, collect_ties

F64 = NDArray[np.float64]
log = logging.getLogger(__name__)
Uncertainties = Mapping[str, PoseUncertainty] | Callable[[GeoFrame], PoseUncertainty] | None


@dataclass(frozen=True)
class RegistrationConfig:
    """Everything registration needs. ``uncertainty``: the default prior of a frame's
    correction (see ``priors``); ``bias``: the prior of the block's common rotation and
    scale error (None: frames' errors independent); ``prior``: pull corrections towards zero (``"gnss"``:
    where the poses put the frames) or towards the frames' input corrections
    (``"input"``, e.g. thermal frames that got their RGB twin's); ``gnss_walk``: how the
    GNSS priors are correlated in time (None: independent; only with ``"gnss"``,
    since input corrections are no GNSS walk); ``scheduler``: dask
    (``"threads"``, ``"processes"``, ``"synchronous"`` or ``tcp://host:port``);
    ``wave_frames``: frames per extraction wave (bounds memory); ``features``: the
    feature settings of each frame kind (thermal and RGB working images differ);
    ``flow``: tie thermal frames by guided optical flow (``flow``) where every pair's
    rotation is known, else by features (None: always by features)."""

    features: KindFeatures = KindFeatures()
    flow: FlowConfig | None = FlowConfig()
    pairs: PairConfig = PairConfig()
    match: MatchConfig = MatchConfig()
    solver: SolverConfig = SolverConfig()
    uncertainty: PoseUncertainty = PoseUncertainty()
    bias: BlockBias | None = BlockBias()
    prior: Literal["gnss", "input"] = "gnss"
    gnss_walk: GnssWalk | None = GnssWalk()
    scheduler: Any = "threads"
    wave_frames: int = 16


@dataclass(frozen=True)
class Block:
    """The adjustment's arrays for a list of frames (see ``adjust``); ``t_s`` the
    capture times (UTC seconds), ``height_m`` the cameras' heights above the ground
    below them (metres)."""

    centres: F64
    x_in: F64
    mean: F64
    sigma: F64
    t_s: F64
    height_m: F64


def register_and_adjust(geoframes: Sequence[GeoFrame], load_pixels: Loader,
                        config: RegistrationConfig = RegistrationConfig(),
                        progress: Progress | None = None, *,
                        uncertainties: Uncertainties = None) -> tuple[list[GeoFrame], RegistrationReport]:
    """Register overlapping frames and adjust them (see module). ``load_pixels(frame_id)``
    gives a frame's pixels (as for the mosaic); ``uncertainties`` per frame id (or a
    function of the frame) override ``config.uncertainty``; ``progress(stage, done, total)``."""
    gfs = list(geoframes)
    unc = [_uncertainty(g, config, uncertainties) for g in gfs]
    block = make_block(gfs, unc, config.prior)
    pairs, gates, flow = block_pairs(gfs, unc, config)
    log.info("registration: %d frames, %d pairs by footprint overlap%s", len(gfs), len(pairs),
             ", tied by flow" if flow is not None else "")
    coll = collect_ties(gfs, pairs, load_pixels, gates, config.features, config.match,
                        config.scheduler, config.wave_frames, progress, flow)
    t0 = time.perf_counter()
    ties = ties_of(coll.results)
    free = np.zeros(len(gfs), bool)
    free[ties.a] = free[ties.b] = True
    walk = config.gnss_walk if config.prior == "gnss" else None
    solution = solve_block(block, coll.results, ties, free, config.solver, config.bias, walk)
    solve_s = time.perf_counter() - t0
    out = [with_params(g, solution.params[k]) if free[k] else g for k, g in enumerate(gfs)]
    report = _report(gfs, coll.results, ties, block, solution, free,
                     _unplaced(gfs, pairs, coll.results, coll.unreadable, free),
                     (coll.extract_s, coll.match_s, solve_s),
                     float(np.median(list(coll.keypoints.values()))) if coll.keypoints else 0.0,
                     "features" if flow is None else "flow")
    log.info(report.summary())
    return out, report


def block_pairs(gfs: Sequence[GeoFrame], unc: Sequence[PoseUncertainty],
                config: RegistrationConfig) -> tuple[list[Pair], list[Gate], FlowConfig | None]:
    """The pairs by footprint overlap, their gates, and the flow settings where the block
    ties by flow: a block of thermal frames whose pairs, each frame with its
    ``flow.partners`` best partners, all have guided gates (``flow_for``); otherwise the
    pairs of ``config.pairs`` and None. The footprints' overlaps are computed once."""
    ranked = ranked_partners([g.footprint_m for g in gfs], config.pairs.min_overlap)

    def with_gates(partners: int) -> tuple[list[Pair], list[Gate]]:
        pairs = top_pairs(ranked, partners)
        return pairs, [pair_gate(gfs[p.i], gfs[p.j], unc[p.i], unc[p.j], config) for p in pairs]

    if gfs and config.flow is not None and all(g.kind == "thermal" for g in gfs):
        pairs, gates = with_gates(min(config.flow.partners, config.pairs.max_per_frame))
        flow = flow_for(config, gates)
        if flow is not None:
            return pairs, gates, flow
    return (*with_gates(config.pairs.max_per_frame), None)


def flow_for(config: RegistrationConfig, gates: Sequence[Gate]) -> FlowConfig | None:
    """The flow settings thermal frames tie by: ``config.flow`` where every pair's gate is
    guided (the warp between two frames needs their rotations), else None (features)."""
    if config.flow is None or all(g.guided for g in gates):
        return config.flow
    log.info("registration: a heading is unknown, so thermal frames tie by features, not flow")
    return None


def make_block(gfs: Sequence[GeoFrame], unc: Sequence[PoseUncertainty], prior: str) -> Block:
    """Centres, input parameters and priors of a list of frames."""
    centres = np.array([g.correction_centre_m for g in gfs], dtype=np.float64).reshape(-1, 2)
    x_in = np.array([params_of(g) for g in gfs], dtype=np.float64).reshape(-1, 4)
    sigma = np.array([u.sigmas for u in unc], dtype=np.float64).reshape(-1, 4)
    mean = x_in.copy() if prior == "input" else np.zeros_like(x_in)
    t = np.array([g.t_utc_s for g in gfs], dtype=np.float64)
    return Block(centres, x_in, mean, sigma, t, np.array([height_above_ground(g) for g in gfs]))


def height_above_ground(gf: GeoFrame) -> float:
    """The camera's height above the ground straight below it (metres; NaN off the DEM)."""
    e, n, h = (float(v) for v in gf.pose.centre_m)
    return h - float(gf.ground.height_at(e, n))


def pair_gate(ga: GeoFrame, gb: GeoFrame, ua: PoseUncertainty, ub: PoseUncertainty,
              config: RegistrationConfig) -> Gate:
    """The matching gate of a pair from its frames' uncertainties and footprints."""
    gsd = max(work_gsd_m(ga, config.features), work_gsd_m(gb, config.features))
    return gate_for(ua, ub, footprint_radius_m(ga.footprint_m, ga.correction_centre_m),
                    footprint_radius_m(gb.footprint_m, gb.correction_centre_m), gsd, config.match)


def ties_of(results: Sequence[PairResult]) -> Ties:
    """The tie points of the accepted pairs; ``pair`` indexes ``results``."""
    parts = []
    for k, r in enumerate(results):
        if not r.match.accepted:
            continue
        n = len(r.raw_a)
        parts.append(Ties(np.full(n, r.pair.i, np.int64), np.full(n, r.pair.j, np.int64),
                          r.raw_a, r.raw_b, np.full(n, r.sigma_m), np.full(n, k, np.int64)))
    return Ties.concat(parts)


def solve_block(block: Block, results: Sequence[PairResult], ties: Ties, free: NDArray[np.bool_],
                config: SolverConfig, bias: BlockBias | None = None,
                walk: GnssWalk | None = None) -> Solution:
    """Rotations started from the pair graph, then the sparse adjustment of ``free``
    frames, with the block's common ``bias`` as an unknown where given, and the free
    frames' position priors linked in time by the GNSS ``walk`` where given."""
    acc = [r for r in results if r.match.accepted]
    x0 = block.x_in.copy()
    if acc:
        a = np.array([r.pair.i for r in acc])
        b = np.array([r.pair.j for r in acc])
        rel = np.array([r.match.rot_rad for r in acc]) + x0[a, 2] - x0[b, 2]
        x0[:, 2] = initial_rotations(x0[:, 2], a, b, rel, np.array([r.match.inliers for r in acc]),
                                     ~free, block.mean[:, 2], block.sigma[:, 2])
    if not free.any():
        return Solution(x0, np.ones(len(ties)), 0, True, 0.0)
    chain = None
    if walk is not None:
        chain = WalkChain.of(block.t_s[free], block.sigma[free, :2].max(axis=1), walk.tau_s,
                             walk.white_m)
    heights = block.height_m[free]
    height = float(np.nanmedian(heights)) if np.isfinite(heights).any() else 1.0
    return solve(block.centres, ties, block.mean, block.sigma, x0, free, config,
                 bias.sigmas_at(height) if bias is not None else None, chain)


def _uncertainty(gf: GeoFrame, config: RegistrationConfig, given: Uncertainties) -> PoseUncertainty:
    if given is None:
        return config.uncertainty
    if callable(given):
        return given(gf)
    return given.get(gf.frame_id, config.uncertainty)


def _unplaced(gfs: Sequence[GeoFrame], pairs: Sequence[Pair], results: Sequence[PairResult],
              unreadable: Mapping[str, str], free: NDArray[np.bool_]) -> tuple[tuple[str, str], ...]:
    """Frames left uncorrected, each with the reason."""
    reasons: dict[int, list[str]] = {k: [] for k in range(len(gfs))}
    for r in results:
        for k in (r.pair.i, r.pair.j):
            reasons[k].append(r.match.reason)
    out = []
    for k, g in enumerate(gfs):
        if free[k]:
            continue
        if g.frame_id in unreadable:
            why = f"unreadable ({unreadable[g.frame_id]})"
        elif not reasons[k]:
            why = "no overlapping frame"
        else:
            why = "no accepted pair: " + "; ".join(sorted(set(reasons[k])))
        out.append((g.frame_id, why))
    return tuple(out)


def _report(gfs: Sequence[GeoFrame], results: Sequence[PairResult], ties: Ties, block: Block,
            solution: Solution, free: NDArray[np.bool_], unplaced: tuple[tuple[str, str], ...],
            times: tuple[float, float, float], keypoints: float, tied_by: str) -> RegistrationReport:
    seam = seam_stats(gfs, ties, block.centres, block.x_in, solution.params)
    return RegistrationReport(
        len(gfs), keypoints, len(results), sum(r.match.accepted for r in results), len(ties), *seam,
        unplaced, pair_reports(gfs, results, ties, block.centres, block.x_in, solution),
        frame_corrections(gfs, solution, free, ties, block.mean, block.sigma),
        solution.iterations, solution.converged, int((solution.tie_weights < 0.5).sum()),
        solution.tie_sigma_factor, *times, tied_by)
