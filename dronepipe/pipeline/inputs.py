"""What a flight folder holds: the log, the frames, the user's camera file.

A flight folder (as the drone team copies it off the drone, and as ``dronepipe
simulate`` writes it) has a log (``*.bin``, ``*.tlog`` or ``*.log``) at its top, frames in
``thermal/`` and/or ``rgb/`` (or directly in the folder), and optionally a
``cameras.toml`` describing cameras that are not in the table of known cameras.
Explicit ``--log``/``--frames``/``--cameras`` options override what is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError

# The autopilot's own DataFlash log first: it is complete where a telemetry link drops.
LOG_PATTERNS = ("*.bin", "*.BIN", "*.tlog", "*.log", "*.LOG")
FRAME_FOLDERS = ("thermal", "rgb", "ir", "visual", "images")
CAMERA_FILE = "cameras.toml"


@dataclass(frozen=True)
class FlightInputs:
    """The files of one flight: ``log`` (or None: frames carry their own poses),
    ``frame_sources`` (folders or files to search for frames), ``cameras`` (TOML or None)."""

    log: Path | None
    frame_sources: tuple[Path, ...]
    cameras: Path | None


def find_inputs(flight: Path | None, *, log: Path | None = None,
                frames: tuple[Path, ...] = (), cameras: Path | None = None) -> FlightInputs:
    """Resolve a flight folder and explicit options into the files to process."""
    if flight is not None and not flight.exists():
        raise DronepipeError(f"{flight}: no such file or folder")
    if flight is not None and flight.is_dir():
        log = log or _first(flight, LOG_PATTERNS)
        if not frames:
            sub = tuple(flight / d for d in FRAME_FOLDERS if (flight / d).is_dir())
            frames = sub or (flight,)
        if cameras is None and (flight / CAMERA_FILE).is_file():
            cameras = flight / CAMERA_FILE
    elif flight is not None:
        frames = frames or (flight,)
    if not frames:
        raise DronepipeError("no frames given: pass a flight folder or --frames")
    return FlightInputs(log, tuple(frames), cameras)


def _first(folder: Path, patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        found = sorted(p for p in folder.glob(pattern) if p.is_file())
        if found:
            return found[0]
    return None
