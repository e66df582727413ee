"""Writing telemetry logs (``.tlog``) for tests and the simulator: each MAVLink frame
(encoded by pymavlink) after an 8-byte big-endian time stamp in microseconds since the
Unix epoch, as Mission Planner and MAVProxy write them.

Example::

    with TlogWriter("flight.tlog") as w:
        m = w.mav   # pymavlink encoder: w.mav.attitude_encode(...), etc.
        w.write(m.system_time_encode(1_700_000_000_000_000, 1000), t_utc_s=1_700_000_000.0)
        w.write(m.attitude_encode(1000, 0.0, 0.1, 1.2, 0, 0, 0), t_utc_s=1_700_000_000.0)
"""

from __future__ import annotations

import os
import struct
from typing import IO, Any

from dronepipe.flightlogs.log_writer import LogWriter
from dronepipe.flightlogs.mavlink_dialect import new_parser


class TlogWriter(LogWriter):
    """Writes stamped MAVLink frames to a path or binary file object.

    Frames are MAVLink 2 unless ``mavlink1`` is set (messages with ids above 255 cannot
    be MAVLink 1 and stay MAVLink 2, as on a real mixed link); they come from system
    ``src_system``, component ``src_component`` unless ``write`` says otherwise.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[bytes], *, mavlink1: bool = False,
                 src_system: int = 1, src_component: int = 1) -> None:
        super().__init__(target)
        self.mavlink1 = mavlink1
        self.mav: Any = new_parser(src_system, src_component)
        """pymavlink's encoder (``mav.<message>_encode(...)`` makes messages)."""

    def frame(self, msg: Any, *, src_system: int | None = None,
              src_component: int | None = None) -> bytes:
        """The encoded frame of a message (advances the sequence number)."""
        mav = self.mav
        saved = mav.srcSystem, mav.srcComponent
        mav.srcSystem = saved[0] if src_system is None else src_system
        mav.srcComponent = saved[1] if src_component is None else src_component
        try:
            v1 = self.mavlink1 and msg.get_msgId() < 256
            buf = bytes(msg.pack(mav, force_mavlink1=v1))
        finally:
            mav.srcSystem, mav.srcComponent = saved
        mav.seq = (mav.seq + 1) % 256
        return buf

    def write(self, msg: Any, t_utc_s: float, *, src_system: int | None = None,
              src_component: int | None = None) -> None:
        """Write one message stamped with ground-station time ``t_utc_s`` (Unix s)."""
        frame = self.frame(msg, src_system=src_system, src_component=src_component)
        self.write_raw(frame, t_utc_s)

    def write_raw(self, frame: bytes, t_utc_s: float) -> None:
        """Write already encoded bytes after a time stamp."""
        self._fh.write(struct.pack(">Q", max(0, round(t_utc_s * 1e6))) + frame)
