"""``LiveConfig``: every option of ``dronepipe live``, in one frozen record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dronepipe.thermal import DecodeOptions
from dronepipe.thermal.detection import DetectionConfig

VideoKind = Literal["thermal-gray"]


@dataclass(frozen=True)
class LiveConfig:
    """What to listen to, how to process it and what to write on exit.

    Inputs: ``mavlink`` a connection string for ``open_live`` (``udpin:0.0.0.0:14550``,
    ``tcp:HOST:PORT``, ``serial:DEV:BAUD``); ``video`` a URL or file OpenCV opens, its
    grey levels mapped linearly onto ``span_c`` (degrees C of grey 0 and 255; flagged
    non-radiometric); ``frames_dir`` a folder where radiometric stills land.
    ``cameras``: a camera file (TOML) for cameras not in the table.

    Time: ``latency_s`` (wall seconds) from a frame's capture to its arrival, used
    where a frame has no trustworthy capture time; ``time_offset_s`` the camera clock
    minus the autopilot's UTC (seconds; None: found from camera trigger events where the
    link carries them, else 0); ``exif_tolerance_s``: an EXIF time further than this
    from the arrival-based estimate is not trusted; ``pose_timeout_s``: how long (wall
    seconds) a frame waits for telemetry covering its time before it is dropped.

    Processing: ``keyframe_overlap`` (0..1): a frame whose footprint overlaps the last
    keyframe's by less than this goes to the mosaic; ``mosaic_queue``/``frame_queue``:
    bounded queue lengths; ``area_m``: side of the live mosaic square around the first
    keyframe (metres); ``gsd_m``: mosaic pixel size (None: the first keyframe's);
    ``register``: register keyframes against the mosaic where registration is available.

    Serving: ``serve`` (host, port), ``token``, ``cot`` (a CoT destination URL).
    Ending: ``exit_after_idle_s``: stop when nothing (frames or telemetry) arrived for
    this long (None: run until stopped or the inputs end).
    """

    out_dir: Path
    mavlink: str | None = None
    video: str | None = None
    video_kind: VideoKind = "thermal-gray"
    span_c: tuple[float, float] = (0.0, 150.0)
    frames_dir: Path | None = None
    cameras: Path | None = None
    latency_s: float = 0.2
    time_offset_s: float | None = None
    exif_tolerance_s: float = 30.0
    pose_timeout_s: float = 5.0
    sync_wait_s: float = 3.0
    keyframe_overlap: float = 0.7
    mosaic_queue: int = 4
    frame_queue: int = 256
    area_m: float = 1500.0
    gsd_m: float | None = None
    register: bool = True
    serve: tuple[str, int] | None = None
    token: str | None = None
    cot: str | None = None
    exit_after_idle_s: float | None = None
    settle_s: float = 0.5
    reconnect_max_s: float = 5.0
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    position_sigma_m: float = 1.0
    max_gap_s: float = 2.0
    cache_tiles: int = 64
