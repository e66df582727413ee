"""A video's telemetry, and the time of its frame 0 on that telemetry's clock.

A frame ``n`` of a video was taken at ``start + n / fps``. Where the telemetry is a
DJI SRT, the SRT and the video share the aircraft's clock and ``start`` is the SRT's
own fit (``SrtLog.video_start_s``; no offset). Where it is a MAVLink or DataFlash log
(UTC from GNSS), the start on the camera's clock (sidecar or container) needs the
camera clock's offset, in order of trust:

1. the offset that time sync found for the stills of the same camera (same kind) in
   the same flight (camera events, EXIF GPS against the track, ...);
2. ``--time-offset`` given by hand;
3. none, where the start time states its zone (taken as UTC, as stills with
   OffsetTimeOriginal are, and said so with a warning);

otherwise the video is not used, with the reason (a guessed clock would put every
frame metres off along the track).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.flightlogs import read_telemetry
from dronepipe.flightlogs.srt import SrtLog, read_srt
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.frames.refs import FrameKind
from dronepipe.pipeline.videos import VideoInput

# time-sync methods whose offset measures (or states) the camera clock against the log
OFFSET_METHODS = frozenset({"camera-events", "exif-gps", "file-utc", "hand-offset"})


@dataclass(frozen=True)
class VideoClock:
    """``start_s``: frame 0 on the telemetry's clock (UTC seconds for a log, the
    aircraft's clock for an SRT); ``how``: where it came from; ``offset_s``: the camera
    clock's offset applied (None: none needed); ``srt``: what the SRT reader decided
    (layout, lat/lon order, attitude source), for provenance."""

    telemetry: Telemetry
    start_s: float
    how: str
    offset_s: float | None
    srt: dict[str, object] | None = None


class TelemetrySource:
    """Reads each video's telemetry once (the flight's log is not read again)."""

    def __init__(self, flight_log: Path | None, flight_telemetry: Telemetry | None) -> None:
        self._logs: dict[Path, Telemetry] = {}
        if flight_log is not None and flight_telemetry is not None:
            self._logs[flight_log.resolve()] = flight_telemetry
        self.near_lonlat: tuple[float, float] | None = None
        if flight_telemetry is not None and len(flight_telemetry.position):
            pos = flight_telemetry.position
            self.near_lonlat = (float(pos.lon_deg[0]), float(pos.lat_deg[0]))

    def read(self, video: VideoInput) -> tuple[Telemetry, SrtLog | None]:
        """The video's telemetry (and the SRT it came from); ``DronepipeError`` where none."""
        if video.telemetry is None:
            raise DronepipeError(f"no telemetry: {video.telemetry_how}")
        if video.has_srt:
            srt = read_srt(video.telemetry, near_lonlat=self.near_lonlat,
                           video_start_s=video.start_camera_s, assume_nadir=True)
            return srt.telemetry, srt
        key = video.telemetry.resolve()
        if key not in self._logs:
            self._logs[key] = read_telemetry(video.telemetry)
        return self._logs[key], None


def still_offsets(sync: Mapping[str, Mapping[str, object]]) -> dict[FrameKind, tuple[float, str]]:
    """Per camera kind, the clock offset (s) time sync found for the stills, and how."""
    out: dict[FrameKind, tuple[float, str]] = {}
    for kind in ("thermal", "rgb"):
        rep = sync.get(kind)
        if rep and rep.get("method") in OFFSET_METHODS and isinstance(rep.get("offset_s"), float) \
                and rep.get("n_posed"):
            out[kind] = (float(rep["offset_s"]), str(rep["method"]))  # type: ignore[arg-type]
    return out


def video_clock(video: VideoInput, telemetry: Telemetry, srt: SrtLog | None,
                offsets: Mapping[FrameKind, tuple[float, str]],
                time_offset_s: float | None) -> VideoClock:
    """Frame 0's time on the telemetry's clock (see the module docstring for the order)."""
    if srt is not None:
        return VideoClock(telemetry, srt.video_start_s, _srt_how(srt), None, _srt_facts(srt))
    start = video.start_camera_s
    if start is None:
        raise DronepipeError(f"no start time: {video.start_how}")
    if video.kind in offsets:
        off, method = offsets[video.kind]
        how = f"{video.start_how} + the {video.kind} stills' camera clock offset ({method})"
        return VideoClock(telemetry, start + off, how, off)
    if time_offset_s is not None:
        return VideoClock(telemetry, start + time_offset_s, f"{video.start_how} + --time-offset",
                          time_offset_s)
    if video.start_zone_stated:
        warnings.warn(DronepipeWarning(
            f"{video.path}: the camera clock's offset to the log is unknown (no {video.kind} "
            "stills synced, no --time-offset); its start time is taken as UTC"), stacklevel=2)
        return VideoClock(telemetry, start, f"{video.start_how} taken as UTC (unverified clock)", 0.0)
    raise DronepipeError(f"the camera clock's offset to the log is unknown: no {video.kind} stills "
                         "were synced with the log and no --time-offset was given")


def _srt_how(srt: SrtLog) -> str:
    if srt.telemetry.time_source == "camera":
        return "DJI SRT: the video and the SRT share the aircraft's clock (date stamps, read as UTC)"
    return "DJI SRT without date stamps: seconds from the start of the video"


def _srt_facts(srt: SrtLog) -> dict[str, object]:
    return {"layout": srt.layout, "latlon_order": srt.latlon_order, "order_how": srt.order_how,
            "entries": srt.entries, "skipped": srt.skipped,
            "attitude": srt.telemetry.attitude.source,
            "gimbal": None if srt.telemetry.gimbal is None else srt.telemetry.gimbal.source}
