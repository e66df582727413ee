"""Time sync: every frame gets a ``Pose`` from the log, or a reason why not.

A frame's capture time is on the camera's clock; the log is on UTC. The offset
between them (``t_utc = t_camera + offset_s``) is found, in order of trust:

1. **camera events** (CAMERA_FEEDBACK, CAM): the sequence of frame times is aligned
   with the sequence of trigger times. Missed triggers (a frame without an event) and
   extra ones (an event without a frame) are expected, so no index pairing is
   assumed: the offset is the mode of all pairwise differences (the alignment that
   lines up most pairs within a tolerance), refined by the median of the
   nearest-neighbour residuals, then pairs are matched one-to-one within the
   tolerance and the unmatched on both sides reported. A frame is posed at its
   event's time (the autopilot's own pose stored with the trigger where it has one);
   a frame without an event at its time plus the offset.
2. **EXIF GPS against the track**: the offset that brings the frames' own GPS
   positions onto the logged track, found by a coarse search of the median distance
   over the whole range of offsets the two time spans allow, then Gauss-Newton with
   outlier trimming along the track's velocity.
3. **the files' own UTC** (an EXIF time with a zone offset, DJI's ``UTCAtExposure``),
   or a hand-given ``time_offset_s``.

Nothing is guessed: a frame outside the log or in a telemetry gap is ``Rejected``
with the log's reason. The ``SyncReport`` gives the method, the offset and its
residuals (seconds for events, metres for GPS), and what was left unmatched.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.errors import NoPoseError
from dronepipe.flightlogs.records import CameraEvent
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.tracks import PositionTrack
from dronepipe.frames.refs import FrameRef, Posed, PoseResult, Rejected
from dronepipe.geodesy import UtmFrame

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
Method = Literal["auto", "events", "gps", "file-utc", "offset"]


@dataclass(frozen=True)
class EventMatch:
    """Frames aligned with camera events: ``t_event = t_frame + offset_s``.

    ``pairs``: (frame index, event index), one-to-one, in time order;
    ``residuals_s``: event time minus (frame time + offset) per pair;
    ``runner_up``: (offset, pairs) of the best alignment that is not this one, to
    judge how clear-cut the match is (None where there was no other).
    """

    offset_s: float
    pairs: tuple[tuple[int, int], ...]
    residuals_s: tuple[float, ...]
    unmatched_frames: tuple[int, ...]
    unmatched_events: tuple[int, ...]
    tolerance_s: float
    runner_up: tuple[float, int] | None = None


@dataclass(frozen=True)
class GpsOffset:
    """The clock offset that brings the frames' GPS positions onto the track.

    ``residuals_m``: horizontal distance per used frame after alignment;
    ``sigma_s``: the offset's standard error from the fit; ``used``: frame indices
    that were inside the track and not trimmed as outliers.
    """

    offset_s: float
    residuals_m: tuple[float, ...]
    used: tuple[int, ...]
    sigma_s: float


@dataclass(frozen=True)
class SyncReport:
    """How the frames were put on the log's clock, for the log and ``process.json``."""

    method: str
    offset_s: float | None
    residual_unit: str = ""
    residual_median: float | None = None
    residual_max: float | None = None
    n_frames: int = 0
    n_posed: int = 0
    unmatched_frames: tuple[str, ...] = ()
    unmatched_events: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The report as plain JSON-able values."""
        return asdict(self)


@dataclass(frozen=True)
class SyncResult:
    """One ``Posed`` or ``Rejected`` per input frame (same order), and the report."""

    results: tuple[PoseResult, ...]
    report: SyncReport

    @property
    def posed(self) -> tuple[Posed, ...]:
        return tuple(r for r in self.results if isinstance(r, Posed))

    @property
    def rejected(self) -> tuple[Rejected, ...]:
        return tuple(r for r in self.results if isinstance(r, Rejected))


# ---------------------------------------------------------------- camera events

def match_events(frame_t: ArrayLike, event_t: ArrayLike, *, tolerance_s: float | None = None,
                 resolution_s: float = 0.0, max_frames: int = 400,
                 tie_break: Callable[[float], float] | None = None) -> EventMatch | None:
    """Align frame capture times (camera clock, s) with trigger times (UTC, s).

    ``resolution_s``: how finely the frame times are written (1.0 for EXIF without
    sub-seconds: the camera truncates, so the offset is corrected by half of it).
    ``tolerance_s``: largest residual of a matched pair (default 0.1 s plus the
    resolution, at most 0.4 of the median trigger interval). ``tie_break(offset)``
    returns a cost (lower is better) to choose between alignments that match equally
    many pairs, e.g. the distance between EXIF and event positions. Returns None when
    fewer than two pairs line up.
    """
    f = np.asarray(frame_t, dtype=np.float64)
    e = np.asarray(event_t, dtype=np.float64)
    if f.size == 0 or e.size == 0:
        return None
    tol = _tolerance(e, tolerance_s, resolution_s)
    candidates = _offset_modes(f, e, tol, max_frames)
    scored = [(_score(f, e, d, tol), d) for d in candidates]
    scored = [(s, d) for s, d in scored if s[0] >= 2]
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0][0], s[0][1]))
    best_n = scored[0][0][0]
    if tie_break is not None:
        close = [s for s in scored if s[0][0] >= best_n - 1]
        if len(close) > 1:
            close.sort(key=lambda s: tie_break(s[1]))
            scored = close + [s for s in scored if s not in close]
    d, runner = scored[0][1], (scored[1] if len(scored) > 1 else None)
    d = _refine_offset(f, e, d, tol)
    match = _one_to_one(f, e, d, tol)
    shift = resolution_s / 2.0 if resolution_s >= 0.05 else 0.0
    return replace(match, offset_s=match.offset_s - shift,
                   runner_up=(runner[1] - shift, runner[0][0]) if runner else None)


def _tolerance(e: F64, tolerance_s: float | None, resolution_s: float) -> float:
    if tolerance_s is not None:
        return tolerance_s
    tol = 0.1 + resolution_s
    gaps = np.diff(np.sort(e))
    gaps = gaps[gaps > 0]
    if gaps.size:
        tol = min(tol, 0.4 * float(np.median(gaps)))
    return tol


def _offset_modes(f: F64, e: F64, tol: float, max_frames: int, keep: int = 8) -> list[float]:
    """Centres of the most populated windows (width 2 tol) of pairwise differences."""
    sub = f if f.size <= max_frames else f[np.linspace(0, f.size - 1, max_frames).astype(int)]
    d = np.sort((e[None, :] - sub[:, None]).ravel())
    counts = np.searchsorted(d, d + 2 * tol, side="right") - np.arange(d.size)
    out: list[float] = []
    for i in np.argsort(-counts, kind="stable"):
        centre = float(np.median(d[i:i + counts[i]]))
        if all(abs(centre - c) > 2 * tol for c in out):
            out.append(centre)
        if len(out) >= keep:
            break
    return out


def _score(f: F64, e: F64, d: float, tol: float) -> tuple[int, float]:
    """(pairs within tolerance, RMS residual) of an offset."""
    r = _nearest_residuals(f, e, d)
    good = np.abs(r) <= tol
    return int(good.sum()), float(np.sqrt(np.mean(r[good] ** 2))) if good.any() else math.inf


def _nearest_residuals(f: F64, e: F64, d: float) -> F64:
    """Per frame: nearest event time minus (frame time + d)."""
    es = np.sort(e)
    q = f + d
    i = np.clip(np.searchsorted(es, q), 1, max(es.size - 1, 1))
    lo, hi = es[np.clip(i - 1, 0, es.size - 1)], es[np.clip(i, 0, es.size - 1)]
    return np.where(np.abs(lo - q) <= np.abs(hi - q), lo - q, hi - q)


def _refine_offset(f: F64, e: F64, d: float, tol: float) -> float:
    for _ in range(3):
        r = _nearest_residuals(f, e, d)
        good = np.abs(r) <= tol
        if not good.any():
            break
        d += float(np.median(r[good]))
    return d


def _one_to_one(f: F64, e: F64, d: float, tol: float) -> EventMatch:
    """Greedy one-to-one matching by smallest residual within the tolerance."""
    cand: list[tuple[float, int, int]] = []
    order = np.argsort(e)
    es = e[order]
    for i, q in enumerate(f + d):
        lo, hi = np.searchsorted(es, q - tol), np.searchsorted(es, q + tol, side="right")
        cand.extend((abs(es[k] - q), i, int(order[k])) for k in range(lo, hi))
    cand.sort()
    used_f: set[int] = set()
    used_e: set[int] = set()
    pairs = []
    for _, i, j in cand:
        if i not in used_f and j not in used_e:
            used_f.add(i)
            used_e.add(j)
            pairs.append((i, j))
    pairs.sort()
    res = tuple(float(e[j] - (f[i] + d)) for i, j in pairs)
    if pairs:
        d += float(np.median(res))
        res = tuple(float(e[j] - (f[i] + d)) for i, j in pairs)
    return EventMatch(d, tuple(pairs), res, tuple(i for i in range(f.size) if i not in used_f),
                      tuple(j for j in range(e.size) if j not in used_e), tol)


# ---------------------------------------------------------------- EXIF GPS vs track

def estimate_offset_from_gps(frame_t: ArrayLike, frame_lat: ArrayLike, frame_lon: ArrayLike,
                             track: PositionTrack, *, coarse_step_s: float = 0.5,
                             min_frames: int = 3) -> GpsOffset | None:
    """The offset (``t_utc = t_camera + offset``) that best puts the frames' GPS
    positions on the logged track; None where fewer than ``min_frames`` frames can be
    compared or the track does not move enough to tell.

    Coarse: every ``coarse_step_s`` over all offsets that put at least half the
    frames inside the track, scored by the median horizontal distance. Fine: Gauss-
    Newton on the offset along the track velocity, trimming residuals over 3x their
    median absolute deviation (at least 2 m).
    """
    f = np.asarray(frame_t, dtype=np.float64)
    ok = np.isfinite(f) & np.isfinite(np.asarray(frame_lat, float)) & np.isfinite(np.asarray(frame_lon, float))
    if ok.sum() < min_frames or len(track) < 2:
        return None
    utm = UtmFrame.for_point(float(track.lon_deg[0]), float(track.lat_deg[0]))
    te, tn = utm.to_grid(track.lon_deg, track.lat_deg)
    fe, fn = utm.to_grid(np.asarray(frame_lon, float)[ok], np.asarray(frame_lat, float)[ok])
    tt, ff = track.t_utc_s, f[ok]
    d0 = _coarse_gps_offset(tt, te, tn, ff, fe, fn, coarse_step_s, min_frames)
    if d0 is None:
        return None
    fit = _gauss_newton_offset(tt, te, tn, ff, fe, fn, d0)
    if fit is None:
        return None
    d, used, res, sigma = fit
    if used.sum() < min_frames:
        return None
    idx = np.flatnonzero(ok)[used]
    return GpsOffset(d, tuple(float(r) for r in res[used]), tuple(int(i) for i in idx), sigma)


def _coarse_gps_offset(tt: F64, te: F64, tn: F64, ff: F64, fe: F64, fn: F64,
                       step: float, min_frames: int) -> float | None:
    lo, hi = tt[0] - ff.max(), tt[-1] - ff.min()
    offsets = np.arange(lo, hi + step, step)
    best, best_cost = None, math.inf
    for chunk in np.array_split(offsets, max(1, offsets.size * ff.size // 2_000_000 + 1)):
        q = ff[None, :] + chunk[:, None]
        inside = (q >= tt[0]) & (q <= tt[-1])
        dist = np.hypot(np.interp(q, tt, te) - fe, np.interp(q, tt, tn) - fn)
        dist[~inside] = np.nan
        n_in = inside.sum(axis=1)
        enough = n_in >= max(min_frames, (ff.size + 1) // 2)
        if not enough.any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows of all NaN
            cost = np.nanmedian(np.where(enough[:, None], dist, np.nan), axis=1)
        k = int(np.nanargmin(np.where(enough, cost, np.inf)))
        if cost[k] < best_cost:
            best, best_cost = float(chunk[k]), float(cost[k])
    return best


def _gauss_newton_offset(tt: F64, te: F64, tn: F64, ff: F64, fe: F64, fn: F64,
                         d: float) -> tuple[float, NDArray[np.bool_], F64, float] | None:
    ve, vn = np.gradient(te, tt), np.gradient(tn, tt)
    used = np.ones(ff.size, dtype=bool)
    res = np.zeros(ff.size)
    sigma = math.inf
    for _ in range(20):
        q = ff + d
        inside = (q >= tt[0]) & (q <= tt[-1])
        re, rn = fe - np.interp(q, tt, te), fn - np.interp(q, tt, tn)
        res = np.hypot(re, rn)
        mad = float(np.median(res[inside])) if inside.any() else 0.0
        used = inside & (res <= max(3.0 * 1.4826 * mad, 2.0))
        we, wn = np.interp(q, tt, ve)[used], np.interp(q, tt, vn)[used]
        h = float(np.sum(we * we + wn * wn))
        if used.sum() < 2 or h < 1e-6:
            return None
        step = float(np.sum(we * re[used] + wn * rn[used])) / h
        d += step
        dof = max(int(used.sum()) * 2 - 1, 1)
        sigma = math.sqrt(float(np.sum(re[used] ** 2 + rn[used] ** 2)) / dof / h)
        if abs(step) < 1e-5:
            break
    return d, used, res, sigma


# ---------------------------------------------------------------- frames -> poses

def sync_frames(frames: Sequence[FrameRef], telemetry: Telemetry, *, method: Method = "auto",
                time_offset_s: float | None = None, tolerance_s: float | None = None) -> SyncResult:
    """Poses for the frames of ONE camera (one clock) from a log.

    ``method`` "auto" tries camera events, then EXIF GPS, then the files' own UTC,
    then ``time_offset_s`` (seconds to add to the camera clock to get UTC); any other
    value forces that one. Returns one result per frame, in the input order.
    """
    timed = [i for i, f in enumerate(frames) if f.t_camera_s is not None]
    results: list[PoseResult] = [Rejected(f, "no capture time in the file") for f in frames]
    if not timed:
        return SyncResult(tuple(results), SyncReport("none", None, n_frames=len(frames),
                                                     notes=("no frame has a capture time",)))
    sub = [frames[i] for i in timed]
    for name, attempt in _attempts(method, time_offset_s, tolerance_s):
        outcome = attempt(sub, telemetry)
        if outcome is None:
            continue
        posed, report = outcome
        for i, r in zip(timed, posed, strict=True):
            results[i] = r
        report = replace(report, n_frames=len(frames), n_posed=sum(r.ok for r in results))
        if time_offset_s is not None and report.offset_s is not None \
                and abs(report.offset_s - time_offset_s) > 1.0 and name != "offset":
            report = replace(report, notes=(*report.notes, (
                f"the hand-given offset {time_offset_s:+.3f} s differs from the {name} estimate "
                f"{report.offset_s:+.3f} s; the estimate was used")))
        _log_report(report)
        return SyncResult(tuple(results), report)
    reason = ("cannot align the camera clock with the log: no camera events matched, no EXIF "
              "GPS to compare with the track, no UTC in the files and no --time-offset given")
    return SyncResult(tuple(Rejected(f, reason) if not r.ok and f.t_camera_s is not None else r
                            for f, r in zip(frames, results, strict=True)),
                      SyncReport("none", None, n_frames=len(frames), notes=(reason,)))


Attempt = Callable[[Sequence[FrameRef], Telemetry], tuple[list[PoseResult], SyncReport] | None]


def _attempts(method: Method, time_offset_s: float | None,
              tolerance_s: float | None) -> list[tuple[str, Attempt]]:
    every: list[tuple[str, Attempt]] = [
        ("events", lambda fr, tel: _by_events(fr, tel, tolerance_s)),
        ("gps", _by_gps),
        ("file-utc", _by_file_utc),
    ]
    if time_offset_s is not None:
        every.append(("offset", lambda fr, tel: _by_offset(fr, tel, time_offset_s, "hand-given offset")))
    return every if method == "auto" else [a for a in every if a[0] == method]


def _log_report(report: SyncReport) -> None:
    log.info("time sync by %s: offset %s s, %d of %d frames posed, residual median %s %s",
             report.method, "n/a" if report.offset_s is None else f"{report.offset_s:+.3f}",
             report.n_posed, report.n_frames, report.residual_median, report.residual_unit)
    for note in report.notes:
        log.warning("time sync: %s", note)


def _by_events(frames: Sequence[FrameRef], tel: Telemetry,
               tolerance_s: float | None) -> tuple[list[PoseResult], SyncReport] | None:
    events = tel.camera_events
    if not events:
        return None
    f = np.array([fr.t_camera_s for fr in frames], dtype=np.float64)
    e = np.array([ev.t_utc_s for ev in events], dtype=np.float64)
    resolution = max(fr.meta.time_resolution_s for fr in frames)
    m = match_events(f, e, tolerance_s=tolerance_s, resolution_s=resolution,
                     tie_break=_position_tie_break(frames, events))
    if m is None or len(m.pairs) < max(2, 0.3 * min(f.size, e.size)):
        return None
    out: list[PoseResult] = [Rejected(fr, "") for fr in frames]
    for i, j in m.pairs:
        out[i] = _event_pose(frames[i], events[j], tel)
    loose = [frames[i] for i in m.unmatched_frames]
    for i, r in zip(m.unmatched_frames, _poses_at(loose, tel, m.offset_s,
                                                  "camera events offset (no trigger for this frame)"),
                    strict=True):
        out[i] = r
    notes = _event_notes(m, f.size, e.size)
    res = np.abs(np.asarray(m.residuals_s))
    return out, SyncReport("camera-events", m.offset_s, "s", float(np.median(res)), float(res.max()),
                           unmatched_frames=tuple(frames[i].name for i in m.unmatched_frames),
                           unmatched_events=tuple(float(e[j]) for j in m.unmatched_events), notes=notes)


def _position_tie_break(frames: Sequence[FrameRef], events: Sequence[CameraEvent]
                        ) -> Callable[[float], float] | None:
    """Median distance (m) between the frames' EXIF GPS and the nearest events' stored
    positions at an offset: tells periodic triggers apart where times alone cannot."""
    idx = [i for i, fr in enumerate(frames) if fr.meta.has_gps]
    ev = [k for k, e in enumerate(events) if e.pose is not None]
    if len(idx) < 3 or len(ev) < 3:
        return None
    et = np.array([events[k].t_utc_s for k in ev])
    order = np.argsort(et)
    et = et[order]
    lat = np.array([events[ev[k]].pose.lat_deg for k in order])  # type: ignore[union-attr]
    lon = np.array([events[ev[k]].pose.lon_deg for k in order])  # type: ignore[union-attr]
    utm = UtmFrame.for_point(float(lon[0]), float(lat[0]))
    ee, en = utm.to_grid(lon, lat)
    fe, fn = utm.to_grid(np.array([frames[i].meta.lon_deg for i in idx], dtype=np.float64),
                         np.array([frames[i].meta.lat_deg for i in idx], dtype=np.float64))
    ft = np.array([frames[i].t_camera_s for i in idx], dtype=np.float64)

    def cost(offset: float) -> float:
        j = np.clip(np.searchsorted(et, ft + offset), 0, et.size - 1)
        return float(np.median(np.hypot(ee[j] - fe, en[j] - fn)))

    return cost


def _event_notes(m: EventMatch, n_frames: int, n_events: int) -> tuple[str, ...]:
    notes = []
    if m.unmatched_frames:
        notes.append(f"{len(m.unmatched_frames)} of {n_frames} frames had no trigger event within "
                     f"{m.tolerance_s:.3f} s (posed at their time plus the offset)")
    if m.unmatched_events:
        notes.append(f"{len(m.unmatched_events)} of {n_events} trigger events had no frame")
    if m.runner_up is not None and m.runner_up[1] >= len(m.pairs) - 1:
        notes.append(f"ambiguous alignment: offset {m.runner_up[0]:+.3f} s matches {m.runner_up[1]} "
                     f"pairs, nearly as many as the chosen {len(m.pairs)}")
    return tuple(notes)


def _event_pose(frame: FrameRef, event: CameraEvent, tel: Telemetry) -> PoseResult:
    """The pose at a trigger: the autopilot's stored pose where the event has one (with the
    gimbal interpolated from the log where the log has a gimbal), else the log's pose."""
    label = f"camera event {event.source}" + (f" #{event.image_index}" if event.image_index is not None else "")
    if event.pose is None:
        try:
            return Posed(frame, replace(tel.pose_at(event.t_utc_s), source=f"{label}: log pose at trigger"))
        except NoPoseError as exc:
            return Rejected(frame, f"{label}: {exc}")
    pose = replace(event.pose, t_utc_s=event.t_utc_s)
    if tel.gimbal is not None and len(tel.gimbal) and pose.gimbal_pitch_rad is None:
        try:
            g = tel.pose_at(event.t_utc_s)
        except NoPoseError as exc:
            return Rejected(frame, f"{label}: no gimbal attitude at the trigger ({exc})")
        pose = replace(pose, gimbal_roll_rad=g.gimbal_roll_rad, gimbal_pitch_rad=g.gimbal_pitch_rad,
                       gimbal_yaw_rad=g.gimbal_yaw_rad)
        return Posed(frame, replace(pose, source=f"{label}: autopilot pose, gimbal interpolated from log"))
    return Posed(frame, replace(pose, source=f"{label}: autopilot pose"))


def _poses_at(frames: Sequence[FrameRef], tel: Telemetry, offset_s: float, how: str) -> list[PoseResult]:
    if not frames:
        return []
    t = np.array([f.t_camera_s for f in frames], dtype=np.float64) + offset_s
    arr = tel.poses_at(t)
    out: list[PoseResult] = []
    for k, fr in enumerate(frames):
        try:
            out.append(Posed(fr, replace(arr.pose(k), source=f"{how}: t_camera {offset_s:+.3f} s; {arr.source}")))
        except NoPoseError as exc:
            out.append(Rejected(fr, str(exc)))
    return out


def _by_gps(frames: Sequence[FrameRef], tel: Telemetry) -> tuple[list[PoseResult], SyncReport] | None:
    withgps = [fr for fr in frames if fr.meta.has_gps]
    if len(withgps) < 3:
        return None
    def col(values: list[float | None]) -> F64:
        return np.array(values, dtype=np.float64)
    g = estimate_offset_from_gps(col([fr.t_camera_s for fr in withgps]), col([fr.meta.lat_deg for fr in withgps]),
                                 col([fr.meta.lon_deg for fr in withgps]), tel.position)
    if g is None:
        return None
    res = np.asarray(g.residuals_m)
    note = ((f"offset from {len(g.used)} of {len(withgps)} frames' EXIF GPS against the track, "
             f"standard error {g.sigma_s:.3f} s"),)
    return (_poses_at(frames, tel, g.offset_s, "EXIF GPS offset"),
            SyncReport("exif-gps", g.offset_s, "m", float(np.median(res)), float(res.max()), notes=note))


def _by_file_utc(frames: Sequence[FrameRef], tel: Telemetry) -> tuple[list[PoseResult], SyncReport] | None:
    if any(fr.meta.utc_offset_s is None for fr in frames):
        return None
    return _by_offset(frames, tel, 0.0, "capture times in UTC (the files state their zone)")


def _by_offset(frames: Sequence[FrameRef], tel: Telemetry, offset_s: float,
               how: str) -> tuple[list[PoseResult], SyncReport]:
    method = "hand-offset" if how.startswith("hand") else "file-utc"
    return _poses_at(frames, tel, offset_s, how), SyncReport(method, offset_s)


# ---------------------------------------------------------------- the pipeline's entry point

def pose_frames(frames: Sequence[FrameRef], telemetry: Telemetry | None = None, *,
                method: Method = "auto", time_offset_s: float | None = None,
                tolerance_s: float | None = None,
                exif_alt_is_takeoff: Callable[[FrameRef], bool] = lambda f: False,
                takeoff_alt_msl_m: float | None = None) -> tuple[tuple[PoseResult, ...], dict[str, SyncReport]]:
    """A pose or a reason for every frame (input order), and a report per camera kind.

    With a log, each kind (one camera, one clock) is synced on its own (``sync_frames``);
    a frame the log cannot place but whose file carries its own DJI XMP pose (GPS,
    heights, gimbal angles) falls back to that, said in ``Pose.source``. Without a log
    every frame takes its own pose (``dronepipe.frames.exif_pose``). Still frames and
    video frames are both welcome; video frames are best posed by ``sample_video``.
    """
    from dronepipe.frames.exif_pose import (
        poses_from_exif,  # frames imports flightlogs records
    )

    own = poses_from_exif(frames, exif_alt_is_takeoff=exif_alt_is_takeoff, takeoff_alt_msl_m=takeoff_alt_msl_m)
    if telemetry is None:
        n = sum(r.ok for r in own)
        return tuple(own), {"exif": SyncReport("exif", None, n_frames=len(frames), n_posed=n)}
    results: list[PoseResult] = list(own)
    reports: dict[str, SyncReport] = {}
    for kind in ("thermal", "rgb"):
        idx = [i for i, f in enumerate(frames) if f.kind == kind]
        if not idx:
            continue
        synced = sync_frames([frames[i] for i in idx], telemetry, method=method,
                             time_offset_s=time_offset_s, tolerance_s=tolerance_s)
        fallback = 0
        for i, r in zip(idx, synced.results, strict=True):
            mine = own[i]
            if isinstance(r, Rejected) and isinstance(mine, Posed) and frames[i].meta.has_gimbal:
                fallback += 1
                results[i] = Posed(frames[i], replace(mine.pose, source=f"{mine.pose.source} "
                                                      f"(log could not place it: {r.reason})"))
            else:
                results[i] = r
        rep = synced.report
        if fallback:
            rep = replace(rep, n_posed=rep.n_posed + fallback,
                          notes=rep.notes + (f"{fallback} frames the log could not place took their own XMP pose",))
        reports[kind] = rep
    return tuple(results), reports
