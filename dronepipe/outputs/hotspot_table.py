"""The properties of a hotspot as every product shows them (GeoJSON, CSV, KML, live feed).

One definition, so that the batch files and the live server's ``/hotspots.geojson``
carry the same names and units: temperatures in degrees C (``_c``; relative values
where ``radiometric`` is false), areas in square metres, times as ISO 8601 UTC,
WGS84 longitude/latitude in degrees, grid coordinates in metres of EPSG ``epsg``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dronepipe.thermal.hotspot import Hotspot

COLUMNS: tuple[str, ...] = (
    "id", "class", "label", "max_c", "mean_c", "contrast_c", "area_m2", "first_seen_utc",
    "last_seen_utc", "n_frames", "lon", "lat", "mgrs", "uncertainty_m", "easting_m",
    "northing_m", "epsg", "radiometric",
)
RELATIVE_NOTE = "non-radiometric input: relative values only, not temperatures"


def iso_utc(t_utc_s: float | None) -> str | None:
    """UTC seconds since the epoch as ISO 8601 with a Z (``2024-05-01T10:00:00Z``)."""
    if t_utc_s is None:
        return None
    text = datetime.fromtimestamp(t_utc_s, UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def hotspot_properties(h: Hotspot) -> dict[str, Any]:
    """The hotspot as a flat dict keyed by ``COLUMNS`` (rounded to meaningful digits)."""
    return {
        "id": h.id,
        "class": h.kind.value,
        "label": h.kind.label,
        "max_c": round(h.max_c, 1),
        "mean_c": round(h.mean_c, 1),
        "contrast_c": round(h.contrast_c, 1),
        "area_m2": round(h.area_m2, 3),
        "first_seen_utc": iso_utc(h.first_seen_utc_s),
        "last_seen_utc": iso_utc(h.last_seen_utc_s),
        "n_frames": h.n_frames,
        "lon": round(h.lon_deg, 7),
        "lat": round(h.lat_deg, 7),
        "mgrs": h.mgrs,
        "uncertainty_m": round(h.uncertainty_m, 2),
        "easting_m": round(h.easting_m, 2),
        "northing_m": round(h.northing_m, 2),
        "epsg": h.epsg,
        "radiometric": h.radiometric,
    }
