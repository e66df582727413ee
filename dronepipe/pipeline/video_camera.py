"""Which camera model a video was taken with.

Video files carry no EXIF focal length, so the camera comes from, in order:

1. ``--video-camera NAME``: an entry of the camera file of that name, else a camera
   of the table of known cameras (``stitching.cameras.KNOWN_CAMERAS``) whose label or
   EXIF model matches (``M30T``, ``ZH20T``; the video's kind picks the thermal or the
   visual camera of a twin payload); a 16:9 video of a 4:3 sensor keeps the full
   sensor width (``camera_from_spec``);
2. the camera file's entry of the video's kind (or its only entry without a kind),
   as the live mode does for video frames;

else a ``DronepipeError`` saying how to give one. A camera-file entry of another
size with the same aspect ratio is scaled; another aspect ratio is an error (a
calibration of one image shape says nothing certain about a crop).
"""

from __future__ import annotations

from collections.abc import Sequence

from dronepipe.errors import DronepipeError
from dronepipe.pipeline.videos import VideoInput
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.cameras import (
    KNOWN_CAMERAS,
    CameraEntry,
    CameraSpec,
    ResolvedCamera,
    camera_from_spec,
)


def video_camera(video: VideoInput, entries: Sequence[CameraEntry], name: str | None) -> ResolvedCamera:
    """The video's camera model at the video's frame size, with its mount where known."""
    w, h = video.info.width, video.info.height
    if name is not None:
        entry = next((e for e in entries if _norm(e.name) == _norm(name)), None)
        if entry is not None:
            return _from_entry(entry, video, "--video-camera")
        spec = table_camera(name, video.kind, w, h)
        if spec is None:
            raise DronepipeError(f"--video-camera {name!r}: neither an entry of the camera file "
                                 f"nor a known {video.kind} camera")
        return ResolvedCamera(camera_from_spec(spec, w, h, None),
                              f"table: {spec.source} (--video-camera)", spec.kind)
    entry = next((e for e in entries if e.kind == video.kind), None) or \
        next((e for e in entries if e.kind is None), None)
    if entry is not None:
        return _from_entry(entry, video, "camera file")
    raise DronepipeError(f"no camera model for the {w}x{h} {video.kind} video: give a camera file "
                         f"(--cameras) with a [{video.kind}] entry, or --video-camera MODEL")


def table_camera(name: str, kind: str, width: int, height: int) -> CameraSpec | None:
    """The known camera of that label or model and kind; one of the video's aspect
    ratio first."""
    key = _norm(name)
    specs = [s for s in KNOWN_CAMERAS if s.kind == kind
             and (key == _norm(s.label) or key in {_norm(m) for m in s.models})]
    aspect = [s for s in specs if abs(s.width / s.height - max(width, height) / min(width, height)) < 0.01]
    return (aspect or specs)[0] if specs else None


def _from_entry(entry: CameraEntry, video: VideoInput, how: str) -> ResolvedCamera:
    return ResolvedCamera(_fit(entry.camera, video), f"camera file entry [{entry.name}] ({how})",
                          entry.kind or video.kind, entry.mount)


def _fit(camera: CameraModel, video: VideoInput) -> CameraModel:
    w, h = video.info.width, video.info.height
    if (camera.width, camera.height) == (w, h):
        return camera
    if abs(camera.width / camera.height - w / h) > 0.01:
        raise DronepipeError(f"camera {camera.name} is {camera.width}x{camera.height}, the video "
                             f"{w}x{h} (another aspect ratio): give a camera entry at the video's size")
    return camera.scaled(w, h)


def _norm(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())
