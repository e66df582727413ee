"""What ``dronepipe replay`` plays and when: ``ReplayConfig`` and ``ReplayPlan``.

The flight's tlog gives the timeline: every record is played at its ground-station
stamp. Stills are delivered at their capture time on the autopilot's clock, found by
the batch job's time sync (``timesync.pose_frames``: camera trigger events, EXIF GPS,
...; a frame it cannot place keeps its own EXIF time). The video's frame ``k`` is
played at the sidecar's start time (camera clock, shifted by the thermal camera's
clock offset that time sync found) plus ``k / fps``. Times in seconds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs import read_telemetry
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.timesync import pose_frames
from dronepipe.flightlogs.tlog import iter_tlog
from dronepipe.frames.discover import discover_frames
from dronepipe.frames.refs import FrameKind, Posed
from dronepipe.pipeline.inputs import find_inputs

log = logging.getLogger(__name__)
Window = tuple[float, float]


@dataclass(frozen=True)
class ReplayConfig:
    """How to replay ``flight`` (a flight folder as ``dronepipe simulate`` writes it).

    ``mavlink``: where the telemetry goes (an ``open_live`` connection string, e.g.
    ``udpout:127.0.0.1:14550``; None: none); ``frames_to``: the folder stills are
    written into (``<kind>/NAME``, each atomically); ``video_to``: an
    ``http://HOST:PORT/PATH`` the video is served at as MJPEG (see ``mjpeg``);
    ``speed``: times faster than real time. Faults, for tests: ``drop_telemetry`` the
    fraction of MAVLink records lost; ``gaps`` (start, duration) windows of silence on
    the link; ``corrupt_frames`` 1-based numbers of stills delivered damaged;
    ``video_drops`` windows in which the video server is down; ``frames_without_telemetry``
    delivers stills even inside a gap. Windows are seconds of flight time from the
    first tlog record. ``frame_delay_s``: flight seconds from capture to delivery.
    ``trim_s``: play the telemetry only from this long before the first frame to this
    long after the last (None: all of it), to keep tests short.
    """

    flight: Path
    mavlink: str | None = "udpout:127.0.0.1:14550"
    frames_to: Path | None = None
    video_to: str | None = None
    speed: float = 1.0
    drop_telemetry: float = 0.0
    gaps: tuple[Window, ...] = ()
    corrupt_frames: tuple[int, ...] = ()
    video_drops: tuple[Window, ...] = ()
    frame_delay_s: float = 0.0
    kinds: tuple[FrameKind, ...] = ("thermal", "rgb")
    trim_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise DronepipeError(f"replay speed must be positive, not {self.speed}")
        if not 0.0 <= self.drop_telemetry < 1.0:
            raise DronepipeError(f"telemetry drop fraction must be within 0..1, not {self.drop_telemetry}")


@dataclass(frozen=True)
class StillItem:
    """A still to deliver: its file, kind, 1-based number and capture time (UTC s)."""

    path: Path
    kind: FrameKind
    number: int
    t_utc_s: float


@dataclass(frozen=True)
class VideoPlan:
    """The video file and when its first frame was captured (UTC s), its frame rate."""

    path: Path
    start_utc_s: float
    fps: float


@dataclass(frozen=True, eq=False)
class ReplayPlan:
    """Everything to play: tlog records (stamp s, frame bytes), stills, the video."""

    records: tuple[tuple[float, bytes], ...]
    stills: tuple[StillItem, ...]
    video: VideoPlan | None

    @property
    def t0(self) -> float:
        return self.records[0][0] if self.records else min(
            [s.t_utc_s for s in self.stills] + ([self.video.start_utc_s] if self.video else []))

    @property
    def t_end(self) -> float:
        ends = [self.records[-1][0]] if self.records else []
        ends += [s.t_utc_s for s in self.stills]
        return max(ends) if ends else self.t0


def plan_replay(cfg: ReplayConfig) -> ReplayPlan:
    """Read the flight folder and work out the timeline (see the module docstring)."""
    inputs = find_inputs(cfg.flight)
    if inputs.log is None or inputs.log.suffix.lower() != ".tlog":
        tlogs = sorted(cfg.flight.glob("*.tlog"))
        if not tlogs:
            raise DronepipeError(f"{cfg.flight}: no .tlog to replay the telemetry from")
        log_path = tlogs[0]
    else:
        log_path = inputs.log
    records = tuple((t, bytes(m.get_msgbuf())) for m, t in iter_tlog(log_path.read_bytes()))
    tel = read_telemetry(log_path)
    stills, offset = _stills(cfg, inputs.frame_sources, tel) if cfg.frames_to else ((), None)
    video = _video(cfg.flight, offset) if cfg.video_to else None
    if cfg.trim_s is not None:
        records = _trim(records, stills, video, cfg.trim_s)
    log.info("replay of %s: %d MAVLink records, %d stills, video %s", cfg.flight, len(records),
             len(stills), "yes" if video else "no")
    return ReplayPlan(records, stills, video)


def _trim(records: tuple[tuple[float, bytes], ...], stills: tuple[StillItem, ...],
          video: VideoPlan | None, trim_s: float) -> tuple[tuple[float, bytes], ...]:
    times = [s.t_utc_s for s in stills] + ([video.start_utc_s] if video else [])
    if not times:
        return records
    lo, hi = min(times) - trim_s, max(times) + trim_s + (8.0 if video else 0.0)
    return tuple(r for r in records if lo <= r[0] <= hi)


def _stills(cfg: ReplayConfig, sources: tuple[Path, ...], tel: Telemetry
            ) -> tuple[tuple[StillItem, ...], float | None]:
    found = discover_frames(list(sources), kinds=cfg.kinds)  # other kinds' folders unread
    frames = [f for f in found.frames if f.kind in cfg.kinds]
    results, reports = pose_frames(frames, tel)
    items = []
    for k, (f, r) in enumerate(zip(frames, results, strict=True)):
        t = r.pose.t_utc_s if isinstance(r, Posed) else f.t_camera_s
        if t is not None:
            items.append(StillItem(f.path, f.kind, k + 1, t + cfg.frame_delay_s))
    thermal = reports.get("thermal")
    offset = thermal.offset_s if thermal is not None else None
    return tuple(sorted(items, key=lambda s: s.t_utc_s)), offset


def _video(flight: Path, offset_s: float | None) -> VideoPlan:
    side = flight / "video" / "thermal.json"
    if not side.is_file():
        raise DronepipeError(f"{flight}: no video/thermal.json sidecar to time the video by")
    meta = json.loads(side.read_text())
    start = float(meta["start_t_camera_s"]) + (offset_s or 0.0)
    return VideoPlan(side.parent / meta.get("file", "thermal.avi"), start, float(meta["fps"]))
