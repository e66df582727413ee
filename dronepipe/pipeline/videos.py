"""What goes with a video file: its kind, telemetry, temperature span and start time.

``describe_video`` gathers, for one video, in order of trust:

- kind (``VideoContent``): ``--video-kind``; the sidecar's ``kind``; the folder name
  (``thermal/``, ``rgb/`` ...); the frame size (microbolometer sizes are thermal).
- telemetry: the sidecar's ``telemetry`` file; a DJI SRT of the same name
  (``DJI_0001.MP4`` + ``DJI_0001.SRT``, any case); a log of the same name; the only log
  in the video's own folder (the simulator's ``video/thermal.tlog``); the flight's log.
- span (grey thermal video): ``--span``; the sidecar's ``span_c``.
- start of frame 0 on the camera clock: the sidecar (``start_t_camera_s``, or
  ``start_time_camera`` in ISO 8601); the MP4/MOV container's creation time (taken as
  the start of the recording). An SRT brings its own clock (``flightlogs.srt``).

The sidecar is the JSON file of the same name (``thermal.json`` beside
``thermal.avi``, format ``dronepipe-thermal-video/1``, as the simulator writes it).
Video frames hold display levels: they are never radiometric here (a sidecar that
claims otherwise is warned about and read as display levels all the same).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.frames.discover import FOLDER_KINDS, THERMAL_SIZES
from dronepipe.frames.mp4time import container_creation_time
from dronepipe.frames.refs import FrameKind
from dronepipe.frames.video import VideoInfo, video_info
from dronepipe.pipeline.config import VideoContent, VideoOptions
from dronepipe.pipeline.inputs import LOG_SUFFIXES

log = logging.getLogger(__name__)
CONTENTS: tuple[VideoContent, ...] = ("thermal", "thermal-gray", "rgb")


@dataclass(frozen=True)
class VideoInput:
    """One video and what goes with it (each ``*_how`` says where it came from).

    ``content``: "thermal" (palette, automatic gain), "thermal-gray" (grey mapped onto
    ``span_c``, degrees C of grey 0 and 255) or "rgb". ``telemetry``: an SRT or a
    MAVLink/DataFlash log, None where none was found. ``start_camera_s``: UTC seconds of
    frame 0 on the camera's clock (None: unknown); ``start_zone_stated``: the time
    states its zone (then it may be taken as UTC where nothing better exists, as EXIF
    times with OffsetTimeOriginal are). ``explicit``: the user named the video.
    """

    path: Path
    info: VideoInfo
    content: VideoContent
    content_how: str
    telemetry: Path | None
    telemetry_how: str
    span_c: tuple[float, float] | None
    span_how: str
    start_camera_s: float | None
    start_how: str
    start_zone_stated: bool
    explicit: bool
    sidecar: Path | None = None

    @property
    def kind(self) -> FrameKind:
        """The frame kind: thermal or rgb."""
        return "rgb" if self.content == "rgb" else "thermal"

    @property
    def has_srt(self) -> bool:
        """Whether the telemetry is a DJI SRT subtitle file (on the video's own clock)."""
        return self.telemetry is not None and self.telemetry.suffix.lower() == ".srt"


def describe_video(path: Path, options: VideoOptions, *, flight_log: Path | None,
                   explicit: bool) -> VideoInput:
    """Everything known about one video; ``DronepipeError`` where the video or its
    sidecar cannot be read."""
    info = video_info(path)
    sidecar = sidecar_of(path)
    side = read_sidecar(sidecar) if sidecar is not None else {}
    content, content_how = _content(path, info, side, options.content)
    telemetry, telemetry_how = _telemetry(path, side, flight_log)
    span, span_how = _span(side, options.span_c, content)
    start, start_how, zone = _start(path, side)
    if side.get("radiometric") is True:
        warnings.warn(DronepipeWarning(f"{sidecar}: says radiometric, but video frames are read "
                                       "as display levels here (relative values)"), stacklevel=2)
    return VideoInput(path, info, content, content_how, telemetry, telemetry_how, span, span_how,
                      start, start_how, zone, explicit, sidecar)


def sidecar_of(path: Path) -> Path | None:
    """The JSON sidecar of the same name, where there is one."""
    side = path.with_suffix(".json")
    return side if side.is_file() else None


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar's fields; ``DronepipeError`` naming the file where it is not JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DronepipeError(f"{path}: cannot read the video sidecar ({exc})") from exc
    if not isinstance(data, dict):
        raise DronepipeError(f"{path}: the video sidecar is not a JSON object")
    return data


def _content(path: Path, info: VideoInfo, side: dict[str, Any],
             given: VideoContent | None) -> tuple[VideoContent, str]:
    if given is not None:
        return given, "--video-kind"
    if side.get("kind") in CONTENTS:
        return side["kind"], "sidecar"
    folder = FOLDER_KINDS.get(path.parent.name.lower())
    if folder is not None:
        return folder, f"folder name {path.parent.name}/"
    size = (max(info.width, info.height), min(info.width, info.height))
    if size in THERMAL_SIZES:
        return "thermal", f"frame size {info.width}x{info.height} (a microbolometer size)"
    return "rgb", f"frame size {info.width}x{info.height} (not a microbolometer size)"


def _telemetry(path: Path, side: dict[str, Any], flight_log: Path | None) -> tuple[Path | None, str]:
    named = side.get("telemetry")
    if isinstance(named, str) and (path.parent / named).is_file():
        return path.parent / named, "named by the sidecar"
    beside = sorted(p for p in path.parent.iterdir() if p.is_file() and p.stem == path.stem)
    for suffixes, how in (({".srt"}, "DJI SRT of the same name"), (LOG_SUFFIXES, "log of the same name")):
        match = [p for p in beside if p.suffix.lower() in suffixes]
        if match:
            return match[0], how
    logs = sorted(p for p in path.parent.iterdir() if p.is_file() and p.suffix.lower() in LOG_SUFFIXES)
    if len(logs) == 1 and (flight_log is None or logs[0].parent != flight_log.parent):
        return logs[0], f"the only log in {path.parent.name}/"
    if flight_log is not None:
        return flight_log, "the flight's log"
    return None, "none found (no SRT or log beside the video, no flight log)"


def _span(side: dict[str, Any], given: tuple[float, float] | None,
          content: VideoContent) -> tuple[tuple[float, float] | None, str]:
    if content == "rgb":
        return None, "not thermal"
    if given is not None:
        return given, "--span"
    span = side.get("span_c")
    if isinstance(span, list) and len(span) == 2 and float(span[0]) < float(span[1]):
        return (float(span[0]), float(span[1])), "sidecar span_c"
    if content == "thermal-gray":
        warnings.warn(DronepipeWarning("grey thermal video without a span (--span MIN:MAX): its "
                                       "levels are mapped onto the relative 0..100"), stacklevel=3)
    return None, "none: relative values (DecodeOptions.relative_span_c)"


def _start(path: Path, side: dict[str, Any]) -> tuple[float | None, str, bool]:
    if isinstance(side.get("start_t_camera_s"), (int, float)):
        zone = _zone_stated(side.get("start_time_camera"))
        return float(side["start_t_camera_s"]), "sidecar start_t_camera_s", zone
    text = side.get("start_time_camera")
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise DronepipeError(f"{path}: sidecar start_time_camera {text!r} is not ISO 8601") from exc
        if moment.utcoffset() is not None:
            return moment.timestamp(), "sidecar start_time_camera", True
    created = container_creation_time(path)
    if created is not None:
        return created, "container creation time (taken as the start of the recording)", False
    return None, "unknown (no sidecar, no container creation time)", False


def _zone_stated(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return datetime.fromisoformat(text).utcoffset() is not None
    except ValueError:
        return False
