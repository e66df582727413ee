"""Video frames sampled by ground coverage: ``sample_video`` picks the frames a mosaic needs.

A 30 fps video of a survey repeats each patch of ground dozens of times. The frames
are picked by their footprints on the ground (``camera_pose`` + ``pixels_to_ground``
of the image border): after a picked frame, the next pick is the last frame whose
footprint still covers ``forward_overlap`` of the picked one's (so consecutive picks
overlap by at least the target, and by little more). Hovering adds no frames; a turn
on the spot does (the footprint turns away). Frame times are the video start on the
telemetry's clock plus the frame number over the frame rate; frames without a pose
(outside the log, in a gap, no ground in view) are counted, never guessed.

Pixels are read lazily (``read_video_frames``), sequentially with ``grab`` (seeking
by frame number is unreliable in many containers), decoding only the picked frames.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.records import Pose
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.frames.metadata import FrameMeta
from dronepipe.frames.refs import FrameKind, FrameRef, Posed
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import (
    CameraPose,
    FlatGround,
    Ground,
    HeightRef,
    Mount,
    camera_pose,
    pixels_to_ground,
)

log = logging.getLogger(__name__)
NO_MOUNT = Mount()
FLAT = FlatGround()


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV reports about a video: frames per second, frame count, size (pixels)."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int


@dataclass(frozen=True)
class VideoSampling:
    """The picked frames with their poses, and what was skipped and why (counts)."""

    info: VideoInfo
    picked: tuple[Posed, ...]
    candidates: int
    no_pose: dict[str, int] = field(default_factory=dict)

    @property
    def frames(self) -> tuple[FrameRef, ...]:
        return tuple(p.frame for p in self.picked)


def video_info(path: Path) -> VideoInfo:
    """Open a video with OpenCV and read its frame rate, length and size.

    Raises ``DronepipeError`` naming the file where it cannot be opened or has no
    usable frame rate.
    """
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DronepipeError(f"{path}: cannot open the video (not a video, or a codec OpenCV lacks)")
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if not (fps > 0.0 and np.isfinite(fps)) or count <= 0:
        raise DronepipeError(f"{path}: the video reports no usable frame rate or length ({fps} fps, {count} frames)")
    return VideoInfo(path, fps, count, w, h)


def footprint(cam_pose_: CameraPose, camera: CameraModel, ground: Ground, per_side: int = 4) -> NDArray[np.float64] | None:
    """Convex hull (k, 2) in grid metres of where the image border meets the ground, or None
    where fewer than three border points see the ground."""
    w, h = camera.width - 1.0, camera.height - 1.0
    s = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    u = np.concatenate([s * w, np.full_like(s, w), (1 - s) * w, np.zeros_like(s)])
    v = np.concatenate([np.zeros_like(s), s * h, np.full_like(s, h), (1 - s) * h])
    pts = pixels_to_ground(cam_pose_, camera, u, v, ground)[:, :2]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) < 3:
        return None
    origin = pts.mean(axis=0)  # float32 (OpenCV) cannot hold UTM northings to the centimetre
    hull = cv2.convexHull((pts - origin).astype(np.float32)).reshape(-1, 2).astype(np.float64)
    return hull + origin


def overlap_fraction(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Area of the intersection of convex polygons ``a`` and ``b`` over the area of ``a``.

    Clipped in float64 (Sutherland-Hodgman): OpenCV's intersectConvexConvex is float32
    and unreliable with the nearly collinear vertices of a sampled image border.
    """
    area_a = _area(a)
    if area_a <= 0.0:
        return 0.0
    return _area(_clip(a, b)) / area_a


def _area(p: NDArray[np.float64]) -> float:
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0] - p[0, 0], p[:, 1] - p[0, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0


def _clip(subject: NDArray[np.float64], clip: NDArray[np.float64]) -> NDArray[np.float64]:
    """``subject`` clipped by the convex polygon ``clip`` (either orientation)."""
    x, y = clip[:, 0] - clip[0, 0], clip[:, 1] - clip[0, 1]
    sign = 1.0 if float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) > 0 else -1.0
    out = list(subject)
    for k in range(len(clip)):
        p, q = clip[k], clip[(k + 1) % len(clip)]
        src, out = out, []
        for i, cur in enumerate(src):
            prv = src[i - 1]
            cur_in, prv_in = _left_of(p, q, cur, sign), _left_of(p, q, prv, sign)
            if cur_in != prv_in:
                d, e = cur - prv, q - p
                den = d[0] * e[1] - d[1] * e[0]
                if den != 0.0:
                    t = ((p[0] - prv[0]) * e[1] - (p[1] - prv[1]) * e[0]) / den
                    out.append(prv + t * d)
            if cur_in:
                out.append(cur)
        if not out:
            break
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _left_of(p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64], sign: float) -> bool:
    """Whether ``r`` is on the inner side of the edge ``p -> q`` of a polygon of orientation ``sign``."""
    return sign * ((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])) >= 0.0


def pick_by_overlap(footprints: Sequence[NDArray[np.float64] | None], forward_overlap: float) -> list[int]:
    """Indices to keep: the first frame with a footprint, then each time the last frame
    that still covers ``forward_overlap`` of the last pick's footprint; after frames
    without a footprint the next frame with one starts afresh."""
    picks: list[int] = []
    prev: int | None = None  # the previous frame with a footprint, since the run began
    for i, fp in enumerate(footprints):
        if fp is None:
            prev = None
            continue
        if prev is None:
            picks.append(i)
        elif overlap_fraction(footprints[picks[-1]], fp) < forward_overlap:  # type: ignore[arg-type]
            if prev != picks[-1]:
                picks.append(prev)
            if overlap_fraction(footprints[picks[-1]], fp) < forward_overlap:  # type: ignore[arg-type]
                picks.append(i)  # moved more than the target within one step
        prev = i
    return picks


def sample_video(path: Path, telemetry: Telemetry, camera: CameraModel, *, kind: FrameKind,
                 video_start_s: float, forward_overlap: float = 0.8, mount: Mount = NO_MOUNT,
                 ground: Ground = FLAT, height_ref: HeightRef = "takeoff",
                 candidate_hz: float = 10.0, info: VideoInfo | None = None) -> VideoSampling:
    """Pick the frames of a video that cover the ground with ``forward_overlap``.

    ``video_start_s``: the time of frame 0 on the telemetry's clock (``SrtLog.video_start_s``
    for a DJI SRT; for a MAVLink log, the camera's start time plus the clock offset).
    Candidates are taken at up to ``candidate_hz`` (every frame where the video is slower).
    ``camera`` is scaled to the video's size where it differs.
    """
    info = info or video_info(path)
    cam = camera if (camera.width, camera.height) == (info.width, info.height) else camera.scaled(info.width, info.height)
    step = max(1, round(info.fps / candidate_hz))
    idx = np.arange(0, info.frame_count, step)
    t = video_start_s + idx / info.fps
    poses = telemetry.poses_at(t)
    ok_pos = np.flatnonzero(poses.ok)
    if ok_pos.size == 0:
        raise DronepipeError(f"{path}: no video frame has a pose ({poses.explain(0)})")
    utm = UtmFrame.for_point(float(poses.lon_deg[ok_pos[0]]), float(poses.lat_deg[ok_pos[0]]))
    fps_: list[NDArray[np.float64] | None] = []
    no_pose: dict[str, int] = {}
    for k in range(idx.size):
        fp = None
        if poses.ok[k]:
            fp = footprint(camera_pose(poses.pose(k), utm, mount, height_ref), cam, ground)
            if fp is None:
                no_pose["camera sees no ground"] = no_pose.get("camera sees no ground", 0) + 1
        else:
            reason = poses.explain(k).split(": ", 1)[-1].split(" 20")[0]
            no_pose[reason] = no_pose.get(reason, 0) + 1
        fps_.append(fp)
    picked = tuple(_posed(path, kind, cam, info, int(idx[k]), poses.pose(k), video_start_s)
                   for k in pick_by_overlap(fps_, forward_overlap))
    log.info("%s: picked %d of %d candidate frames (%d without pose) for %.0f %% forward overlap",
             path, len(picked), idx.size, sum(no_pose.values()), forward_overlap * 100)
    return VideoSampling(info, picked, int(idx.size), no_pose)


def _posed(path: Path, kind: FrameKind, cam: CameraModel, info: VideoInfo, n: int, pose: Pose,
           video_start_s: float) -> Posed:
    v = n / info.fps
    meta = FrameMeta(width=info.width, height=info.height, t_camera_s=video_start_s + v,
                     time_resolution_s=1.0 / info.fps)
    frame = FrameRef(path, kind, video_start_s + v, info.width, info.height, meta, frame_index=n, video_time_s=v)
    how = f"video frame {n} at {v:.3f} s + start {video_start_s:.3f}"
    return Posed(frame, replace(pose, source=f"{how}; {pose.source}"))


def read_video_frames(path: Path, indices: Sequence[int]) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    """The pixels of the given frame numbers (ascending), read sequentially; frames the
    video ends before are not yielded (and logged)."""
    wanted = sorted(set(indices))
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DronepipeError(f"{path}: cannot open the video")
    try:
        n, k = 0, 0
        while k < len(wanted):
            if not cap.grab():
                log.warning("%s: video ended at frame %d; %d picked frames not read", path, n, len(wanted) - k)
                return
            if n == wanted[k]:
                ok, img = cap.retrieve()
                if ok:
                    yield n, np.asarray(img, dtype=np.uint8)
                k += 1
            n += 1
    finally:
        cap.release()
