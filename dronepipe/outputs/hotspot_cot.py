"""Hotspots as Cursor on Target (CoT 2.0) events, for ATAK/WinTAK and TAK servers.

One ``<event>`` per hotspot, with a stable ``uid`` per hotspot and run (a TAK client
replaces the marker when an update with the same uid arrives). Types come from the
incident branch of MITRE's CoT type tree (``CoTtypes.xml``: ``a-.-X-i-f`` "Incident
Fire", ``a-.-X-i-f-h`` "Incident Fire Hot Spot", ``a-.-X-i-r`` "Incident Rescue");
fire and ember nests are hostile (``h``, drawn red), warm anomalies unknown (``u``,
yellow: to be checked), persons neutral (``n``: someone to rescue). ``how`` is
``m-i`` (machine, mensurated from imagery). The point carries ``ce`` = the position
uncertainty (metres); height is unknown (``hae``/``le`` 9999999.0, the CoT convention).
``detail`` has a ``contact`` callsign and ``remarks`` with class, temperature, area,
MGRS and times. ``hotspot_cot_event`` makes one event string (the live mode sends
these over UDP); ``write_hotspots_cot`` writes all of them into one XML file under an
``<events>`` root.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_table import iso_utc
from dronepipe.thermal.hotspot import Hotspot, HotspotClass

COT_TYPES: Mapping[HotspotClass, str] = {
    HotspotClass.FIRE: "a-h-X-i-f",
    HotspotClass.EMBER: "a-h-X-i-f-h",
    HotspotClass.ANOMALY: "a-u-X-i-f-h",
    HotspotClass.PERSON: "a-n-X-i-r",
}
UNKNOWN = "9999999.0"


def _cot_time(t_utc_s: float) -> str:
    """CoT time format: ISO 8601 UTC with milliseconds and Z."""
    return datetime.fromtimestamp(t_utc_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _remarks(h: Hotspot) -> str:
    unit = "C" if h.radiometric else "(relative values, non-radiometric)"
    seen = iso_utc(h.last_seen_utc_s)
    text = (f"Hotspot {h.id}: {h.kind.label}, max {h.max_c:.0f} {unit}, "
            f"area {h.area_m2:.2f} m2, MGRS {h.mgrs}, +-{h.uncertainty_m:.1f} m, "
            f"{h.n_frames} frame(s)")
    return text + (f", last seen {seen}" if seen else "")


def hotspot_cot_element(h: Hotspot, *, now_utc_s: float | None = None, stale_s: float = 3600.0,
                        uid_prefix: str = "dronepipe",
                        types: Mapping[HotspotClass, str] = COT_TYPES) -> ET.Element:
    """The ``<event>`` element of one hotspot. ``now_utc_s`` is the event time (default:
    the clock); ``start`` is the last sighting (or now), ``stale`` = now + ``stale_s``."""
    now = time.time() if now_utc_s is None else now_utc_s
    start = h.last_seen_utc_s if h.last_seen_utc_s is not None else now
    ev = ET.Element("event", {
        "version": "2.0", "uid": f"{uid_prefix}.hotspot.{h.id}", "type": types[h.kind],
        "how": "m-i", "time": _cot_time(now), "start": _cot_time(min(start, now)),
        "stale": _cot_time(now + stale_s)})
    ET.SubElement(ev, "point", {"lat": f"{h.lat_deg:.7f}", "lon": f"{h.lon_deg:.7f}",
                                "hae": UNKNOWN, "ce": f"{h.uncertainty_m:.2f}", "le": UNKNOWN})
    detail = ET.SubElement(ev, "detail")
    ET.SubElement(detail, "contact", {"callsign": f"HS{h.id} {h.kind.label}"})
    ET.SubElement(detail, "remarks").text = _remarks(h)
    return ev


def hotspot_cot_event(h: Hotspot, *, now_utc_s: float | None = None, stale_s: float = 3600.0,
                      uid_prefix: str = "dronepipe",
                      types: Mapping[HotspotClass, str] = COT_TYPES) -> str:
    """One CoT event as a standalone XML document string (for a UDP datagram or TCP)."""
    ev = hotspot_cot_element(h, now_utc_s=now_utc_s, stale_s=stale_s, uid_prefix=uid_prefix,
                             types=types)
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + \
        ET.tostring(ev, encoding="unicode")


def write_hotspots_cot(path: str | Path, hotspots: Sequence[Hotspot], *,
                       now_utc_s: float | None = None, stale_s: float = 86400.0,
                       uid_prefix: str = "dronepipe") -> Path:
    """Write every hotspot's event into one XML file (root ``<events>``) atomically."""
    root = ET.Element("events")
    for h in hotspots:
        root.append(hotspot_cot_element(h, now_utc_s=now_utc_s, stale_s=stale_s,
                                        uid_prefix=uid_prefix))
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    return write_atomic(path, text + "\n")
