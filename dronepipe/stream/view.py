"""``LiveView``: what the server and the CoT sender may read of the live state.

The live processing (``dronepipe.stream.live``) implements it; the HTTP server
(``dronepipe.stream.server``) and the CoT sender only read through it, so serving never
reaches into processing internals and never blocks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.events import EventBus
from dronepipe.thermal.hotspot import Hotspot


@dataclass(frozen=True)
class DroneState:
    """The drone's last known position: time (UTC s), WGS84 position, altitude above
    take-off (m), heading (degrees clockwise from true north), and the current thermal
    footprint as a lon/lat ring (or None)."""

    t_utc_s: float
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    heading_deg: float
    footprint_lonlat: tuple[tuple[float, float], ...] | None = None


class LiveView(Protocol):
    """Read-only access to the live state (thread-safe in every method)."""

    @property
    def events(self) -> EventBus: ...

    def mosaic(self, kind: str = "thermal") -> Mosaic | None:
        """The growing mosaic of a kind, None before the first keyframe."""
        ...

    def hotspots(self) -> list[Hotspot]:
        """Every hotspot so far, by id."""
        ...

    def drone(self) -> DroneState | None:
        """The drone's last known state, None before the first telemetry."""
        ...

    def status(self) -> dict[str, object]:
        """Counters for the page and the log: frames received, detected, mosaicked,
        skipped, dropped without pose, corrupt; telemetry messages; uptime."""
        ...
