"""Tie points of two thermal frames by optical flow, guided by their poses: no descriptors.

SIFT finds, describes and compares keypoints because it does not know where a point of
one frame is in the other. With the poses it nearly does (a few working pixels off), so
a pair of thermal frames is tied like this instead:

1. each frame once (``frame_image``): its temperatures on the working image (320 px,
   area-averaged) and its corners (Shi-Tomasi, ``cv2.goodFeaturesToTrack``);
2. per pair (``flow_pair``): the homography that takes frame a's working pixels to b's
   through the two frames' current placement (a grid of a's pixels onto the ground and
   into b), b warped onto a's pixels with it, both stretched to 8 bits over the *same*
   temperature span (the frames are radiometric: the same ground gives the same grey in
   both, which the flow assumes; per-frame stretches and CLAHE would break that). The
   span runs between two percentiles as they are, also where a fire fills more than
   the top one and the ground keeps a few grey levels: the fire's edges then carry the
   ties (``tests/stitching/test_flow``: every pair, where SIFT ties 1 of 6); capping
   the span saturates the fire, which moves its blurred edges (0.3-0.9 px against
   0.1-0.25 px there);
3. the overlap's common shift by phase correlation at half resolution (what the
   placement is off by, up to 0.4 of the overlap's box on each axis: 6 m between two
   frames at 40 m, 60 working pixels, is found; the flow's pyramid alone reaches about
   25), then a's corners tracked into the warped b by pyramidal Lucas-Kanade from there
   (the best spread 64, and 32 more where fewer than 40 of those hold), and back again
   (a being whichever frame of the pair has more corners; the outcome still reads a to
   b); a corner is kept where the way back returns within
   ``fb_max_px`` and the two windows correlate (``min_ncc``: noise does not);
4. the tracked positions taken back through the homography to b's own pixels and both
   onto the ground (raw, uncorrected geometry), checked as ``match`` checks descriptor
   matches: RANSAC for a similarity, refused outside the gate's rotation and scale, at
   least ``min_inliers``, spread over the overlap.

A corner is a *position* here, not a descriptor, so a low-texture frame whose corners
barely stand above the noise still ties where its neighbour shows the same texture;
what matters is the gradient the window sees, which Lucas-Kanade weighs itself. On
frames rendered from real thermal scenes the ties land closer than SIFT's (median 0.14-0.22
against 0.62-0.83 px on a low-contrast FLIR Duo Pro R frame, ``tests/stitching/test_flow``);
on the 300-frame simulated flight tying costs about a third of the CPU of SIFT and its
matching (about 18 against 53 ms a frame).
The homography is exact for the flat ground of a pinhole camera and close otherwise
(lens distortion, a DEM); it only has to bring b within the flow's reach, since the
tracked points go back through the same homography.

This needs the rotation between the frames (the warp); where a frame's heading is
unknown (``Gate.guided`` false), registration uses descriptor features (``features``).
All OpenCV calls here release the GIL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.features import raw_map
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.match import Gate, MatchConfig, PairMatch, ransac_similarity, spread
from dronepipe.stitching.normalise import (
    NormaliseConfig,
    detection_mask,
    frame_stats,
    stretch,
    work_size,
)

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class FlowConfig:
    """``normalise``: the working size (``max_side_px``) and the temperature percentiles
    that span the 8-bit stretch (``thermal_percentiles``, sampled as ``stats_sample_px``);
    ``corners``: at most this many corners a frame, ``corner_quality`` of the strongest
    one's response (0.003 left frames of the sample flight that are flat but for a few
    hot objects with 55 corners, and 4 of their pairs untied) and ``corner_spacing_px``
    apart (working pixels); ``tracked``: at
    most this many of them tracked a pair, spread over the overlap (64 costs a fifth less
    in the pairs and ties the textured simulated flight as well, but a scene whose detail
    is at the sensor's noise much worse: 11.9 px against 6.7 px left in the twin-rig test),
    in two rounds: the first ``tracked_first`` of the spread, and the rest only where
    fewer than ``enough_tracked`` of those held (a flat scene tracks all 96, with the
    same outcome as at once; on the 300-frame simulated flight the second round ran for
    62 of 986 pairs, ties fell from 62,143 to 47,888 and the pairs' CPU by 12-18 %, the
    mosaic the same: RMSE 0.8389 against 0.8391 m, seam 0.294 / 0.716 px both);
    ``window_px``: the flow's window side (13 px: seam 0.307 against 0.291 px on sim300);
    ``levels``: pyramid levels above the working image (with a
    phase-correlation shift to start from, a single level ties slightly worse: seam
    0.310 against 0.294 px on the 300-frame simulated flight, at no gain in time);
    ``iterations``: Lucas-Kanade's iterations at most per level;
    ``fb_max_px``: largest forward-backward disagreement kept (working pixels; 0 = no
    way back: one Lucas-Kanade pass fewer, seam 0.294 -> 0.322 px on sim300);
    ``min_ncc``: least normalised cross-correlation of the two windows where a corner
    was tracked to (``window_ncc``);
    ``grid``: homography samples per side of frame a; ``phase_min_response``: a phase
    correlation peak below this is not trusted (the placement's shift is used);
    ``partners``: each frame's most overlapping partners in a block tied by flow (fewer
    than features' 8: with flow the pairs take about half of registration's CPU, and on
    the 300-frame simulated flight 6 gave the same mosaic, RMSE 0.8395 against 0.8408 m,
    seam 0.291 against 0.294 px, for 986 pairs instead of 1298)."""

    normalise: NormaliseConfig = NormaliseConfig(max_side_px=320)
    corners: int = 400
    corner_quality: float = 0.001
    tracked: int = 96
    tracked_first: int = 64
    enough_tracked: int = 40
    corner_spacing_px: float = 5.0
    window_px: int = 15
    levels: int = 2
    iterations: int = 30
    fb_max_px: float = 0.3
    min_ncc: float = 0.8
    grid: int = 6
    phase_min_response: float = 0.05
    partners: int = 6


@dataclass(frozen=True)
class FrameImage:
    """What flow needs of one frame: ``temps`` (working size, degrees C, unread pixels
    filled with the median), ``valid`` (255 where read), ``corners`` (N, 2 working
    pixels, centre convention) and ``corners_raw`` their raw ground points (N, 2 metres,
    uncorrected geometry; NaN where the ray misses the ground), ``lattice`` (G, 2
    working pixels) and ``lattice_raw`` (G, 2 metres) the same for the homography's
    samples, ``scale`` (full pixels per working pixel), ``span``
    (two temperature percentiles, degrees C) and ``work_gsd_m`` (metres a working
    pixel at the image centre). The ground points are the frame's own, found once
    rather than for each of its pairs."""

    frame_id: str
    temps: F32 = field(repr=False)
    valid: U8 = field(repr=False)
    corners: F64 = field(repr=False)
    corners_raw: F64 = field(repr=False)
    lattice: F64 = field(repr=False)
    lattice_raw: F64 = field(repr=False)
    scale: float
    span: tuple[float, float]
    work_gsd_m: float

    def __len__(self) -> int:
        return len(self.corners)

    def to_full_px(self, uv: F64) -> F64:
        """Working pixel positions (N, 2) to the frame's own pixels (centres)."""
        return (uv + 0.5) * self.scale - 0.5

    def to_work_px(self, uv: F64) -> F64:
        """The frame's own pixel positions (N, 2) to working pixels (centres)."""
        return (uv + 0.5) / self.scale - 0.5


@dataclass(frozen=True)
class FlowTies:
    """One pair's outcome: the ``match`` (``idx_a``/``idx_b`` index the arrays here) and
    the tracked points in both frames' own pixels (T, 2) and raw ground points (T, 2 m)."""

    match: PairMatch
    uv_a: F64 = field(repr=False)
    uv_b: F64 = field(repr=False)
    raw_a: F64 = field(repr=False)
    raw_b: F64 = field(repr=False)


def frame_image(gf: GeoFrame, pixels: np.ndarray, config: FlowConfig = FlowConfig()) -> FrameImage:
    """A thermal frame's working temperatures and corners (see module)."""
    t = np.asarray(pixels, dtype=np.float32)
    if t.ndim != 2:
        raise ValueError(f"flow registration needs one band of temperatures, got shape {t.shape}")
    h, w = t.shape
    n = config.normalise
    size = work_size(w, h, n)
    valid = np.isfinite(t)
    if not valid.any():
        raise ValueError("no readable pixel in the frame")
    lo, hi, med = frame_stats(t, n.thermal_percentiles, n.stats_sample_px)
    filled = t if valid.all() else np.where(valid, t, np.float32(med))
    temps = cv2.resize(filled, size, interpolation=cv2.INTER_AREA) if size != (w, h) else filled
    mask = detection_mask(valid, size)
    gray = stretch(temps, lo, hi)
    pts = cv2.goodFeaturesToTrack(gray, config.corners, config.corner_quality,
                                  config.corner_spacing_px, mask=mask, blockSize=5)
    corners = np.zeros((0, 2)) if pts is None else pts.reshape(-1, 2).astype(np.float64)
    sc = w / size[0]
    gu, gv = np.meshgrid(np.linspace(0, size[0] - 1, config.grid),
                         np.linspace(0, size[1] - 1, config.grid))
    lattice = np.stack([gu.ravel(), gv.ravel()], -1)
    full = (np.concatenate([corners, lattice]) + 0.5) * sc - 0.5
    raw = raw_map(gf, full[:, 0], full[:, 1])
    return FrameImage(gf.frame_id, np.ascontiguousarray(temps, np.float32), mask, corners,
                      raw[:len(corners)], lattice, raw[len(corners):], sc, (lo, hi),
                      gf.gsd_m * sc)


def flow_pair(ga: GeoFrame, gb: GeoFrame, ia: FrameImage, ib: FrameImage, gate: Gate,
              match: MatchConfig = MatchConfig(), config: FlowConfig = FlowConfig()) -> FlowTies:
    """Tie points of frames a and b by guided flow (see module); never raises for a bad
    pair. The frame with more corners is the one tracked from (a frame that is flat but
    for a few hot objects may have a few dozen, its neighbour hundreds)."""
    if len(ib) > len(ia):
        return _swapped(_tracked_from_a(gb, ga, ib, ia, gate, match, config))
    return _tracked_from_a(ga, gb, ia, ib, gate, match, config)


def _swapped(ft: FlowTies) -> FlowTies:
    """A pair's outcome with its frames' roles exchanged (the similarity inverted)."""
    m = ft.match
    back = replace(m, rot_rad=-m.rot_rad, log_scale=-m.log_scale, idx_a=m.idx_b, idx_b=m.idx_a)
    return FlowTies(back, ft.uv_b, ft.uv_a, ft.raw_b, ft.raw_a)


def _tracked_from_a(ga: GeoFrame, gb: GeoFrame, ia: FrameImage, ib: FrameImage, gate: Gate,
                    match: MatchConfig, config: FlowConfig) -> FlowTies:
    """``flow_pair`` with a's corners tracked into b."""
    hom = work_homography(ga, gb, ia, ib)
    if hom is None:
        return _refused(gate, "no overlap through the placement")
    h, w = ia.temps.shape
    span = (min(ia.span[0], ib.span[0]), max(ia.span[1], ib.span[1]))
    gray_a = stretch(ia.temps, *span)
    flags = cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(stretch(ib.temps, *span), hom, (w, h), flags=cv2.INTER_LINEAR | flags)
    wvalid = cv2.warpPerspective(ib.valid, hom, (w, h), flags=cv2.INTER_NEAREST | flags,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    both = cv2.erode(cv2.bitwise_and(ia.valid, wvalid), np.ones((3, 3), np.uint8))
    idx = np.flatnonzero(_inside_mask(ia.corners, both) & np.isfinite(ia.corners_raw).all(axis=1))
    idx = idx[spread(ia.corners[idx], idx.astype(np.float64), config.tracked,
                     match.spread_cells, ranked=True)]
    if len(idx) < match.min_inliers:
        return _refused(gate, "too few corners in the overlap")
    shift = phase_shift(gray_a, warped, both, config.phase_min_response)
    idx, pb, err = _tracked_in_rounds(gray_a, warped, ia.corners, idx,
                                      np.zeros(2) if shift is None else shift, both, config)
    if len(pb) < match.min_inliers:
        return _refused(gate, "too few corners tracked", len(pb))
    uv_b = ib.to_full_px(_transform(hom, pb))
    return _checked(ga, gb, (ia.to_full_px(ia.corners[idx]), ia.corners_raw[idx]), uv_b, err,
                    gate, match, max(ia.work_gsd_m, ib.work_gsd_m))


def _tracked_in_rounds(gray_a: U8, warped: U8, corners: F64, ranked: I64, shift: F64,
                       both: U8, config: FlowConfig) -> tuple[I64, F64, F64]:
    """``track`` the corners ``ranked`` (indices into ``corners``, spread order): the
    first ``config.tracked_first``, and the rest only where fewer than
    ``config.enough_tracked`` of those held. Returns the kept corners' indices
    (ascending), their positions in the warped b and forward-backward errors: what
    tracking them all at once gives, since each corner is tracked on its own."""
    first, rest = ranked[:config.tracked_first], ranked[config.tracked_first:]
    kept, pb, err = track(gray_a, warped, corners[first], shift, both, config)
    idx = first[kept]
    if len(idx) < config.enough_tracked and len(rest):
        more, pb_more, err_more = track(gray_a, warped, corners[rest], shift, both, config)
        idx = np.concatenate([idx, rest[more]])
        pb, err = np.concatenate([pb, pb_more]), np.concatenate([err, err_more])
    order = np.argsort(idx)
    return idx[order], pb[order], err[order]


def work_homography(ga: GeoFrame, gb: GeoFrame, ia: FrameImage, ib: FrameImage) -> F64 | None:
    """The homography (3 x 3) from a's working pixels to b's through the frames' current
    placement, fitted to a's lattice of pixels where it lands near b's image; None
    where too few do."""
    work_a = ia.lattice
    e, n = ga.correction.apply(ia.lattice_raw[:, 0], ia.lattice_raw[:, 1])
    u, v, _, _ = gb.project_points(e, n)
    work_b = ib.to_work_px(np.stack([u, v], -1))
    hb, wb = ib.temps.shape
    near = (np.isfinite(work_b).all(axis=1) & (work_b[:, 0] > -0.5 * wb) & (work_b[:, 0] < 1.5 * wb)
            & (work_b[:, 1] > -0.5 * hb) & (work_b[:, 1] < 1.5 * hb))
    if near.sum() < 6:
        return None
    hom, _ = cv2.findHomography(work_a[near], work_b[near], 0)
    return None if hom is None else np.asarray(hom, np.float64)


def phase_shift(gray_a: U8, warped: U8, both: U8, min_response: float) -> F64 | None:
    """The shift (2, working pixels) of the warped b against a over their overlap by phase
    correlation at half resolution (windowed, each image's pixels outside the overlap at
    its mean there, the box cut to even sizes the FFT is fast at); None where the peak is weak
    or the overlap small. Half a working pixel is close enough: the flow refines it."""
    rows, cols = both.shape[0] // 2, both.shape[1] // 2  # whole half-resolution pixels
    ys, xs = np.nonzero(both[:2 * rows:2, :2 * cols:2])
    if len(xs) < 32 * 32:
        return None
    y0, x0 = int(ys.min()), int(xs.min())
    hh = _fft_size(int(ys.max()) + 1 - y0, rows - y0)
    ww = _fft_size(int(xs.max()) + 1 - x0, cols - x0)
    box = (slice(2 * y0, 2 * (y0 + hh)), slice(2 * x0, 2 * (x0 + ww)))
    m = cv2.resize(both[box], (ww, hh), interpolation=cv2.INTER_NEAREST) > 0
    if m.sum() < 32 * 32:
        return None
    patches = []
    for img in (gray_a, warped):
        p = cv2.resize(img[box], (ww, hh), interpolation=cv2.INTER_AREA).astype(np.float32)
        p[~m] = float(p[m].mean())
        patches.append(p)
    win = cv2.createHanningWindow((ww, hh), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(patches[0], patches[1], win)
    if not (response >= min_response and abs(dx) <= 0.4 * ww and abs(dy) <= 0.4 * hh):
        return None  # a weak peak, too far to trust, or NaN (no contrast at all)
    return 2.0 * np.array([dx, dy])


def _fft_size(n: int, room: int) -> int:
    """A size for the phase correlation of ``n`` pixels with ``room`` available: the
    smallest even size of at least ``n`` that the FFT is fast at (2, 3, 5 smooth), else
    the largest within ``room``. Even, because OpenCV measures the shift from the
    centre ``size / 2``, half a pixel off the peak's zero on an odd size."""
    def good(k: int) -> bool:
        return k % 2 == 0 and cv2.getOptimalDFTSize(k) == k

    up = next(k for k in range(max(n, 2), 2 * n + 3) if good(k))
    if up <= room:
        return up
    return next((k for k in range(min(n, room), 1, -1) if good(k)), max(min(n, room), 1))


def track(gray_a: U8, warped: U8, start: F64, shift: F64, both: U8,
          config: FlowConfig) -> tuple[I64, F64, F64]:
    """Corners ``start`` (N, 2) of a tracked into the warped b from ``start + shift`` and
    back: which were kept (indices into ``start``), their positions in the warped b,
    and their forward-backward error (working pixels)."""
    p0 = start.astype(np.float32).reshape(-1, 1, 2)
    guess = (start + shift).astype(np.float32).reshape(-1, 1, 2)
    win = (config.window_px, config.window_px)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, config.iterations, 0.01)
    fwd, st1, _ = cv2.calcOpticalFlowPyrLK(gray_a, warped, p0, guess, winSize=win,
                                           maxLevel=config.levels, criteria=crit,
                                           flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
    end = fwd.reshape(-1, 2).astype(np.float64)
    if config.fb_max_px > 0:
        back, st2, _ = cv2.calcOpticalFlowPyrLK(warped, gray_a, fwd, p0.copy(), winSize=win,
                                                maxLevel=config.levels, criteria=crit,
                                                flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1).astype(np.float64)
        ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < config.fb_max_px)
    else:
        fb = np.zeros(len(end))
        ok = st1.ravel() == 1
    ok &= _inside_mask(end, both)
    idx = np.flatnonzero(ok)
    ncc = window_ncc(gray_a, warped, start[idx], end[idx], config.window_px)
    good = ncc >= config.min_ncc
    return idx[good], end[idx[good]], fb[idx[good]]


def window_ncc(img_a: U8, img_b: U8, at_a: F64, at_b: F64, side: int) -> F64:
    """Normalised cross-correlation (N,) of ``side`` x ``side`` windows of ``img_a`` at
    ``at_a`` and of ``img_b`` at ``at_b`` (N, 2 pixels, bilinear): where the flow found
    the same texture it is near 1; a window of sensor noise, which the flow happily
    "tracks" to where it started (no gradient moves it, so the way back agrees), gives
    near 0."""
    if not len(at_a):
        return np.zeros(0)
    off = np.arange(side, dtype=np.float32) - (side - 1) / 2.0
    patches = []
    for img, at in ((img_a, at_a), (img_b, at_b)):
        mx = (at[:, 0, None, None] + off[None, None, :]).astype(np.float32)
        my = (at[:, 1, None, None] + off[None, :, None]).astype(np.float32)
        mx, my = np.broadcast_arrays(mx, my)
        got = cv2.remap(img, np.ascontiguousarray(mx.reshape(-1, side)),
                        np.ascontiguousarray(my.reshape(-1, side)), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        p = got.reshape(len(at), side * side).astype(np.float64)
        patches.append(p - p.mean(axis=1, keepdims=True))
    pa, pb = patches
    den = np.sqrt((pa * pa).sum(axis=1) * (pb * pb).sum(axis=1))
    return np.where(den > 0, (pa * pb).sum(axis=1) / np.maximum(den, 1e-12), 0.0)


def _checked(ga: GeoFrame, gb: GeoFrame, corners_a: tuple[F64, F64], uv_b: F64, err: F64,
             gate: Gate, match: MatchConfig, gsd: float) -> FlowTies:
    """The tracked points onto the ground, RANSAC, the gate's plausibility and spread;
    ``corners_a``: a's tracked corners in its own pixels and their raw ground points."""
    uv_a, raw_a = corners_a
    raw_b = raw_map(gb, uv_b[:, 0], uv_b[:, 1])
    ok = np.isfinite(raw_a).all(axis=1) & np.isfinite(raw_b).all(axis=1)
    uv_a, uv_b, raw_a, raw_b, err = uv_a[ok], uv_b[ok], raw_a[ok], raw_b[ok], err[ok]
    a = np.stack(ga.correction.apply(raw_a[:, 0], raw_a[:, 1]), -1)
    b = np.stack(gb.correction.apply(raw_b[:, 0], raw_b[:, 1]), -1)
    fit = ransac_similarity(a, b, match.ransac_px * gsd)
    n = 0 if fit is None else int(fit[1].sum())
    if fit is None or n < match.min_inliers or n < match.min_inlier_ratio * len(a):
        return FlowTies(PairMatch(len(a), n, False, "too few RANSAC inliers", gate.guided),
                        uv_a, uv_b, raw_a, raw_b)
    m, inl = fit
    rot, log_s = math.atan2(m[1, 0], m[0, 0]), math.log(math.hypot(m[0, 0], m[1, 0]))
    if abs(rot) > gate.max_rot_rad or abs(log_s) > gate.max_log_scale:
        why = (f"implausible similarity (rotation {math.degrees(rot):.1f} deg, "
               f"scale {math.exp(log_s):.3f})")
        return FlowTies(PairMatch(len(a), n, False, why, gate.guided, rot, log_s),
                        uv_a, uv_b, raw_a, raw_b)
    idx = np.flatnonzero(inl)
    keep = idx[spread(a[idx], err[idx], match.max_ties, match.spread_cells)]
    return FlowTies(PairMatch(len(a), n, True, "", gate.guided, rot, log_s, keep, keep),
                    uv_a, uv_b, raw_a, raw_b)


def _refused(gate: Gate, reason: str, candidates: int = 0) -> FlowTies:
    empty = np.zeros((0, 2))
    return FlowTies(PairMatch(candidates, 0, False, reason, gate.guided), empty, empty, empty, empty)


def _inside_mask(points: F64, mask: U8) -> NDArray[np.bool_]:
    """Whether each point's (N, 2) nearest pixel is inside ``mask`` and set."""
    h, w = mask.shape
    ij = np.rint(points).astype(np.int64)
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    ok[ok] = mask[ij[ok, 1], ij[ok, 0]] > 0
    return ok


def _transform(hom: F64, points: F64) -> F64:
    """Points (N, 2) through a homography."""
    if not len(points):
        return points
    out = cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), hom)
    return np.asarray(out, np.float64).reshape(-1, 2)
