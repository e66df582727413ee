"""Hotspots as KMZ (zipped KML 2.2) for Google Earth and ATAK.

The archive holds ``doc.kml`` (first entry: Google Earth opens the first KML it
finds), a pin icon per class (``icons/<class>.png``) and a thumbnail of each
hotspot's temperature patch (``thumbs/hotspot_<id>.png``); all references are
relative paths inside the archive, so it works offline. Two folders: the hotspot
points (styled by class, with number, class, maximum temperature in the name, MGRS
and the other properties in the description and ``ExtendedData``) and the footprint
polygons.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from dronepipe import __version__
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_table import RELATIVE_NOTE, hotspot_properties
from dronepipe.outputs.palette import CLASS_RGB, marker_icon_png, thumbnail_png
from dronepipe.thermal.hotspot import Hotspot, HotspotClass

KML_NS = "http://www.opengis.net/kml/2.2"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _kml_colour(rgb: tuple[int, int, int], alpha: int = 255) -> str:
    """KML colours are aabbggrr hex."""
    return f"{alpha:02x}{rgb[2]:02x}{rgb[1]:02x}{rgb[0]:02x}"


def _styles(doc: ET.Element) -> None:
    for kind in HotspotClass:
        style = _sub(doc, "Style", id=kind.value)
        icon_style = _sub(style, "IconStyle")
        _sub(icon_style, "scale", "1.1")
        _sub(_sub(icon_style, "Icon"), "href", f"icons/{kind.value}.png")
        _sub(_sub(style, "LabelStyle"), "scale", "0.9")
        line = _sub(style, "LineStyle")
        _sub(line, "color", _kml_colour(CLASS_RGB[kind.value]))
        _sub(line, "width", "2")
        _sub(_sub(style, "PolyStyle"), "color", _kml_colour(CLASS_RGB[kind.value], 90))


def _description(h: Hotspot) -> str:
    """HTML of the pin's balloon (escaped by ElementTree; KML readers unescape it)."""
    p = hotspot_properties(h)
    unit = "C" if h.radiometric else "(relative)"
    rows = [("MGRS", p["mgrs"]), ("max", f"{p['max_c']} {unit}"),
            ("area", f"{p['area_m2']} m2"), ("lat, lon", f"{p['lat']}, {p['lon']}"),
            ("uncertainty", f"{p['uncertainty_m']} m"), ("frames", str(p["n_frames"])),
            ("first seen", p["first_seen_utc"] or "-"), ("last seen", p["last_seen_utc"] or "-")]
    cells = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    note = "" if h.radiometric else f"<p><b>{RELATIVE_NOTE}</b></p>"
    img = f'<img src="thumbs/hotspot_{h.id:03d}.png" width="128"/>' if h.thumbnail_c is not None else ""
    return f"{img}<table>{cells}</table>{note}"


def _placemark(folder: ET.Element, h: Hotspot) -> None:
    pm = _sub(folder, "Placemark", id=f"hotspot-{h.id}")
    unit = " C" if h.radiometric else ""
    _sub(pm, "name", f"{h.id} {h.kind.label} {h.max_c:.0f}{unit}")
    _sub(pm, "description", _description(h))
    _sub(pm, "styleUrl", f"#{h.kind.value}")
    ext = _sub(pm, "ExtendedData")
    for key, value in hotspot_properties(h).items():
        _sub(_sub(ext, "Data", name=key), "value", "" if value is None else str(value))
    _sub(_sub(pm, "Point"), "coordinates", f"{h.lon_deg:.7f},{h.lat_deg:.7f},0")


def _footprint(folder: ET.Element, h: Hotspot) -> None:
    ring = h.footprint_lonlat()
    if len(ring) < 3:
        return
    pm = _sub(folder, "Placemark", id=f"footprint-{h.id}")
    _sub(pm, "name", f"{h.id} {h.kind.label}")
    _sub(pm, "styleUrl", f"#{h.kind.value}")
    coords = " ".join(f"{lon:.7f},{lat:.7f},0" for lon, lat in [*ring, ring[0]])
    poly = _sub(pm, "Polygon")
    _sub(_sub(_sub(poly, "outerBoundaryIs"), "LinearRing"), "coordinates", coords)


def hotspots_kml(hotspots: Sequence[Hotspot], name: str = "dronepipe hotspots") -> str:
    """The KML document text (references icons and thumbnails inside the KMZ)."""
    kml = ET.Element("kml", xmlns=KML_NS)
    doc = _sub(kml, "Document")
    _sub(doc, "name", name)
    note = "" if all(h.radiometric for h in hotspots) else f" {RELATIVE_NOTE}."
    _sub(doc, "description", f"{len(hotspots)} hotspots, dronepipe {__version__}.{note}")
    _styles(doc)
    points, shapes = _sub(doc, "Folder"), _sub(doc, "Folder")
    _sub(points, "name", "Hotspots")
    _sub(shapes, "name", "Footprints")
    for h in hotspots:
        _placemark(points, h)
        _footprint(shapes, h)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(kml, encoding="unicode")


def hotspots_kmz(hotspots: Sequence[Hotspot], name: str = "dronepipe hotspots") -> bytes:
    """The KMZ archive bytes: doc.kml, icons, thumbnails."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", hotspots_kml(hotspots, name))
        for kind in HotspotClass:
            z.writestr(f"icons/{kind.value}.png", marker_icon_png(CLASS_RGB[kind.value]))
        for h in hotspots:
            if h.thumbnail_c is not None and h.thumbnail_c.size:
                z.writestr(f"thumbs/hotspot_{h.id:03d}.png", thumbnail_png(h.thumbnail_c))
    return buf.getvalue()


def write_hotspots_kmz(path: str | Path, hotspots: Sequence[Hotspot],
                       name: str = "dronepipe hotspots") -> Path:
    """Write the KMZ to ``path`` atomically."""
    return write_atomic(path, hotspots_kmz(hotspots, name))
