"""What a flight folder holds: the log, the frames, the videos, the user's camera file.

A flight folder (as the drone team copies it off the drone, and as ``dronepipe
simulate`` writes it) has a log (``*.bin``, ``*.tlog`` or ``*.log``) at its top, frames in
``thermal/`` and/or ``rgb/`` (or directly in the folder), videos in ``video/``, in the
kind-named folders or at its top (a DJI card: ``DJI_0001.MP4`` beside ``DJI_0001.SRT``),
and optionally a ``cameras.toml`` describing cameras that are not in the table of known
cameras. Explicit ``--log``/``--frames``/``--video``/``--cameras`` options override what
is found; video files among ``--frames`` count as given with ``--video``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError
from dronepipe.frames.discover import FOLDER_KINDS, IMAGE_SUFFIXES

# The autopilot's own DataFlash log first: it is complete where a telemetry link drops.
LOG_PATTERNS = ("*.bin", "*.BIN", "*.tlog", "*.log", "*.LOG")
LOG_SUFFIXES = frozenset({".bin", ".tlog", ".log"})
FRAME_FOLDERS = ("thermal", "rgb", "ir", "visual", "images")
VIDEO_FOLDERS = ("video", "videos")
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".ts", ".mts", ".3gp"})
CAMERA_FILE = "cameras.toml"


@dataclass(frozen=True)
class FlightInputs:
    """The files of one flight: ``log`` (or None: frames carry their own poses),
    ``frame_sources`` (folders or files to search for stills; may be empty where the
    flight has videos only), ``cameras`` (TOML or None), ``videos`` (video files, in
    order) and ``explicit_videos`` (those the user named, resolved)."""

    log: Path | None
    frame_sources: tuple[Path, ...]
    cameras: Path | None
    videos: tuple[Path, ...] = ()
    explicit_videos: frozenset[Path] = frozenset()


def find_inputs(flight: Path | None, *, log: Path | None = None,
                frames: tuple[Path, ...] = (), cameras: Path | None = None,
                videos: tuple[Path, ...] = ()) -> FlightInputs:
    """Resolve a flight folder and explicit options into the files to process."""
    if flight is not None and not flight.exists():
        raise DronepipeError(f"{flight}: no such file or folder")
    explicit = tuple(videos) + tuple(f for f in frames if is_video(f))
    frames = tuple(f for f in frames if not is_video(f))
    found: tuple[Path, ...] = ()
    if flight is not None and flight.is_dir():
        log = log or _first(flight, LOG_PATTERNS)
        if cameras is None and (flight / CAMERA_FILE).is_file():
            cameras = flight / CAMERA_FILE
        found = videos_in(flight)
        if not frames:
            sub = tuple(flight / d for d in FRAME_FOLDERS if (flight / d).is_dir())
            frames = sub or ((flight,) if _has_images(flight) or not found else ())
    elif flight is not None and is_video(flight):
        explicit += (flight,)
    elif flight is not None:
        frames = frames or (flight,)
    all_videos = _unique(explicit + found)
    if not frames and not all_videos:
        raise DronepipeError("no frames given: pass a flight folder, --frames or --video")
    return FlightInputs(log, tuple(frames), cameras, all_videos,
                        frozenset(p.resolve() for p in explicit))


def is_video(path: Path) -> bool:
    """Whether a path names a video file (by its suffix)."""
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.is_dir()


def videos_in(flight: Path) -> tuple[Path, ...]:
    """Video files at the top of a flight folder, in ``video/`` and in kind-named folders."""
    folders = [flight] + [flight / d for d in (*VIDEO_FOLDERS, *sorted(FOLDER_KINDS))
                          if (flight / d).is_dir()]
    return tuple(p for folder in folders for p in sorted(folder.iterdir())
                 if p.is_file() and is_video(p) and not p.name.startswith("."))


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file())


def _unique(paths: Iterable[Path]) -> tuple[Path, ...]:
    seen: set[Path] = set()
    out = []
    for p in paths:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            out.append(p)
    return tuple(out)


def _first(folder: Path, patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        found = sorted(p for p in folder.glob(pattern) if p.is_file())
        if found:
            return found[0]
    return None
