"""The hotspot records: ``HotspotClass`` and ``Hotspot`` (one object on the map).

A ``Hotspot`` is a frozen snapshot of what the tracker knows about one hot object
after merging its detections across frames: where it is (UTM grid, WGS84, MGRS), how
hot (degrees C), how big (square metres), when it was seen (UTC seconds since the Unix
epoch) and how sure the position is (metres). Where the frames were not radiometric
the temperatures are relative values only (``radiometric`` False) and every product
made from them says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from dronepipe.geodesy import UtmFrame

F64 = NDArray[np.float64]

_PRECEDENCE = {"fire": 3, "ember": 2, "anomaly": 1, "person": 0}
_LABELS = {"fire": "fire", "ember": "ember nest", "anomaly": "warm anomaly", "person": "person"}
_LABELS_DE = {"fire": "Brand", "ember": "Glutnest", "anomaly": "Wärmeanomalie",
              "person": "Person"}


class HotspotClass(StrEnum):
    """What a hot blob is taken to be. The value is the word used in every product."""

    FIRE = "fire"
    EMBER = "ember"
    ANOMALY = "anomaly"
    PERSON = "person"

    @property
    def precedence(self) -> int:
        """Rank for merging: fire 3 > ember 2 > anomaly 1 > person 0."""
        return _PRECEDENCE[self.value]

    @property
    def label(self) -> str:
        """Human-readable English name ("ember nest")."""
        return _LABELS[self.value]

    @property
    def label_de(self) -> str:
        """The German word incident command uses ("Glutnest")."""
        return _LABELS_DE[self.value]

    @property
    def is_heat(self) -> bool:
        """True for fire and ember nests (absolute temperature classes)."""
        return self in (HotspotClass.FIRE, HotspotClass.EMBER)


@dataclass(frozen=True, eq=False)
class Hotspot:
    """One hot object on the map, merged from all the detections of it.

    ``id`` is stable and numbered 1..n in order of first sighting. ``max_c`` is the
    highest temperature seen in any frame, ``mean_c`` the mean over its pixels
    (averaged over frames), ``contrast_c`` the largest excess over the local
    background. ``area_m2`` is the area of the hot surface (median over the frames
    that saw it whole). ``footprint_m`` is the outline (N, 2) of easting, northing in
    the grid ``epsg`` (open ring, counter-clockwise). ``uncertainty_m`` is a
    one-sigma position error per axis (metres): the larger of the spread of the
    observations and the stated pose errors, since pose errors of one flight are
    correlated and do not average out. ``first_seen_utc_s``/``last_seen_utc_s`` are
    ``None`` where the source had no time (an orthomosaic without a date).
    ``thumbnail_c`` is a small temperature patch (degrees C) around the object from
    its hottest sighting, for pictures in KMZ and reports.
    """

    id: int
    kind: HotspotClass
    max_c: float
    mean_c: float
    contrast_c: float
    area_m2: float
    first_seen_utc_s: float | None
    last_seen_utc_s: float | None
    n_frames: int
    easting_m: float
    northing_m: float
    lon_deg: float
    lat_deg: float
    mgrs: str
    uncertainty_m: float
    epsg: int
    footprint_m: F64 = field(repr=False)
    radiometric: bool = True
    thumbnail_c: NDArray[np.float32] | None = field(default=None, repr=False)

    def footprint_lonlat(self) -> F64:
        """The footprint (N, 2) as WGS84 longitude, latitude (degrees)."""
        fp = np.asarray(self.footprint_m, dtype=np.float64).reshape(-1, 2)
        lon, lat = UtmFrame(self.epsg).to_lonlat(fp[:, 0], fp[:, 1])
        return np.stack([lon, lat], axis=-1)
