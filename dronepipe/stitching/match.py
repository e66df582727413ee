"""Matching two frames' features, guided by where their poses put them on the map.

For a pair ``(a, b)`` each keypoint has a predicted map position (its raw ground point
through the frame's current correction). Guided matching compares a keypoint of ``a``
only with keypoints of ``b`` predicted within ``gate.radius_m`` of it (a few sigma of
the two poses' relative uncertainty), then applies Lowe's ratio test among those
candidates. Where a rotation is unknown (heading from the track), the gate would span
the whole frame and matching runs unguided (ratio test over all keypoints). The search
(``nearest``) sorts the keypoints into cells of the gate radius and finds exactly the
neighbours OpenCV's brute-force matcher found over a full gate mask, at less than half
its CPU.

The survivors go through RANSAC for a similarity between the two sets of map positions
(``cv2.estimateAffinePartial2D``, threshold in working pixels on the ground); a
similarity far outside the uncertainty (rotation, scale) is refused as a false match.
A second, tight pass re-matches around that similarity to harvest keypoints the ratio
test had lost to similar-looking ones elsewhere. Accepted inliers, spread over the
overlap (at most ``max_ties``), become tie points: the same ground point seen in ``a``
and in ``b``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.features import FrameFeatures
from dronepipe.stitching.nearest import DescriptorRows, two_nearest
from dronepipe.stitching.priors import PoseUncertainty

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class MatchConfig:
    """Matching parameters; ``_px`` values are working pixels (times the pair's working GSD).

    ``ratio``: Lowe's ratio; ``gate_sigmas``: the search radius in relative standard
    deviations; ``min_gate_px``: its floor; ``unguided_above``: match unguided where the
    gate exceeds this fraction of the footprint diameter; ``ransac_px``: RANSAC inlier
    threshold; ``rematch_px``: gate of the second pass around the RANSAC similarity
    (0 = no second pass); ``min_inliers``/``min_inlier_ratio``: to accept a pair;
    ``max_ties``: tie points kept per pair, spread over ``spread_cells`` x ``spread_cells``
    cells of the overlap; ``tie_sigma_px``: a tie point's standard deviation;
    ``first_pass_every``: the wide first pass compares every n-th keypoint of each frame
    only (1 = all), the tight second pass all of them; where that first pass finds no
    similarity, it runs again on all keypoints.
    """

    ratio: float = 0.8
    gate_sigmas: float = 3.0
    min_gate_px: float = 20.0
    unguided_above: float = 0.35
    ransac_px: float = 3.0
    rematch_px: float = 4.0
    min_inliers: int = 15
    min_inlier_ratio: float = 0.15
    max_ties: int = 64
    spread_cells: int = 8
    tie_sigma_px: float = 0.5
    first_pass_every: int = 2


@dataclass(frozen=True)
class Gate:
    """Where to look and what to believe for one pair: search ``radius_m`` (metres;
    ``guided`` False = search everywhere), and the largest plausible relative rotation
    (radians) and log scale of the pair's similarity."""

    radius_m: float
    guided: bool
    max_rot_rad: float
    max_log_scale: float


@dataclass(frozen=True)
class PairMatch:
    """The outcome for one pair: ratio-test ``candidates``, RANSAC ``inliers``, whether
    ``accepted`` (else ``reason``), the similarity's rotation (radians, b relative to a)
    and log scale, and the tie points as keypoint indices ``idx_a``/``idx_b``."""

    candidates: int
    inliers: int
    accepted: bool
    reason: str
    guided: bool
    rot_rad: float = 0.0
    log_scale: float = 0.0
    idx_a: I64 = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    idx_b: I64 = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)


def gate_for(ua: PoseUncertainty, ub: PoseUncertainty, radius_a_m: float, radius_b_m: float,
             work_gsd_m: float, config: MatchConfig = MatchConfig()) -> Gate:
    """The pair's gate from the two frames' uncertainties and footprint radii (metres)."""
    sa, sb = ua.sigmas, ub.sigmas
    var = (sa[0] ** 2 + sb[0] ** 2 + (radius_a_m * sa[2]) ** 2 + (radius_b_m * sb[2]) ** 2
           + (radius_a_m * sa[3]) ** 2 + (radius_b_m * sb[3]) ** 2)
    radius = max(config.gate_sigmas * math.sqrt(var), config.min_gate_px * work_gsd_m)
    guided = (ua.rotation_known and ub.rotation_known
              and radius < config.unguided_above * 2.0 * min(radius_a_m, radius_b_m))
    rot = config.gate_sigmas * math.hypot(sa[2], sb[2]) + math.radians(0.5)
    scale = config.gate_sigmas * math.hypot(sa[3], sb[3]) + 0.01
    return Gate(radius, guided, min(rot, math.pi), scale)


def match_pair(fa: FrameFeatures, fb: FrameFeatures, corr_a: Correction2D, corr_b: Correction2D,
               gate: Gate, config: MatchConfig = MatchConfig()) -> PairMatch:
    """Match two frames' features (see module); never raises for a bad pair."""
    if len(fa) < config.min_inliers or len(fb) < config.min_inliers:
        return PairMatch(0, 0, False, "too few keypoints", gate.guided)
    a = np.stack(corr_a.apply(fa.raw_m[:, 0], fa.raw_m[:, 1]), -1)
    b = np.stack(corr_b.apply(fb.raw_m[:, 0], fb.raw_m[:, 1]), -1)
    gsd = max(fa.work_gsd_m, fb.work_gsd_m)
    rows = pair_rows(fa, fb)
    radius = gate.radius_m if gate.guided else None
    ia, ib, dist = first_pass(rows, a, b, radius, config.ratio, config.first_pass_every)
    fit = ransac_similarity(a[ia], b[ib], config.ransac_px * gsd)
    if (fit is None or fit[1].sum() < config.min_inliers) and config.first_pass_every > 1:
        ia, ib, dist = first_pass(rows, a, b, radius, config.ratio, 1)
        fit = ransac_similarity(a[ia], b[ib], config.ransac_px * gsd)
    if fit is None or fit[1].sum() < config.min_inliers:
        return PairMatch(len(ia), 0 if fit is None else int(fit[1].sum()), False,
                         "too few RANSAC inliers", gate.guided)
    m, inl = fit
    rot, log_s = math.atan2(m[1, 0], m[0, 0]), math.log(math.hypot(m[0, 0], m[1, 0]))
    if abs(rot) > gate.max_rot_rad or abs(log_s) > gate.max_log_scale:
        return PairMatch(len(ia), int(inl.sum()), False,
                         f"implausible similarity (rotation {math.degrees(rot):.1f} deg, "
                         f"scale {math.exp(log_s):.3f})", gate.guided, rot, log_s)
    if config.rematch_px > 0:
        ia, ib, dist, inl = _rematch(fa, fb, rows, a, b, m, gsd, (ia, ib, dist, inl), config)
    n = int(inl.sum())
    if n < config.min_inliers or n < config.min_inlier_ratio * len(ia):
        return PairMatch(len(ia), n, False, f"inlier ratio {n}/{len(ia)} too low",
                         gate.guided, rot, log_s)
    keep = spread(a[ia[inl]], dist[inl], config.max_ties, config.spread_cells)
    return PairMatch(len(ia), n, True, "", gate.guided, rot, log_s, ia[inl][keep], ib[inl][keep])


def ratio_matches(fa: FrameFeatures, fb: FrameFeatures, a: F64, b: F64, radius_m: float | None,
                  ratio: float, rows: tuple[DescriptorRows, DescriptorRows] | None = None
                  ) -> tuple[I64, I64, F64]:
    """Nearest-descriptor matches passing the ratio test, among keypoints of ``b`` within
    ``radius_m`` of each keypoint of ``a`` (None: all): indices into a and b, distances.
    ``rows``: the two frames' descriptor rows, if already made (``pair_rows``)."""
    return rows_ratio_matches(rows if rows is not None else pair_rows(fa, fb), a, b,
                              radius_m, ratio)


def rows_ratio_matches(rows: tuple[DescriptorRows, DescriptorRows], a: F64, b: F64,
                       radius_m: float | None, ratio: float) -> tuple[I64, I64, F64]:
    """``ratio_matches`` of the descriptor ``rows`` of a and b at positions ``a``, ``b``."""
    nn = two_nearest(rows[0], rows[1], a, b, radius_m)
    d1, d2 = nn.d1.astype(np.float64), nn.d2.astype(np.float64)
    # OpenCV's knnMatch lists one neighbour where only one is a candidate: it passes
    ia = np.flatnonzero((nn.best >= 0) & (np.isinf(d2) | (d1 < ratio * d2)))
    if len(ia) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    ib, d = nn.best[ia], d1[ia]
    order = np.argsort(d, kind="stable")
    _, first = np.unique(ib[order], return_index=True)  # one match per keypoint of b: the closest
    keep = np.sort(order[first])
    return ia[keep], ib[keep], d[keep]


def first_pass(rows: tuple[DescriptorRows, DescriptorRows], a: F64, b: F64,
               radius_m: float | None, ratio: float, every: int) -> tuple[I64, I64, F64]:
    """``ratio_matches`` among every ``every``-th keypoint of each frame (indices into
    all keypoints): the first pass only has to find the pair's similarity, which a
    hundred or so matches fix as well as three hundred, and its cost grows with the
    product of the two frames' keypoints."""
    if every <= 1:
        return rows_ratio_matches(rows, a, b, radius_m, ratio)
    sa, sb = np.arange(0, len(a), every), np.arange(0, len(b), every)
    sub = (rows[0].subset(sa), rows[1].subset(sb))
    ia, ib, d = rows_ratio_matches(sub, a[sa], b[sb], radius_m, ratio)
    return sa[ia], sb[ib], d


def pair_rows(fa: FrameFeatures, fb: FrameFeatures) -> tuple[DescriptorRows, DescriptorRows]:
    """The descriptor rows of a pair, both compared by ``fa``'s norm."""
    return DescriptorRows.of(fa.descriptors, fa.norm), DescriptorRows.of(fb.descriptors, fa.norm)


def ransac_similarity(a: F64, b: F64, thr_m: float) -> tuple[F64, NDArray[np.bool_]] | None:
    """Similarity b ~ M a (2 x 3, map metres) by RANSAC (inlier threshold ``thr_m``
    metres), and the inlier mask; None under three points or without a fit."""
    if len(a) < 3:
        return None
    o = a.mean(axis=0)
    m, inl = cv2.estimateAffinePartial2D((a - o).astype(np.float64), (b - o).astype(np.float64),
                                         method=cv2.RANSAC, ransacReprojThreshold=thr_m,
                                         maxIters=4000, confidence=0.999, refineIters=10)
    if m is None or inl is None:
        return None
    out = np.array(m, dtype=np.float64)
    out[:, 2] += o - out[:, :2] @ o  # back to absolute coordinates
    return out, np.asarray(inl).ravel().astype(bool)


def _rematch(fa: FrameFeatures, fb: FrameFeatures, rows: tuple[DescriptorRows, DescriptorRows],
             a: F64, b: F64, m: F64, gsd: float, first: tuple[I64, I64, F64, NDArray[np.bool_]],
             config: MatchConfig) -> tuple[I64, I64, F64, NDArray[np.bool_]]:
    """Second pass: a tight gate around the first similarity; keeps whichever pass has
    more inliers."""
    a_pred = a @ m[:, :2].T + m[:, 2]
    ia, ib, d = ratio_matches(fa, fb, a_pred, b, config.rematch_px * gsd, config.ratio, rows)
    fit = ransac_similarity(a[ia], b[ib], config.ransac_px * gsd)
    if fit is None or fit[1].sum() <= first[3].sum():
        return first
    return ia, ib, d, fit[1]


def spread(points: F64, cost: F64, max_n: int, cells: int, ranked: bool = False) -> I64:
    """Indices of at most ``max_n`` points spread over a ``cells`` x ``cells`` grid of
    their bounding box: the lowest-cost point of each cell first, then the next, ...
    Ascending, or with ``ranked`` in that order (so the first k are ``spread`` of k)."""
    if len(points) <= max_n and not ranked:
        return np.arange(len(points))
    lo, hi = points.min(axis=0), points.max(axis=0)
    cell = np.floor((points - lo) / np.maximum(hi - lo, 1e-9) * (cells - 1e-9)).astype(np.int64)
    key = cell[:, 0] * cells + cell[:, 1]
    order = np.lexsort((cost, key))
    k_sorted = key[order]
    start = np.r_[0, np.flatnonzero(np.diff(k_sorted)) + 1]
    rank = np.arange(len(order)) - np.repeat(start, np.diff(np.r_[start, len(order)]))
    pick = order[np.lexsort((cost[order], rank))][:max_n]
    return pick if ranked else np.sort(pick)
