"""``replay``: play a recorded or simulated flight as the drone would send it.

Three players share one timeline (flight time mapped to the wall clock at ``speed``):
MAVLink records go out over a link as stamped in the tlog, stills are written into a
folder atomically (temporary dot-name, then rename) at their capture time, and the
video is served as MJPEG over HTTP (``mjpeg``), frame by frame at its frame rate. Faults
for tests (``ReplayConfig``): lost records, link gaps, damaged stills, the video server
going down and coming back. ``replay`` returns when everything is played (or ``stop``
is set) with what was sent and what was dropped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.live_links import open_transport
from dronepipe.stream.mjpeg import MjpegServer
from dronepipe.stream.replay_plan import (
    ReplayConfig,
    ReplayPlan,
    StillItem,
    Window,
    plan_replay,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayResult:
    """Counts of what was played: MAVLink records sent and dropped (by loss and by gaps),
    stills delivered (and damaged), video frames served, wall seconds taken."""

    records_sent: int
    records_lost: int
    records_in_gaps: int
    stills: int
    stills_corrupt: int
    video_frames: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


class Timeline:
    """Flight time ``t0`` starts now; ``wait(t)`` sleeps until flight time ``t``."""

    def __init__(self, t0: float, speed: float, stop: threading.Event) -> None:
        self.t0, self.speed, self.stop = t0, speed, stop
        self.wall0 = time.monotonic()

    def wait(self, t: float) -> bool:
        """Sleep until flight time ``t``; False when stopped meanwhile."""
        delay = self.wall0 + (t - self.t0) / self.speed - time.monotonic()
        return not self.stop.wait(delay) if delay > 0 else not self.stop.is_set()

    def flight_s(self, t: float) -> float:
        return t - self.t0


def _in(windows: tuple[Window, ...], s: float) -> bool:
    return any(a <= s < a + d for a, d in windows)


def play_telemetry(plan: ReplayPlan, cfg: ReplayConfig, tl: Timeline, counts: dict[str, int]) -> None:
    """Send every record at its stamp, less the lost ones and those in gaps."""
    assert cfg.mavlink is not None
    link = open_transport(cfg.mavlink)
    rng = np.random.default_rng(cfg.seed)
    try:
        for t, frame in plan.records:
            if not tl.wait(t):
                return
            if _in(cfg.gaps, tl.flight_s(t)):
                counts["records_in_gaps"] += 1
            elif cfg.drop_telemetry and rng.random() < cfg.drop_telemetry:
                counts["records_lost"] += 1
            else:
                link.send(frame)
                counts["records_sent"] += 1
    finally:
        link.close()


def deliver_still(item: StillItem, folder: Path, corrupt: bool) -> Path:
    """Write one still into ``folder/<kind>/`` atomically; damaged if ``corrupt``."""
    data = item.path.read_bytes()
    if corrupt:
        data = data[:64] + bytes(range(256)) * 4
    target = folder / item.kind / item.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def play_stills(plan: ReplayPlan, cfg: ReplayConfig, tl: Timeline, counts: dict[str, int]) -> None:
    """Deliver every still at its capture time."""
    assert cfg.frames_to is not None
    for item in plan.stills:
        if not tl.wait(item.t_utc_s):
            return
        bad = item.number in cfg.corrupt_frames
        deliver_still(item, cfg.frames_to, bad)
        counts["stills"] += 1
        counts["stills_corrupt"] += bad


def video_address(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an ``http://HOST:PORT/PATH`` video destination."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise DronepipeError(f"--video-to {url}: expected http://HOST:PORT/PATH (served as MJPEG; "
                             "OpenCV here cannot write network streams)")
    return parts.hostname, parts.port, parts.path or "/video.mjpg"


def play_video(plan: ReplayPlan, cfg: ReplayConfig, tl: Timeline, counts: dict[str, int]) -> None:
    """Serve the video frame by frame; the server is down inside ``video_drops``."""
    assert plan.video is not None and cfg.video_to is not None
    host, port, path = video_address(cfg.video_to)
    cap = cv2.VideoCapture(str(plan.video.path))
    server: MjpegServer | None = MjpegServer(host, port, path)
    k = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            t = plan.video.start_utc_s + k / plan.video.fps
            k += 1
            if not tl.wait(t):
                return
            down = _in(cfg.video_drops, tl.flight_s(t))
            if down and server is not None:
                server.close()
                server = None
                counts["video_drops"] += 1
            elif not down and server is None:
                server = MjpegServer(host, port, path)
            if server is not None:
                server.publish(frame)
                counts["video_frames"] += 1
    finally:
        cap.release()
        if server is not None:
            time.sleep(0.2)  # let clients take the last frame
            server.close()


def replay(cfg: ReplayConfig, stop: threading.Event | None = None,
           plan: ReplayPlan | None = None) -> ReplayResult:
    """Play the flight (see the module docstring); returns when done or stopped."""
    plan = plan or plan_replay(cfg)
    stop = stop or threading.Event()
    counts = dict.fromkeys(("records_sent", "records_lost", "records_in_gaps", "stills",
                            "stills_corrupt", "video_frames", "video_drops"), 0)
    tl = Timeline(plan.t0, cfg.speed, stop)
    players = [(play_telemetry, cfg.mavlink and plan.records), (play_stills, cfg.frames_to),
               (play_video, cfg.video_to and plan.video)]
    errors: list[BaseException] = []

    def run(fn: object) -> None:
        try:
            fn(plan, cfg, tl, counts)  # type: ignore[operator]
        except (DronepipeError, OSError) as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(fn,), name=f"replay-{fn.__name__}", daemon=True)
               for fn, wanted in players if wanted]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise DronepipeError(f"replay failed: {errors[0]}") from errors[0]
    return ReplayResult(counts["records_sent"], counts["records_lost"], counts["records_in_gaps"],
                        counts["stills"], counts["stills_corrupt"], counts["video_frames"],
                        round(time.monotonic() - tl.wall0, 3), dict(counts))
