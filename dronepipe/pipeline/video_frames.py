"""Videos into posed frames for the batch job: which videos, their camera, the sampling.

Which videos are used (``choose_videos``), per camera kind:

- videos the user named (``--video``, or video files among ``--frames``) always;
- otherwise the videos found in the flight folder only where no still of that kind
  got a pose: stills are sharper, radiometric where the camera allows, and their
  trigger records time them best, so by default a flight with stills and a video of
  the same kind is processed from its stills, and the video is listed in
  ``process.json`` as not used, with the reason.

Where a kind is processed from video, its stills (if any) are set aside: they still
time the camera clock (``video_clock``), but the mosaic of that kind holds video
frames only (relative video values and radiometric stills do not belong in one
mosaic). Each used video is sampled by ground coverage (``frames.video.sample_video``)
at the target forward overlap with its camera model (``video_camera``), and its picked
frames go on as ``Posed`` frames like stills. A video that cannot be used (no
telemetry, no start time, no camera model, no pose) is reported with the reason and
counted in one ``DronepipeWarning``; the rest go on.
"""

from __future__ import annotations

import itertools
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.frames.refs import FrameKind, Posed
from dronepipe.frames.video import (
    VideoSampling,
    footprint,
    overlap_fraction,
    sample_video,
)
from dronepipe.geodesy import UtmFrame
from dronepipe.pipeline.config import VideoOptions
from dronepipe.pipeline.video_camera import video_camera
from dronepipe.pipeline.video_clock import TelemetrySource, VideoClock, video_clock
from dronepipe.pipeline.videos import VideoInput, describe_video
from dronepipe.stitching.cameras import CameraEntry, ResolvedCamera
from dronepipe.stitching.georef import FlatGround, Mount, camera_pose

log = logging.getLogger(__name__)
POLICY = ("stills first: a video is used where it was named (--video, or a video file in "
          "--frames) or where no still of its kind got a pose; a kind processed from video "
          "sets its stills aside (they time the camera clock only)")


@dataclass(frozen=True)
class VideoReport:
    """One video in ``process.json``: what was found, whether it was used and why,
    how it was timed, sampled and valued (``radiometric`` is always False: display
    levels). Overlaps are of consecutive picked footprints (0..1)."""

    path: str
    kind: FrameKind | None
    content: str | None
    used: bool
    why: str
    found: dict[str, str]
    clock: dict[str, object] = field(default_factory=dict)
    camera: str | None = None
    sampling: dict[str, object] = field(default_factory=dict)
    radiometric: bool = False

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able values."""
        return asdict(self)


@dataclass(frozen=True)
class VideoFrames:
    """The posed frames sampled from the used videos, one report per video, the span of
    each grey thermal video (by video path), and the kinds whose mosaic comes from video."""

    posed: tuple[Posed, ...] = ()
    reports: tuple[VideoReport, ...] = ()
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    video_kinds: frozenset[FrameKind] = frozenset()
    cameras: dict[str, ResolvedCamera] = field(default_factory=dict)


def choose_videos(videos: Sequence[VideoInput],
                  posed_still_kinds: frozenset[str]) -> list[tuple[VideoInput, str | None]]:
    """Each video with None (use it) or the reason it is not used (see the module docstring)."""
    named = {v.kind for v in videos if v.explicit}
    out: list[tuple[VideoInput, str | None]] = []
    for v in videos:
        if v.explicit:
            out.append((v, None))
        elif v.kind in named:
            out.append((v, f"other {v.kind} videos were named with --video"))
        elif v.kind in posed_still_kinds:
            out.append((v, f"{v.kind} stills were found and posed; pass --video to use the video"))
        else:
            out.append((v, None))
    return out


def describe_videos(paths: Sequence[Path], explicit: frozenset[Path], options: VideoOptions,
                    flight_log: Path | None, kinds: Sequence[str]
                    ) -> tuple[list[VideoInput], list[VideoReport]]:
    """Each video described (``videos.describe_video``); one that cannot be read, or of a
    kind not processed (``--only``), comes back as a report with the reason instead."""
    described: list[VideoInput] = []
    reports: list[VideoReport] = []
    for path in paths:
        try:
            video = describe_video(path, options, flight_log=flight_log,
                                   explicit=path.resolve() in explicit)
        except DronepipeError as exc:
            reports.append(VideoReport(str(path), None, None, False, f"cannot be used: {exc}", {}))
            continue
        if video.kind in kinds:
            described.append(video)
        else:
            reports.append(_report(video, False, f"{video.kind} not processed (--only)"))
    return described, reports


@dataclass(frozen=True)
class VideoContext:
    """What sampling every video needs: options, the telemetry source, the stills'
    clock offsets per kind, the hand-given offset, and the user's camera entries."""

    options: VideoOptions
    telemetry: TelemetrySource
    offsets: Mapping[FrameKind, tuple[float, str]]
    time_offset_s: float | None
    entries: Sequence[CameraEntry] = ()


def video_frames(videos: Sequence[VideoInput], posed_still_kinds: frozenset[str],
                 ctx: VideoContext, reports: Sequence[VideoReport] = ()) -> VideoFrames:
    """Sample every chosen video into posed frames (see the module docstring); ``reports``:
    those of videos already found unusable, listed and counted with the rest."""
    posed: list[Posed] = []
    reports = list(reports)
    spans: dict[str, tuple[float, float]] = {}
    cams: dict[str, ResolvedCamera] = {}
    for video, skip in choose_videos(videos, posed_still_kinds):
        if skip is not None:
            reports.append(_report(video, False, skip))
            continue
        try:
            picked, report, cam = _sample(video, ctx)
        except DronepipeError as exc:
            reports.append(_report(video, False, f"cannot be used: {exc}"))
            continue
        posed.extend(picked)
        reports.append(report)
        cams[str(video.path)] = cam
        if video.span_c is not None:
            spans[str(video.path)] = video.span_c
    _warn_unusable(reports)
    kinds = frozenset(r.kind for r in reports if r.used and r.kind and r.sampling.get("picked"))
    return VideoFrames(tuple(posed), tuple(reports), spans, kinds, cams)


def _sample(video: VideoInput, ctx: VideoContext) -> tuple[list[Posed], VideoReport, ResolvedCamera]:
    telemetry, srt = ctx.telemetry.read(video)
    clock = video_clock(video, telemetry, srt, ctx.offsets, ctx.time_offset_s)
    cam = video_camera(video, ctx.entries, ctx.options.camera)
    mount = cam.mount or Mount()
    s = sample_video(video.path, telemetry, cam.camera, kind=video.kind, video_start_s=clock.start_s,
                     forward_overlap=ctx.options.forward_overlap, mount=mount,
                     candidate_hz=ctx.options.candidate_hz, info=video.info)
    picked = [_annotated(p, clock) for p in s.picked]
    if not picked:
        raise DronepipeError(f"no frame of the video could be posed ({_counts(s.no_pose)})")
    if picked[0].pose.source.endswith("nadir assumed, yaw from track"):
        warnings.warn(DronepipeWarning(
            f"{video.telemetry}: no attitude in the SRT: a nadir camera heading along the track "
            "is assumed (an oblique camera, or one turned against the track, is misplaced)"),
            stacklevel=3)
    report = _report(video, True, "named with --video" if video.explicit else
                     f"no {video.kind} stills with a pose", clock, cam, _sampling(s, ctx, cam, mount))
    log.info("%s: %d frames sampled of %d (%s)", video.path, len(picked), video.info.frame_count,
             clock.how)
    return picked, report, cam


def _annotated(p: Posed, clock: VideoClock) -> Posed:
    """Where the SRT had no attitude, say so in the pose source the way the stills' own
    poses do ("nadir assumed, yaw from track"), so registration lets the rotation float."""
    attitude = str((clock.srt or {}).get("attitude", ""))
    if "ASSUMED" in attitude and "course over ground" in attitude:
        return Posed(p.frame, replace(p.pose, source=f"{p.pose.source}; nadir assumed, yaw from track"))
    return p


def _sampling(s: VideoSampling, ctx: VideoContext, cam: ResolvedCamera,
              mount: Mount) -> dict[str, object]:
    over = consecutive_overlaps(s.picked, cam, mount)
    return {"frames": s.info.frame_count, "fps": s.info.fps, "width": s.info.width,
            "height": s.info.height, "candidates": s.candidates, "picked": len(s.picked),
            "frame_indices": [p.frame.frame_index for p in s.picked],
            "candidates_without_pose": dict(s.no_pose),
            "forward_overlap_target": ctx.options.forward_overlap,
            "overlap_median": round(float(np.median(over)), 4) if over else None,
            "overlap_min": round(float(np.min(over)), 4) if over else None}


def consecutive_overlaps(picked: Sequence[Posed], cam: ResolvedCamera, mount: Mount) -> list[float]:
    """Fraction of each picked frame's footprint (flat ground at take-off) that the next
    picked frame covers; ``cam`` is at the video's size."""
    if len(picked) < 2:
        return []
    first = picked[0].pose
    utm = UtmFrame.for_point(first.lon_deg, first.lat_deg)
    fps = [footprint(camera_pose(p.pose, utm, mount, "takeoff"), cam.camera, FlatGround())
           for p in picked]
    return [overlap_fraction(a, b) for a, b in itertools.pairwise(fps)
            if a is not None and b is not None]


def _report(video: VideoInput, used: bool, why: str, clock: VideoClock | None = None,
            cam: ResolvedCamera | None = None, sampling: dict[str, object] | None = None) -> VideoReport:
    found = {"content": f"{video.content} ({video.content_how})",
             "telemetry": f"{video.telemetry} ({video.telemetry_how})",
             "span_c": f"{video.span_c} ({video.span_how})",
             "start": f"{video.start_camera_s} ({video.start_how})"}
    clk: dict[str, object] = {} if clock is None else {
        "start_s": clock.start_s, "how": clock.how, "camera_clock_offset_s": clock.offset_s,
        "telemetry_time_source": clock.telemetry.time_source, "srt": clock.srt}
    camera = None if cam is None else f"{cam.camera.name} ({cam.source})"
    return VideoReport(str(video.path), video.kind, video.content, used, why, found, clk, camera,
                       sampling or {})


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in counts.items()) or "no candidates"


def _warn_unusable(reports: Sequence[VideoReport]) -> None:
    bad = [r for r in reports if not r.used and r.why.startswith("cannot")]
    if bad:
        warnings.warn(DronepipeWarning(
            f"{len(bad)} of {len(reports)} videos cannot be used (first: "
            f"{re.sub(r'^cannot be used: ', '', bad[0].why)}: {bad[0].path})"), stacklevel=3)
