"""Flight logs: MAVLink telemetry logs (.tlog), ArduPilot DataFlash logs (.bin, .log)
and live MAVLink links, read into ``Telemetry`` (columnar tracks in UTC seconds, camera
events, ``pose_at``). The only part of dronepipe that imports pymavlink.

Public API::

    read_telemetry(path, *, max_gap_s=2.0, min_fix_type=3, progress=None) -> Telemetry
    read_telemetry_bytes(data, name, ...) -> Telemetry
    open_live(connection, ...) -> LiveTelemetry
    summarize(telemetry) -> FlightSummary
    DataFlashWriter, TlogWriter  (writing logs for tests and the simulator)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dronepipe.flightlogs.records import CameraEvent, Pose
from dronepipe.flightlogs.telemetry import PoseArrays, ReadStats, Telemetry
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack

__all__ = [
    "AttitudeTrack", "CameraEvent", "DataFlashWriter", "FlightSummary", "GimbalTrack",
    "LiveTelemetry", "Pose", "PoseArrays", "PositionTrack", "ReadStats", "Telemetry",
    "TlogWriter", "open_live", "read_telemetry", "read_telemetry_bytes", "summarize",
]

_LAZY = {
    "read_telemetry": "dronepipe.flightlogs.reader",
    "read_telemetry_bytes": "dronepipe.flightlogs.reader",
    "open_live": "dronepipe.flightlogs.live",
    "LiveTelemetry": "dronepipe.flightlogs.live",
    "summarize": "dronepipe.flightlogs.summary",
    "FlightSummary": "dronepipe.flightlogs.summary",
    "DataFlashWriter": "dronepipe.flightlogs.dataflash_writer",
    "TlogWriter": "dronepipe.flightlogs.tlog_writer",
}

if TYPE_CHECKING:  # pragma: no cover
    from dronepipe.flightlogs.dataflash_writer import DataFlashWriter
    from dronepipe.flightlogs.live import LiveTelemetry, open_live
    from dronepipe.flightlogs.reader import read_telemetry, read_telemetry_bytes
    from dronepipe.flightlogs.summary import FlightSummary, summarize
    from dronepipe.flightlogs.tlog_writer import TlogWriter


def __getattr__(name: str) -> Any:
    """Import the heavier modules on first use (keeps ``import dronepipe`` light)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dronepipe.flightlogs' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(module), name)
