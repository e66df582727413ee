"""Collecting decoded MAVLink messages into ``Telemetry`` (tlog files and live links).

``MavlinkCollector.add(msg, receive_time_s)`` keeps the fields of the messages dronepipe
uses, stamped with the autopilot's boot clock (``time_boot_ms``, or ``time_usec`` where
it is a boot time) and the receive time (the tlog's ground-station stamp, or the local
clock on a live link). ``build()`` maps the boot clock to UTC:

- by SYSTEM_TIME (``time_unix_usec`` against ``time_boot_ms``; zero/unset times ignored),
  as the median offset per boot session (a reboot starts a new session); failing that,
  by the UTC stamps the autopilot puts in CAMERA_FEEDBACK/CAMERA_IMAGE_CAPTURED (and
  GPS_RAW_INT where it is Unix time) against its boot clock at their arrival;
- where a session has no SYSTEM_TIME, by the median offset of the receive times against
  the boot clock - a fallback, flagged as ``time_source="ground_station"`` (replayed
  logs can carry rewritten stamps).

Messages without a time of their own (MOUNT_STATUS) get the latest autopilot boot time
received before them. Only the vehicle's messages are used: the first (system,
component) whose HEARTBEAT names an autopilot, or failing that the first sender of
ATTITUDE / GLOBAL_POSITION_INT / GPS_RAW_INT / SYSTEM_TIME; gimbal and camera messages
may come from any component of that system. Memory is bounded by ``max_samples`` per
kind of sample (the oldest go first), for live links.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.gpstime import plausible_utc
from dronepipe.flightlogs.mavlink_dialect import enum_name
from dronepipe.flightlogs.vehicle_info import first_banner, frame_from_texts
from dronepipe.rotations import quat_to_euler

log = logging.getLogger(__name__)

NAN = float("nan")
_REBOOT_S = 5.0
_NOT_VEHICLES = {6, 18, 26, 27, 30}  # GCS, onboard controller, gimbal, ADS-B, camera
_AUTOPILOT_INVALID = 8
_FLAG_YAW_LOCK, _FLAG_YAW_VEHICLE, _FLAG_YAW_EARTH = 16, 32, 64
_KINDS = ("systime", "gpi", "gps", "att", "mount", "gdas", "camera")

# camera row: (session, boot_s, abs_utc_s, recv_s, source, index, lat, lon, alt_msl,
#              alt_rel, roll, pitch, yaw, gimbal roll, gimbal pitch, gimbal yaw) - radians


@dataclass(frozen=True)
class LinkStats:
    """Bad input a collector saw."""

    bad_crc: int = 0
    bad_data: int = 0
    bad_data_bytes: int = 0
    unknown_messages: int = 0


def _u16(v: int, unknown: int = 65535) -> float:
    return NAN if v == unknown else float(v)


class MavlinkCollector:
    """Accumulates MAVLink messages; ``build`` (in ``mavlink_build``) makes Telemetry."""

    def __init__(self, *, max_samples: int | None = None) -> None:
        self.rows: dict[str, deque[tuple[Any, ...]]] = {k: deque(maxlen=max_samples)
                                                         for k in _KINDS}
        self.counts: Counter[str] = Counter()
        self.texts: deque[str] = deque(maxlen=200)
        self.vehicle_id: tuple[int, int] | None = None
        self.heartbeat: tuple[int, int] | None = None      # (MAV_TYPE, MAV_AUTOPILOT)
        self.sw_version: int = 0
        self.home_alt_m: float = NAN
        self.session = 0
        self.last_boot_s = NAN
        self._bad = {"crc": 0, "data": 0, "bytes": 0, "unknown": 0}

    def snapshot(self) -> MavlinkCollector:
        """A copy that no longer changes when more messages arrive (to build from)."""
        c = MavlinkCollector.__new__(MavlinkCollector)
        c.__dict__.update(self.__dict__)
        c.rows = {k: deque(v) for k, v in self.rows.items()}
        c.counts = Counter(self.counts)
        c.texts = deque(self.texts)
        c._bad = dict(self._bad)
        return c

    @property
    def link_stats(self) -> LinkStats:
        """Counts of bad data seen so far."""
        b = self._bad
        return LinkStats(b["crc"], b["data"], b["bytes"], b["unknown"])

    @classmethod
    def used_types(cls) -> set[str]:
        """Message type names the collector takes samples or facts from."""
        return {name[4:].upper() for name in dir(cls) if name.startswith("_on_")}

    def add(self, msg: Any, recv_s: float, *, counted: bool = False) -> str | None:
        """Take one decoded message received at ``recv_s`` (UTC s); returns the kind of
        sample it gave ("att", "gpi", "camera", ...) or None. ``counted``: the caller
        has counted it already (``add_counts``)."""
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            self._bad["crc" if "CRC" in str(getattr(msg, "reason", "")) else "data"] += 1
            self._bad["bytes"] += len(getattr(msg, "data", b""))
            return None
        if not counted:
            self.add_counts({mtype: 1})
        if mtype.startswith("UNKNOWN_"):
            return None
        handler = getattr(self, "_on_" + mtype.lower(), None)
        return handler(msg, recv_s) if handler is not None else None

    def add_counts(self, counts: dict[str, int]) -> None:
        """Count messages (by type name) without their contents."""
        self.counts.update(counts)
        self._bad["unknown"] += sum(k for t, k in counts.items() if t.startswith("UNKNOWN_"))

    def add_all(self, msgs: Iterable[tuple[Any, float]]) -> None:
        """Take many (message, receive time) pairs."""
        for msg, recv_s in msgs:
            self.add(msg, recv_s)

    # --- who is the vehicle, and its boot clock ---------------------------------------

    def _from_vehicle(self, msg: Any, lock: bool = True, any_component: bool = False) -> bool:
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        if self.vehicle_id is None and lock:
            self.vehicle_id = src
        if self.vehicle_id is None:
            return False
        return src[0] == self.vehicle_id[0] and (any_component or src[1] == self.vehicle_id[1])

    def _tick(self, boot_s: float) -> None:
        if not math.isnan(self.last_boot_s) and boot_s < self.last_boot_s - _REBOOT_S:
            self.session += 1
        self.last_boot_s = boot_s

    def _own_clock(self, msg: Any) -> bool:
        """Whether a message from the vehicle's system is stamped by the autopilot's clock."""
        return self.vehicle_id is not None and msg.get_srcComponent() == self.vehicle_id[1]

    def _on_heartbeat(self, msg: Any, recv_s: float) -> None:
        if msg.autopilot == _AUTOPILOT_INVALID or msg.type in _NOT_VEHICLES:
            return None
        if self.vehicle_id is None:
            self.vehicle_id = (msg.get_srcSystem(), msg.get_srcComponent())
        if self._from_vehicle(msg, lock=False):
            self.heartbeat = (msg.type, msg.autopilot)
        return None

    def _on_statustext(self, msg: Any, recv_s: float) -> None:
        text = msg.text.decode(errors="replace") if isinstance(msg.text, bytes) else str(msg.text)
        self.texts.append(text.rstrip("\0"))

    def _on_autopilot_version(self, msg: Any, recv_s: float) -> None:
        if self._from_vehicle(msg, lock=False):
            self.sw_version = int(msg.flight_sw_version)

    def _on_home_position(self, msg: Any, recv_s: float) -> None:
        if self._from_vehicle(msg, lock=False):
            self.home_alt_m = msg.altitude / 1000.0

    # --- samples -----------------------------------------------------------------------

    def _on_system_time(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg):
            return None
        boot_s = msg.time_boot_ms / 1e3
        self._tick(boot_s)
        unix_s = msg.time_unix_usec / 1e6
        if plausible_utc(unix_s):
            self.rows["systime"].append((self.session, boot_s, unix_s))
        return "systime"

    def _on_global_position_int(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg):
            return None
        boot_s = msg.time_boot_ms / 1e3
        self._tick(boot_s)
        speed = math.hypot(msg.vx, msg.vy) / 100.0
        self.rows["gpi"].append((self.session, boot_s, recv_s, msg.lat / 1e7, msg.lon / 1e7,
                                 msg.alt / 1e3, msg.relative_alt / 1e3, speed))
        return "gpi"

    def _on_gps_raw_int(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg):
            return None
        t = msg.time_usec / 1e6
        abs_s = t if plausible_utc(t) else NAN
        boot_s = t if (t > 0 and math.isnan(abs_s)) else self.last_boot_s
        sats = NAN if msg.satellites_visible == 255 else float(msg.satellites_visible)
        vel = _u16(msg.vel)
        self.rows["gps"].append((self.session, boot_s, abs_s, recv_s, float(msg.fix_type),
                                 msg.lat / 1e7, msg.lon / 1e7, msg.alt / 1e3,
                                 _u16(msg.eph) / 100.0, vel / 100.0, sats))
        return "gps"

    def _on_attitude(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg):
            return None
        boot_s = msg.time_boot_ms / 1e3
        self._tick(boot_s)
        self.rows["att"].append((self.session, boot_s, recv_s, msg.roll, msg.pitch, msg.yaw))
        return "att"

    def _on_mount_status(self, msg: Any, recv_s: float) -> str | None:
        """Pitch, roll, yaw in centidegrees; ArduPilot sends the yaw in the body frame."""
        if not self._from_vehicle(msg, lock=False, any_component=True):
            return None
        self.rows["mount"].append((self.session, self.last_boot_s, recv_s,
                                   math.radians(msg.pointing_b / 100.0),
                                   math.radians(msg.pointing_a / 100.0),
                                   math.radians(msg.pointing_c / 100.0), False))
        return "gimbal"

    def _on_gimbal_device_attitude_status(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg, lock=False, any_component=True):
            return None
        boot_s = msg.time_boot_ms / 1e3 if self._own_clock(msg) else self.last_boot_s
        roll, pitch, yaw = (float(v) for v in quat_to_euler(np.asarray(msg.q, dtype=float)))
        flags = int(msg.flags)
        earth = bool(flags & _FLAG_YAW_EARTH) or (bool(flags & _FLAG_YAW_LOCK)
                                                   and not flags & _FLAG_YAW_VEHICLE)
        self.rows["gdas"].append((self.session, boot_s, recv_s, roll, pitch, yaw, earth))
        return "gimbal"

    # --- camera events -----------------------------------------------------------------

    def _times(self, time_usec: int) -> tuple[float, float]:
        """(boot_s, abs_utc_s) of a time_usec that is Unix time or time since boot."""
        t = time_usec / 1e6
        if plausible_utc(t):
            return self.last_boot_s, t
        return (t if t > 0 else self.last_boot_s), NAN

    def _on_camera_feedback(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg, lock=False, any_component=True):
            return None
        boot_s, abs_s = self._times(msg.time_usec)
        self.rows["camera"].append((
            self.session, boot_s, abs_s, recv_s, "CAMERA_FEEDBACK", int(msg.img_idx),
            msg.lat / 1e7, msg.lng / 1e7, float(msg.alt_msl), float(msg.alt_rel),
            math.radians(msg.roll), math.radians(msg.pitch), math.radians(msg.yaw), NAN, NAN, NAN))
        return "camera"

    def _on_camera_trigger(self, msg: Any, recv_s: float) -> str | None:
        if not self._from_vehicle(msg, lock=False, any_component=True):
            return None
        boot_s, abs_s = self._times(msg.time_usec)
        self.rows["camera"].append((self.session, boot_s, abs_s, recv_s, "CAMERA_TRIGGER",
                                    int(msg.seq)) + (NAN,) * 10)
        return "camera"

    def _on_camera_image_captured(self, msg: Any, recv_s: float) -> str | None:
        """Position in degE7/mm; ``q`` is the camera's attitude in the earth frame."""
        if not self._from_vehicle(msg, lock=False, any_component=True) or msg.capture_result == 0:
            return None
        abs_s = msg.time_utc / 1e6 if plausible_utc(msg.time_utc / 1e6) else NAN
        boot_s = msg.time_boot_ms / 1e3 if self._own_clock(msg) else self.last_boot_s
        groll, gpitch, gyaw = (float(v) for v in quat_to_euler(np.asarray(msg.q, dtype=float)))
        self.rows["camera"].append((
            self.session, boot_s, abs_s, recv_s, "CAMERA_IMAGE_CAPTURED", int(msg.image_index),
            msg.lat / 1e7, msg.lon / 1e7, msg.alt / 1e3, msg.relative_alt / 1e3,
            NAN, NAN, NAN, groll, gpitch, gyaw))
        return "camera"

    # --- what the vehicle is -----------------------------------------------------------

    def vehicle_strings(self) -> tuple[str, str]:
        """(vehicle kind, firmware) from the banner text, HEARTBEAT and AUTOPILOT_VERSION."""
        texts = list(self.texts)
        firmware, kind = first_banner(texts)
        if not kind and self.heartbeat is not None:
            kind = enum_name("MAV_TYPE", self.heartbeat[0])
        frame = frame_from_texts(texts)
        if not firmware and self.heartbeat is not None:
            firmware = _autopilot_name(self.heartbeat[1])
            if self.sw_version:
                v = self.sw_version
                firmware += f" {v >> 24 & 0xFF}.{v >> 16 & 0xFF}.{v >> 8 & 0xFF}"
        return (f"{kind} ({frame})" if kind and frame else kind), firmware


def _autopilot_name(autopilot: int) -> str:
    return {3: "ArduPilot", 12: "PX4"}.get(autopilot, enum_name("MAV_AUTOPILOT", autopilot))


def column(rows: Iterable[tuple[Any, ...]], i: int, dtype: Any = np.float64) -> NDArray:
    """Column ``i`` of sample rows as an array."""
    return np.array([r[i] for r in rows], dtype=dtype)
