"""What registration and adjustment did, for the log and ``process.json``.

Seam residuals are the distances (metres, and pixels at the two frames' mean native
ground sample distance) between where two frames put the same matched feature: before
(the frames' input placement, normally direct georeferencing) and after adjustment, per
pair and as the median over all tie points. They say how seamless the mosaic is; they
say nothing about absolute position, which the GNSS priors carry (a systematic GNSS
offset moves the whole block and leaves the seams untouched).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.adjust import Solution, Ties, tie_residuals
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.tiepoints import PairResult

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PairReport:
    """One pair: frames, footprint overlap fraction, whether matching was guided by the
    poses, ratio-test candidates, RANSAC inliers, tie points kept, accepted or why not,
    median seam residual before/after (metres and native pixels; NaN without ties), and
    how many of its ties the robust loss down-weighted (weight < 0.5)."""

    frame_a: str
    frame_b: str
    overlap: float
    guided: bool
    candidates: int
    inliers: int
    ties: int
    accepted: bool
    reason: str
    median_before_m: float
    median_after_m: float
    median_before_px: float
    median_after_px: float
    downweighted: int


@dataclass(frozen=True)
class FrameCorrection:
    """A frame's solved correction: shift (metres east, north), rotation (degrees,
    counter-clockwise), scale, its tie points, and the largest parameter's distance
    from the prior mean in prior sigmas (large: the pose was far off, or a bad match)."""

    frame_id: str
    dx_m: float
    dy_m: float
    dtheta_deg: float
    scale: float
    ties: int
    prior_sigmas: float


@dataclass(frozen=True)
class RegistrationReport:
    """The whole run (see module); ``keypoints_median``: features (corners, where tied by
    flow) per frame (a thermal scene with few is too flat to register); ``tied_by``:
    ``"features"`` or ``"flow"`` (``stitching.flow``); ``unplaced`` lists frames left
    uncorrected and why;
    ``tie_sigma_factor``: how far the residuals' spread exceeded the features' precision
    (1: the similarity model fits the frames to the features' precision; real frames with
    unrecorded tilt and relief: several); times in seconds of wall clock."""

    frames: int
    keypoints_median: float
    pairs_tried: int
    pairs_accepted: int
    tie_points: int
    seam_median_before_m: float
    seam_median_after_m: float
    seam_median_before_px: float
    seam_median_after_px: float
    seam_p90_after_px: float
    unplaced: tuple[tuple[str, str], ...]
    pairs: tuple[PairReport, ...]
    corrections: tuple[FrameCorrection, ...]
    iterations: int
    converged: bool
    ties_downweighted: int
    tie_sigma_factor: float
    extract_s: float
    match_s: float
    solve_s: float
    tied_by: str = "features"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as None)."""
        return _clean(asdict(self))

    def summary(self) -> str:
        """One line for the log."""
        return (f"registration: {self.frames} frames, {self.pairs_accepted}/{self.pairs_tried} "
                f"pairs by {self.tied_by}, {self.tie_points} ties, seam median {self.seam_median_before_px:.1f} px "
                f"-> {self.seam_median_after_px:.2f} px ({self.seam_median_before_m:.2f} m -> "
                f"{self.seam_median_after_m:.3f} m), {len(self.unplaced)} frames unplaced")


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if not math.isfinite(v) else v
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def pair_reports(gfs: Sequence[GeoFrame], results: Sequence[PairResult], ties: Ties,
                 centres: F64, before: F64, solution: Solution) -> tuple[PairReport, ...]:
    """Per-pair reports; ``ties.pair`` indexes ``results``."""
    r0 = _norms(tie_residuals(before, centres, ties))
    r1 = _norms(tie_residuals(solution.params, centres, ties))
    out = []
    for k, res in enumerate(results):
        sel = ties.pair == k
        gsd = 0.5 * (gfs[res.pair.i].gsd_m + gfs[res.pair.j].gsd_m)
        b, a = _median(r0[sel]), _median(r1[sel])
        m = res.match
        out.append(PairReport(gfs[res.pair.i].frame_id, gfs[res.pair.j].frame_id, res.pair.overlap,
                              m.guided, m.candidates, m.inliers, int(sel.sum()), m.accepted, m.reason,
                              b, a, b / gsd, a / gsd, int((solution.tie_weights[sel] < 0.5).sum())))
    return tuple(out)


def seam_stats(gfs: Sequence[GeoFrame], ties: Ties, centres: F64, before: F64,
               after: F64) -> tuple[float, float, float, float, float]:
    """Median seam residual before/after in metres, before/after in native pixels, and
    the 90th percentile after in pixels."""
    gsd = np.array([g.gsd_m for g in gfs])
    tie_gsd = 0.5 * (gsd[ties.a] + gsd[ties.b]) if len(ties) else np.zeros(0)
    r0 = _norms(tie_residuals(before, centres, ties))
    r1 = _norms(tie_residuals(after, centres, ties))
    p90 = float(np.percentile(r1 / tie_gsd, 90)) if len(ties) else math.nan
    return _median(r0), _median(r1), _median(r0 / tie_gsd), _median(r1 / tie_gsd), p90


def frame_corrections(gfs: Sequence[GeoFrame], solution: Solution, free: NDArray[np.bool_],
                      ties: Ties, mean: F64, sigma: F64) -> tuple[FrameCorrection, ...]:
    """Reports of the frames that were solved."""
    counts = np.bincount(np.concatenate([ties.a, ties.b]), minlength=len(gfs))
    out = []
    for k in np.flatnonzero(free):
        x = solution.params[k]
        dev = float(np.abs((x - mean[k]) / sigma[k]).max())
        out.append(FrameCorrection(gfs[int(k)].frame_id, float(x[0]), float(x[1]),
                                   math.degrees(float(x[2])), math.exp(float(x[3])),
                                   int(counts[k]), dev))
    return tuple(out)


def _norms(r: F64) -> F64:
    return np.hypot(r[:, 0], r[:, 1])


def _median(v: F64) -> float:
    return float(np.median(v)) if len(v) else math.nan
