"""Incremental registration for the live mode: one new keyframe against placed frames.

    registrar = LiveRegistrar(RegistrationConfig())
    corrected, result = registrar.add(geoframe, pixels)   # then mosaic.feed(corrected, pixels)

The frames already in the mosaic stay where they are (fixed); only the new frame's
correction is solved, from its tie points with its overlapping neighbours and its own
GNSS prior, with the same matcher and solver as the batch adjustment. The new frame's
starting guess is the correction of the frame placed just before it (GNSS errors wander
slowly, so consecutive frames are off by about the same), which also centres the
matcher's search.

What this does not do: fixed neighbours are never revisited, so a chain of frames can
drift from the GNSS by the prior's pull alone (small where frames overlap several
placed ones); the batch ``register_and_adjust`` at the end of the flight solves all
frames together.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from dronepipe.stitching.adjust import tie_residuals
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.correction_ops import recentred, with_params
from dronepipe.stitching.featurestore import FeatureStore, Loader
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.pairs import FootprintIndex, Pair, index_for
from dronepipe.stitching.priors import PoseUncertainty
from dronepipe.stitching.register import (
    RegistrationConfig,
    make_block,
    pair_gate,
    solve_block,
    ties_of,
)
from dronepipe.stitching.tiepoints import PairResult, pair_result

log = logging.getLogger(__name__)
FIXED = PoseUncertainty(0.05, 0.05, 0.0005)  # a placed neighbour, for the matcher's gate


@dataclass(frozen=True)
class NewFrameResult:
    """One live registration: neighbours tried, pairs accepted, tie points, median seam
    residual with the starting guess and after (metres and native pixels; NaN without
    ties), whether the frame was ``placed`` by registration (else it keeps its input
    correction, and ``reason`` says why) and its correction."""

    frame_id: str
    neighbours: int
    pairs_accepted: int
    tie_points: int
    median_before_m: float
    median_after_m: float
    median_before_px: float
    median_after_px: float
    placed: bool
    reason: str
    correction: Correction2D


def register_new(frame: GeoFrame, pixels: np.ndarray, neighbours: Sequence[GeoFrame],
                 store: FeatureStore, config: RegistrationConfig = RegistrationConfig(), *,
                 initial: Correction2D | None = None,
                 uncertainty: PoseUncertainty | None = None) -> tuple[GeoFrame, NewFrameResult]:
    """Register ``frame`` against already corrected ``neighbours`` (held fixed).

    ``store`` holds (or re-extracts) the neighbours' features and keeps the new frame's;
    ``initial``: a starting correction (any centre; e.g. the previous frame's), else the
    frame's own; ``uncertainty``: its prior, else ``config.uncertainty``."""
    unc = uncertainty or config.uncertainty
    start = frame if initial is None else replace(
        frame, correction=recentred(initial, frame.correction_centre_m))
    feats = store.extract(frame, pixels)
    gfs = [start, *neighbours]
    results = []
    for k, nb in enumerate(neighbours, start=1):
        fn = store.get(nb)
        if fn is None:
            continue
        gate = pair_gate(start, nb, unc, FIXED, config)
        results.append(pair_result(Pair(0, k, 0.0), feats, fn, start.correction, nb.correction,
                                   gate, config.match))
    return _solve_new(frame, start, gfs, results, unc, len(neighbours), config)


def _solve_new(frame: GeoFrame, start: GeoFrame, gfs: list[GeoFrame], results: list[PairResult],
               unc: PoseUncertainty, n_nb: int, config: RegistrationConfig
               ) -> tuple[GeoFrame, NewFrameResult]:
    ties = ties_of(results)
    n_acc = sum(r.match.accepted for r in results)
    if not len(ties):
        why = "no neighbour" if not n_nb else "no accepted pair: " + "; ".join(
            sorted({r.match.reason for r in results}) or {"neighbour features unavailable"})
        return frame, NewFrameResult(frame.frame_id, n_nb, 0, 0, math.nan, math.nan, math.nan,
                                     math.nan, False, why, frame.correction)
    block = make_block(gfs, [unc] + [FIXED] * (len(gfs) - 1), config.prior)
    if config.prior == "input":
        block.mean[0] = make_block([frame], [unc], "input").mean[0]
    free = np.zeros(len(gfs), bool)
    free[0] = True
    sol = solve_block(block, results, ties, free, config.solver)
    out = with_params(frame, sol.params[0])
    r0 = np.hypot(*tie_residuals(block.x_in, block.centres, ties).T)
    r1 = np.hypot(*tie_residuals(sol.params, block.centres, ties).T)
    gsd = 0.5 * (frame.gsd_m + np.array([g.gsd_m for g in gfs])[ties.b])
    res = NewFrameResult(frame.frame_id, n_nb, n_acc, len(ties), float(np.median(r0)),
                         float(np.median(r1)), float(np.median(r0 / gsd)), float(np.median(r1 / gsd)),
                         True, "", out.correction)
    log.debug("live registration of %s: %d/%d pairs, seam %.2f -> %.2f px", frame.frame_id,
              n_acc, n_nb, res.median_before_px, res.median_after_px)
    return out, res


class LiveRegistrar:
    """Places live keyframes one by one (see module); keeps the placed frames, their
    footprint index and a bounded feature store. Not thread-safe: one feeder thread."""

    def __init__(self, config: RegistrationConfig = RegistrationConfig(), *,
                 loader: Loader | None = None, max_cached_frames: int = 512) -> None:
        self.config = config
        self.store = FeatureStore(config.features, max_cached_frames, loader)
        self.placed: list[GeoFrame] = []
        self._index: FootprintIndex | None = None
        self._last: GeoFrame | None = None

    def add(self, frame: GeoFrame, pixels: np.ndarray,
            uncertainty: PoseUncertainty | None = None) -> tuple[GeoFrame, NewFrameResult]:
        """Register and place one frame; returns it corrected (or as given) and the result."""
        initial = self._last.correction if self._last is not None else None
        guess = frame if initial is None else replace(
            frame, correction=recentred(initial, frame.correction_centre_m))
        out, res = register_new(frame, pixels, self.neighbours(guess), self.store, self.config,
                                initial=initial, uncertainty=uncertainty)
        if self._index is None:
            self._index = index_for([out.footprint_m])
        self._index.add(len(self.placed), out.footprint_m)
        self.placed.append(out)
        if res.placed:
            self._last = out
        return out, res

    def neighbours(self, frame: GeoFrame) -> list[GeoFrame]:
        """Placed frames overlapping a frame's footprint enough, the most overlapping first."""
        if self._index is None:
            return []
        pc = self.config.pairs
        hits = sorted(((o, k) for k, o in self._index.overlaps(frame.footprint_m)
                       if o >= pc.min_overlap), reverse=True)
        return [self.placed[k] for _, k in hits[:pc.max_per_frame]]
