"""A flight at a glance (``dronepipe info``): when, where, how high, how far, how good
the GPS was, gaps, camera events and message counts.

``summarize`` computes a frozen ``FlightSummary``; ``to_dict`` gives plain JSON values
(ISO 8601 UTC times, ``bbox`` as [west, south, east, north] in degrees, ``None`` where
the log has no such data) and ``to_text`` the human-readable lines.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.flightlogs.telemetry import Telemetry, iso_utc

EARTH_RADIUS_M = 6371008.8


def path_length_m(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> float:
    """Length (m) of the great-circle polyline through the points (haversine)."""
    if lat_deg.size < 2:
        return 0.0
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    a = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    return float(np.sum(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))))


def _range(values: NDArray[Any]) -> tuple[float, float] | None:
    v = values[np.isfinite(values)] if values.dtype.kind == "f" else values[values >= 0]
    return (float(v.min()), float(v.max())) if v.size else None


def _bbox(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> tuple[float, ...] | None:
    if lat.size == 0:
        return None
    west, east = float(lon.min()), float(lon.max())
    if east - west > 180.0:  # crosses the antimeridian: west is the smallest positive
        west, east = float(lon[lon >= 0].min()), float(lon[lon < 0].max())
    return (west, float(lat.min()), east, float(lat.max()))


@dataclass(frozen=True)
class FlightSummary:
    """Summary of one log; times UTC seconds, angles degrees, lengths metres."""

    source: str
    log_format: str
    vehicle: str
    firmware: str
    time_source: str
    start_utc_s: float
    end_utc_s: float
    bbox: tuple[float, ...] | None              # west, south, east, north (degrees)
    alt_msl_range_m: tuple[float, float] | None
    alt_rel_range_m: tuple[float, float] | None
    distance_m: float
    position_samples: int
    attitude_samples: int
    position_source: str
    fix_types: dict[int, int]
    satellites_range: tuple[float, float] | None
    hdop_range: tuple[float, float] | None
    gaps: tuple[tuple[str, float, float], ...]
    max_gap_s: float
    camera_events: int
    camera_sources: dict[str, int]
    gimbal: str | None
    messages: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """End minus start (s), NaN without samples."""
        return self.end_utc_s - self.start_utc_s

    @property
    def centre_deg(self) -> tuple[float, float] | None:
        """(lat, lon) of the bounding box centre."""
        if self.bbox is None:
            return None
        w, s, e, n = self.bbox
        lon = (w + e) / 2 if w <= e else ((w + e + 360) / 2 + 180) % 360 - 180
        return ((s + n) / 2, lon)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (None for what the log does not have)."""
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        centre = self.centre_deg
        return {
            "source": self.source, "format": self.log_format, "vehicle": self.vehicle,
            "firmware": self.firmware, "time_source": self.time_source,
            "start_utc": iso_utc(self.start_utc_s) if math.isfinite(self.start_utc_s) else None,
            "end_utc": iso_utc(self.end_utc_s) if math.isfinite(self.end_utc_s) else None,
            "duration_s": num(self.duration_s),
            "centre": None if centre is None else {"lat_deg": centre[0], "lon_deg": centre[1]},
            "bbox": None if self.bbox is None else list(self.bbox),
            "alt_msl_m": None if self.alt_msl_range_m is None else list(self.alt_msl_range_m),
            "alt_rel_m": None if self.alt_rel_range_m is None else list(self.alt_rel_range_m),
            "distance_m": self.distance_m,
            "position": {"samples": self.position_samples, "source": self.position_source},
            "attitude": {"samples": self.attitude_samples},
            "gps": {"fix_types": {str(k): v for k, v in sorted(self.fix_types.items())},
                    "satellites": None if self.satellites_range is None else list(self.satellites_range),
                    "hdop": None if self.hdop_range is None else list(self.hdop_range)},
            "gaps": [{"track": k, "start_utc": iso_utc(a), "duration_s": b - a}
                     for k, a, b in self.gaps],
            "max_gap_s": self.max_gap_s,
            "camera_events": self.camera_events,
            "camera_sources": dict(self.camera_sources),
            "gimbal": self.gimbal,
            "messages": dict(sorted(self.messages.items())),
            "stats": dict(self.stats),
        }

    def to_text(self) -> str:
        """Human-readable summary, one fact per line."""
        d = self.to_dict()
        lines = [f"log          {self.source} ({self.log_format})",
                 f"vehicle      {self.vehicle or '?'}; firmware {self.firmware or '?'}",
                 f"start        {d['start_utc'] or '?'} (time from {self.time_source})",
                 f"duration     {_fmt(self.duration_s, '.1f')} s"]
        if self.bbox is not None and self.centre_deg is not None:
            lat, lon = self.centre_deg
            lines.append(f"location     {lat:.6f}, {lon:.6f} (bbox W {self.bbox[0]:.6f} "
                         f"S {self.bbox[1]:.6f} E {self.bbox[2]:.6f} N {self.bbox[3]:.6f})")
        lines.append(f"altitude     MSL {_span(self.alt_msl_range_m)} m, "
                     f"above take-off {_span(self.alt_rel_range_m)} m")
        lines.append(f"distance     {self.distance_m:.0f} m ({self.position_samples} positions "
                     f"from {self.position_source or '-'}, {self.attitude_samples} attitudes)")
        fixes = ", ".join(f"{k}: {v}" for k, v in sorted(self.fix_types.items())) or "-"
        lines.append(f"gps          fix types {fixes}; satellites {_span(self.satellites_range, 'g')}; "
                     f"hdop {_span(self.hdop_range, '.2f')}")
        lines.append(f"gaps         {len(self.gaps)} over {self.max_gap_s:g} s"
                     + "".join(f"\n               {k} {iso_utc(a)} {b - a:.1f} s"
                               for k, a, b in self.gaps[:10]))
        srcs = ", ".join(f"{k} {v}" for k, v in self.camera_sources.items())
        lines.append(f"camera       {self.camera_events} events" + (f" ({srcs})" if srcs else ""))
        lines.append(f"gimbal       {self.gimbal or 'none in log'}")
        skipped = {k: v for k, v in self.stats.items() if v and k != "bytes_total"}
        lines.append("skipped      " + (", ".join(f"{k} {v}" for k, v in skipped.items()) or "nothing"))
        lines.append(f"messages     {sum(self.messages.values())} in {len(self.messages)} types")
        lines += [f"  {k:<28} {v}" for k, v in sorted(self.messages.items())]
        return "\n".join(lines)


def _fmt(x: float, spec: str) -> str:
    return format(x, spec) if math.isfinite(x) else "?"


def _span(r: tuple[float, float] | None, spec: str = ".1f") -> str:
    return "-" if r is None else f"{format(r[0], spec)} .. {format(r[1], spec)}"


def summarize(tel: Telemetry) -> FlightSummary:
    """The summary of a read log."""
    p = tel.position
    gimbal = None
    if tel.gimbal is not None and len(tel.gimbal):
        frames = {True: "earth-frame yaw", False: "body-frame yaw"}
        kinds = sorted({frames[bool(v)] for v in np.unique(tel.gimbal.yaw_is_earth)})
        gimbal = f"{len(tel.gimbal)} samples from {tel.gimbal.source} ({', '.join(kinds)})"
    return FlightSummary(
        source=tel.source, log_format=tel.log_format, vehicle=tel.vehicle,
        firmware=tel.firmware, time_source=tel.time_source, start_utc_s=tel.start_utc_s,
        end_utc_s=tel.end_utc_s, bbox=_bbox(p.lat_deg, p.lon_deg),
        alt_msl_range_m=_range(p.alt_msl_m), alt_rel_range_m=_range(p.alt_rel_m),
        distance_m=path_length_m(p.lat_deg, p.lon_deg), position_samples=len(p),
        attitude_samples=len(tel.attitude), position_source=p.source,
        fix_types=dict(Counter(int(v) for v in p.fix_type)),
        satellites_range=_range(p.satellites), hdop_range=_range(p.hdop),
        gaps=tuple(tel.gaps()), max_gap_s=tel.max_gap_s,
        camera_events=len(tel.camera_events),
        camera_sources=dict(Counter(e.source for e in tel.camera_events)), gimbal=gimbal,
        messages=dict(tel.messages), stats=tel.stats.as_dict())
