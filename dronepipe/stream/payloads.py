"""The JSON the command centre is sent: hotspots, the drone, status, legend.

``hotspot_payload`` is the GeoJSON Feature of the batch ``hotspots.geojson``
(``dronepipe.outputs.hotspot_geojson.hotspot_feature``: the same properties and units),
and ``drone_payload`` is a ``DroneState`` as plain JSON. The live processing publishes
these as the ``data`` of "hotspot" and "drone" events, so that the ``/events`` stream,
``/hotspots.geojson`` and ``/drone.json`` say the same thing in the same words; the page
also accepts any other event data and then re-reads the JSON routes.

``json_bytes`` encodes for HTTP: numpy scalars and arrays become numbers and lists,
non-finite floats become ``null`` (JSON has no NaN and browsers refuse it).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dronepipe.geodesy import UtmFrame
from dronepipe.outputs.hotspot_geojson import hotspot_feature
from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.view import DroneState
from dronepipe.thermal.hotspot import Hotspot


def hotspot_payload(h: Hotspot) -> dict[str, Any]:
    """A hotspot event's data: its GeoJSON Point Feature (id, geometry, properties)."""
    return hotspot_feature(h)


def drone_payload(d: DroneState) -> dict[str, Any]:
    """A drone event's data: the ``DroneState`` fields (footprint as [[lon, lat], ...])."""
    out = dataclasses.asdict(d)
    if d.footprint_lonlat is not None:
        out["footprint_lonlat"] = [[float(lon), float(lat)] for lon, lat in d.footprint_lonlat]
    return out


def mosaic_payload(m: Mosaic) -> dict[str, Any]:
    """What the page needs of a mosaic: version, frames, radiometric, GSD (m), EPSG and
    its extent as WGS84 (west, south, east, north), degrees."""
    w, s, e, n = m.grid.bounds_m
    lon, lat = UtmFrame(m.grid.epsg).to_lonlat([w, e, e, w], [s, s, n, n])
    return {"kind": m.kind, "version": m.version, "n_frames": m.n_frames,
            "radiometric": m.radiometric, "gsd_m": m.grid.gsd_m,
            "epsg": m.grid.epsg,
            "bounds_lonlat": [float(lon.min()), float(lat.min()), float(lon.max()),
                              float(lat.max())]}


def _plain(obj: Any) -> Any:
    """``obj`` with numpy values, tuples, dataclasses and non-finite floats made JSON-safe."""
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def json_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON of ``obj`` (see the module docstring for the conversions)."""
    return json.dumps(_plain(obj), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
