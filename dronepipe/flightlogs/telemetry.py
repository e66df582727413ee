"""``Telemetry``: everything read from one flight log, and poses at any instant.

A ``Telemetry`` holds the position, attitude and (where the log has one) gimbal tracks,
each on its own clock, the camera trigger events, what the log says about the vehicle,
per-message counts and what the reader skipped. ``pose_at`` interpolates a ``Pose``
(position linearly, attitudes by slerp) and raises ``NoPoseError`` outside the log or
across a gap longer than ``max_gap_s`` in the position, attitude or gimbal track.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.errors import NoPoseError
from dronepipe.flightlogs.interpolate import (
    Bracket,
    Miss,
    bracket,
    find_gaps,
    interpolate_attitude,
    interpolate_gimbal,
    interpolate_position,
)
from dronepipe.flightlogs.records import CameraEvent, Pose
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack

DEFAULT_MAX_GAP_S = 2.0

TIME_SOURCES = ("autopilot", "ground_station", "boot")
"""``autopilot``: UTC from the autopilot's own GPS-disciplined clock (SYSTEM_TIME, GPS
week/ms). ``ground_station``: from the tlog's ground-station time stamps (a fallback:
replays can rewrite them). ``boot``: no absolute time at all; times are seconds since
the autopilot booted."""


@dataclass(frozen=True)
class ReadStats:
    """What the reader skipped or dropped, in counts (bytes where named so)."""

    bytes_total: int = 0
    bytes_skipped: int = 0           # bytes not in any decoded message
    skip_runs: int = 0               # places where bytes were skipped
    bad_crc: int = 0                 # tlog frames with a wrong checksum
    bad_data: int = 0                # other undecodable tlog data (bad prefix, length)
    unknown_messages: int = 0        # messages/records of a type the reader does not know
    broken_records: int = 0          # DataFlash records whose FMT does not match their size
    truncated_records: int = 0       # a last message cut off by the end of the file
    no_fix_positions: int = 0        # positions dropped because the GNSS fix was < 3D
    invalid_samples: int = 0         # samples dropped for non-finite or zero values
    untimed_records: int = 0         # records dropped because no UTC could be given

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class PoseArrays:
    """Vectorised poses (``Telemetry.poses_at``): one entry per query time, NaN where
    there is no pose; ``ok`` says which entries are valid. Units as in ``Pose``."""

    t_utc_s: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    alt_msl_m: NDArray[np.float64]
    alt_rel_m: NDArray[np.float64]
    roll_rad: NDArray[np.float64]
    pitch_rad: NDArray[np.float64]
    yaw_rad: NDArray[np.float64]
    gimbal_roll_rad: NDArray[np.float64] | None
    gimbal_pitch_rad: NDArray[np.float64] | None
    gimbal_yaw_rad: NDArray[np.float64] | None
    ok: NDArray[np.bool_]
    source: str = ""
    explain: Callable[[int], str] = field(default=lambda i: "no pose", repr=False)

    def __len__(self) -> int:
        return int(self.t_utc_s.size)

    def pose(self, i: int) -> Pose:
        """Entry ``i`` as a ``Pose``; raises ``NoPoseError`` (with the reason) where invalid."""
        if not self.ok[i]:
            raise NoPoseError(self.explain(i))

        def g(arr: NDArray[np.float64] | None) -> float | None:
            return None if arr is None else float(arr[i])

        return Pose(float(self.t_utc_s[i]), float(self.lat_deg[i]), float(self.lon_deg[i]),
                    float(self.alt_msl_m[i]), float(self.alt_rel_m[i]), float(self.roll_rad[i]),
                    float(self.pitch_rad[i]), float(self.yaw_rad[i]), g(self.gimbal_roll_rad),
                    g(self.gimbal_pitch_rad), g(self.gimbal_yaw_rad), self.source)


def iso_utc(t_utc_s: float) -> str:
    """ISO 8601 UTC text of a Unix time, millisecond precision (``2021-12-08T18:42:00.123Z``)."""
    if not math.isfinite(t_utc_s):
        return "nan"
    try:
        dt = datetime.fromtimestamp(t_utc_s, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{t_utc_s:.3f} s (not a calendar date)"
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _miss_text(track: str, miss: int, t: float, tt: NDArray[np.float64], max_gap_s: float) -> str:
    if miss == Miss.EMPTY:
        return f"the log has no {track} samples"
    if miss == Miss.BAD_TIME:
        return f"{t!r} is not a time"
    if miss == Miss.BEFORE:
        return f"{iso_utc(t)} is before the {track} track starts ({iso_utc(float(tt[0]))})"
    if miss == Miss.AFTER:
        return f"{iso_utc(t)} is after the {track} track ends ({iso_utc(float(tt[-1]))})"
    i = int(np.searchsorted(tt, t))
    gap = float(tt[i] - tt[i - 1])
    return (f"{iso_utc(t)} falls in a {gap:.1f} s gap of the {track} track "
            f"(no pose across gaps over {max_gap_s:g} s)")


@dataclass(frozen=True, eq=False)
class Telemetry:
    """One flight log, read. Times are UTC seconds since the Unix epoch (see
    ``time_source``); angles radians; heights metres (``alt_msl_m`` above mean sea
    level, ``alt_rel_m`` above take-off).

    ``messages`` maps each message type name, as pymavlink names it, to its count;
    ``stats`` says what was skipped or dropped; ``max_gap_s`` is the longest interval
    between samples that ``pose_at`` interpolates across.
    """

    source: str
    log_format: str                   # "tlog", "dataflash", "dataflash-text", "live"
    position: PositionTrack
    attitude: AttitudeTrack
    gimbal: GimbalTrack | None = None
    camera_events: tuple[CameraEvent, ...] = ()
    vehicle: str = ""                 # e.g. "Copter", "Quadrotor"
    firmware: str = ""                # e.g. "ArduCopter V4.1.1 (01d1aa1e)"
    messages: Mapping[str, int] = field(default_factory=dict)
    stats: ReadStats = field(default_factory=ReadStats)
    time_source: str = "autopilot"
    max_gap_s: float = DEFAULT_MAX_GAP_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", MappingProxyType(dict(self.messages)))
        object.__setattr__(self, "camera_events", tuple(self.camera_events))

    @property
    def start_utc_s(self) -> float:
        """First sample time of the position or attitude track (NaN if both are empty)."""
        firsts = [float(t.t_utc_s[0]) for t in (self.position, self.attitude) if len(t)]
        return min(firsts) if firsts else float("nan")

    @property
    def end_utc_s(self) -> float:
        """Last sample time of the position or attitude track (NaN if both are empty)."""
        lasts = [float(t.t_utc_s[-1]) for t in (self.position, self.attitude) if len(t)]
        return max(lasts) if lasts else float("nan")

    def gaps(self, max_gap_s: float | None = None) -> list[tuple[str, float, float]]:
        """(track, start, end) of every gap longer than ``max_gap_s`` (default: the
        telemetry's), in the position, attitude and gimbal tracks."""
        g = self.max_gap_s if max_gap_s is None else max_gap_s
        out = [("position", a, b) for a, b in find_gaps(self.position.t_utc_s, g)]
        out += [("attitude", a, b) for a, b in find_gaps(self.attitude.t_utc_s, g)]
        if self.gimbal is not None:
            out += [("gimbal", a, b) for a, b in find_gaps(self.gimbal.t_utc_s, g)]
        return sorted(out, key=lambda x: x[1])

    def poses_at(self, t_utc_s: ArrayLike, *, max_gap_s: float | None = None) -> PoseArrays:
        """Poses at many UTC times at once (NaN and ``ok`` False where there is none)."""
        g = self.max_gap_s if max_gap_s is None else max_gap_s
        t = np.atleast_1d(np.asarray(t_utc_s, dtype=np.float64))
        bp = bracket(self.position.t_utc_s, t, g)
        ba = bracket(self.attitude.t_utc_s, t, g)
        bg = bracket(self.gimbal.t_utc_s, t, g) if self.gimbal is not None else None
        pos = interpolate_position(self.position, bp)
        roll, pitch, yaw = interpolate_attitude(self.attitude, ba)
        gimbal: tuple[NDArray[np.float64] | None, ...] = (None, None, None)
        if self.gimbal is not None and bg is not None:
            gimbal = interpolate_gimbal(self.gimbal, bg)
        ok = bp.ok & ba.ok
        if bg is not None and gimbal[2] is not None:
            ok &= bg.ok & np.isfinite(gimbal[2])
        nan = np.where(ok, 0.0, np.nan)
        gim = tuple(None if a is None else a + nan for a in gimbal)
        return PoseArrays(t, pos["lat_deg"] + nan, pos["lon_deg"] + nan, pos["alt_msl_m"] + nan,
                          pos["alt_rel_m"] + nan, roll + nan, pitch + nan, yaw + nan,
                          gim[0], gim[1], gim[2], ok, source=f"{self.log_format}:interpolated",
                          explain=lambda i: self._reason(t, i, bp, ba, bg, g))

    def _reason(self, t: NDArray[np.float64], i: int, bp: Bracket, ba: Bracket,
                bg: Bracket | None, max_gap_s: float) -> str:
        parts = [(bp, "position", self.position.t_utc_s), (ba, "attitude", self.attitude.t_utc_s)]
        if bg is not None and self.gimbal is not None:
            parts.append((bg, "gimbal", self.gimbal.t_utc_s))
        for b, name, tt in parts:
            if b.miss[i] != Miss.OK:
                text = _miss_text(name, int(b.miss[i]), float(t[i]), tt, max_gap_s)
                return f"no pose in {self.source}: {text}"
        return (f"no pose in {self.source}: the vehicle yaw needed to turn the gimbal's "
                f"body-frame yaw into the earth frame is missing at {iso_utc(float(t[i]))}")

    def pose_at(self, t_utc_s: float, *, max_gap_s: float | None = None) -> Pose:
        """The interpolated pose at one UTC time; ``NoPoseError`` outside the log or in a
        gap (over ``max_gap_s``, default the telemetry's) of any track it needs."""
        return self.poses_at([t_utc_s], max_gap_s=max_gap_s).pose(0)


@dataclass(frozen=True)
class BuiltTracks:
    """What a log builder derives (DataFlash: ``dataflash_telemetry.build_from_dataflash``;
    MAVLink: ``mavlink_build.build``): the tracks, camera events and vehicle strings of a
    ``Telemetry``, and the counts of what it dropped."""

    position: PositionTrack
    attitude: AttitudeTrack
    gimbal: GimbalTrack | None
    camera_events: tuple[CameraEvent, ...]
    vehicle: str
    firmware: str
    time_source: str
    no_fix_positions: int
    invalid_samples: int
    untimed_records: int = 0

    def telemetry(self, source: str, log_format: str, messages: Mapping[str, int],
                  stats: ReadStats, max_gap_s: float) -> Telemetry:
        """The ``Telemetry`` of these tracks; ``stats`` (what the reader skipped) gains
        the builder's counts of dropped positions, samples and records."""
        stats = replace(stats, no_fix_positions=self.no_fix_positions,
                        invalid_samples=self.invalid_samples, untimed_records=self.untimed_records)
        return Telemetry(source, log_format, self.position, self.attitude, self.gimbal,
                         self.camera_events, self.vehicle, self.firmware, messages, stats,
                         self.time_source, max_gap_s)
