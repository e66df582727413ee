"""The drone's own position as a Cursor on Target (CoT 2.0) event, for ATAK/WinTAK.

Type ``a-f-A-M-H-Q`` (MITRE CoT type tree: atom, friendly, air, military, rotary wing,
UAV/drone; TAK clients draw a friendly drone), ``how`` ``m-g`` (machine, GPS). The
height reported by the autopilot relative to take-off is not a height above the
ellipsoid, so ``hae`` is the CoT "unknown" value unless one is given; the height above
take-off goes into ``remarks``. ``track`` carries the heading (course, degrees from true
north) and speed (m/s). The event goes stale after ``stale_s`` seconds (default 15 s:
a drone that stops reporting should not look current on the map).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from dronepipe.outputs.hotspot_cot import UNKNOWN

UAV_TYPE = "a-f-A-M-H-Q"


def _cot_time(t_utc_s: float) -> str:
    """CoT time format: ISO 8601 UTC with milliseconds and Z."""
    return datetime.fromtimestamp(t_utc_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class UavPosition:
    """What CoT says about the drone: time (UTC s), WGS84 position (degrees), height
    above take-off (m), height above the ellipsoid (m, None where unknown), heading
    (degrees clockwise from true north), ground speed (m/s, None where unknown) and the
    horizontal position error (m, one sigma)."""

    t_utc_s: float
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    heading_deg: float
    hae_m: float | None = None
    speed_mps: float | None = None
    ce_m: float = 5.0


def uav_cot_element(p: UavPosition, *, callsign: str = "dronepipe UAV",
                    uid: str = "dronepipe.uav", now_utc_s: float | None = None,
                    stale_s: float = 15.0, cot_type: str = UAV_TYPE) -> ET.Element:
    """The ``<event>`` element of the drone's position."""
    now = time.time() if now_utc_s is None else now_utc_s
    ev = ET.Element("event", {
        "version": "2.0", "uid": uid, "type": cot_type, "how": "m-g",
        "time": _cot_time(now), "start": _cot_time(min(p.t_utc_s, now)),
        "stale": _cot_time(now + stale_s)})
    hae = UNKNOWN if p.hae_m is None else f"{p.hae_m:.1f}"
    ET.SubElement(ev, "point", {"lat": f"{p.lat_deg:.7f}", "lon": f"{p.lon_deg:.7f}",
                                "hae": hae, "ce": f"{p.ce_m:.1f}", "le": UNKNOWN})
    detail = ET.SubElement(ev, "detail")
    ET.SubElement(detail, "contact", {"callsign": callsign})
    track = {"course": f"{p.heading_deg % 360.0:.1f}"}
    if p.speed_mps is not None:
        track["speed"] = f"{p.speed_mps:.1f}"
    ET.SubElement(detail, "track", track)
    ET.SubElement(detail, "remarks").text = (f"{callsign}: {p.alt_rel_m:.0f} m above take-off, "
                                             f"heading {p.heading_deg % 360.0:.0f} deg")
    return ev


def uav_cot_event(p: UavPosition, *, callsign: str = "dronepipe UAV",
                  uid: str = "dronepipe.uav", now_utc_s: float | None = None,
                  stale_s: float = 15.0, cot_type: str = UAV_TYPE) -> str:
    """One CoT event as a standalone XML document string (for a UDP datagram or TCP)."""
    ev = uav_cot_element(p, callsign=callsign, uid=uid, now_utc_s=now_utc_s,
                         stale_s=stale_s, cot_type=cot_type)
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + \
        ET.tostring(ev, encoding="unicode")
