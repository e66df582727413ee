"""Hotspots as GeoJSON (RFC 7946): WGS84 longitude/latitude, one Point per hotspot.

``hotspots.geojson`` holds a Point at each hotspot's position with every property of
``hotspot_table`` (including ``mgrs``); ``hotspot_footprints.geojson`` holds the
footprint polygons with the same ``id`` and ``class`` (counter-clockwise exterior
rings, closed, as RFC 7946 asks). A foreign member ``dronepipe`` states the software
version and, for non-radiometric input, that the values are relative only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dronepipe import __version__
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_table import RELATIVE_NOTE, hotspot_properties
from dronepipe.thermal.hotspot import Hotspot


def _collection(features: list[dict[str, Any]], hotspots: Sequence[Hotspot]) -> dict[str, Any]:
    meta: dict[str, Any] = {"software": f"dronepipe {__version__}",
                            "radiometric": all(h.radiometric for h in hotspots)}
    if not meta["radiometric"]:
        meta["note"] = RELATIVE_NOTE
    return {"type": "FeatureCollection", "dronepipe": meta, "features": features}


def hotspot_feature(h: Hotspot) -> dict[str, Any]:
    """One hotspot as a GeoJSON Point feature (the live server streams these too)."""
    return {"type": "Feature", "id": h.id,
            "geometry": {"type": "Point", "coordinates": [round(h.lon_deg, 7),
                                                          round(h.lat_deg, 7)]},
            "properties": hotspot_properties(h)}


def hotspots_geojson(hotspots: Sequence[Hotspot]) -> dict[str, Any]:
    """The FeatureCollection of hotspot points."""
    return _collection([hotspot_feature(h) for h in hotspots], hotspots)


def footprints_geojson(hotspots: Sequence[Hotspot]) -> dict[str, Any]:
    """The FeatureCollection of footprint polygons (lon/lat, closed CCW rings)."""
    feats = []
    for h in hotspots:
        ring = [[round(float(lon), 7), round(float(lat), 7)] for lon, lat in h.footprint_lonlat()]
        if len(ring) < 3:
            continue
        ring.append(ring[0])
        feats.append({"type": "Feature", "id": h.id,
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"id": h.id, "class": h.kind.value,
                                     "area_m2": round(h.area_m2, 3), "mgrs": h.mgrs}})
    return _collection(feats, hotspots)


def write_hotspots_geojson(path: str | Path, hotspots: Sequence[Hotspot]) -> Path:
    """Write the hotspot points to ``path`` (UTF-8 JSON) atomically."""
    return write_atomic(path, json.dumps(hotspots_geojson(hotspots), ensure_ascii=False,
                                         indent=1))


def write_footprints_geojson(path: str | Path, hotspots: Sequence[Hotspot]) -> Path:
    """Write the footprint polygons to ``path`` (UTF-8 JSON) atomically."""
    return write_atomic(path, json.dumps(footprints_geojson(hotspots), ensure_ascii=False,
                                         indent=1))
