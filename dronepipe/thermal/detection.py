"""The detector's records: ``DetectionConfig`` (its thresholds) and ``Detection`` (one
hot object in one image, in pixel coordinates).

Units are in the names: degrees Celsius (``_c``), metres (``_m``), square metres
(``_m2``), pixels (``_px``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dronepipe.thermal.hotspot import HotspotClass

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class DetectionConfig:
    """Thresholds of the detector (temperatures degrees C, lengths metres, areas m2).

    Absolute classes: ``fire_c``/``ember_c`` are thresholds on a region's peak;
    ``accuracy_c`` is subtracted from both (uncooled radiometric cameras are good to
    about +-2 C), so a 60 C nest read at 59 C is still an ember nest. ``saturation_c``:
    a peak at or above it is fire (the camera's range limit, where known);
    ``plateau_min_c``/``plateau_min_px``: otherwise a region whose peak value is shared
    exactly by that many pixels at or above that temperature is taken as saturated.
    ``merge_gap_m``: hot fragments closer than this are one object.
    ``unresolved_px``/``ember_ref_area_m2``: a warm region whose equivalent area is
    below that many pixels is too small for its pixels to read the object's
    temperature; it is an ember nest when its heat (excess times area, C m2) is at least
    that of a nest of the reference area at the ember threshold.

    Contextual test: ``object_max_m`` is the largest warm object it looks for (the
    top-hat square), ``context_window_m`` the block size of its statistics;
    ``context_k``/``context_min_delta_c`` the test on a region's peak contrast,
    ``context_grow_k``/``context_grow_delta_c`` the looser one that outlines regions;
    ``noise_floor_c`` the smallest sigma (sensor NETD). ``ring_m``, ``ring_quantile``,
    ``ring_min_fraction``: the peak must exceed that quantile of a ring of that width
    around the region by that fraction of its contrast (an isolated object, not the
    corner of a warm surface, whose ring is partly warm). ``anomaly_max_elongation``
    rejects thin strips (edges of warm walls, pipes); ``anomaly_max_area_m2``: a larger
    warm region is a surface, not an object (fire and ember thresholds still apply);
    ``anomaly_min_c``: on radiometric frames a warm anomaly must also reach this
    temperature, so sun-warmed stones, hay bales and roofs a few degrees above the
    meadow beside them are not reported, while a hidden ember 8 C above a 35 C surface
    is.
    ``person_*``: body-temperature band of the peak, area range, minimum contrast,
    largest elongation (major/minor axis of the moment ellipse) and smallest fill of
    that ellipse (1 for a solid ellipse or rectangle, low for rings and ragged shapes).
    ``context_at_border``: whether warm regions cut by the frame edge are reported; by
    default not (half a warm surface looks like an object, vignetting is strongest
    there, and overlapping frames see it whole); fire and ember nests always are.

    Everything: ``min_area_m2``/``min_pixels`` smallest object kept; ``border_px``
    frame rows/columns ignored (dead sensor edges); ``max_regions`` per frame and test
    (the largest are kept, logged); ``patch_px`` largest side of the thumbnail patch.
    """

    fire_c: float = 150.0
    ember_c: float = 60.0
    accuracy_c: float = 2.0
    saturation_c: float | None = None
    plateau_min_c: float = 100.0
    plateau_min_px: int = 4
    context_window_m: float = 4.0
    object_max_m: float = 4.0
    context_k: float = 5.0
    context_min_delta_c: float = 4.0
    context_grow_k: float = 3.0
    context_grow_delta_c: float = 2.0
    noise_floor_c: float = 0.1
    person_min_c: float = 30.0
    person_max_c: float = 38.0
    person_min_area_m2: float = 0.2
    person_max_area_m2: float = 1.0
    person_min_contrast_c: float = 4.0
    person_max_elongation: float = 4.5
    person_min_fill: float = 0.5
    anomaly_max_elongation: float = 6.0
    anomaly_max_area_m2: float = 8.0
    anomaly_min_c: float = 40.0
    ring_m: float = 0.5
    ring_quantile: float = 0.8
    ring_min_fraction: float = 0.7
    min_area_m2: float = 0.1
    min_pixels: int = 2
    merge_gap_m: float = 0.5
    border_px: int = 1
    context_at_border: bool = False
    max_regions: int = 200
    patch_px: int = 96
    unresolved_px: float = 9.0
    ember_ref_area_m2: float = 0.25

    def __post_init__(self) -> None:
        if not self.fire_c > self.ember_c:
            raise ValueError(f"fire_c ({self.fire_c}) must be above ember_c ({self.ember_c})")
        if not self.person_min_c < self.person_max_c:
            raise ValueError("person_min_c must be below person_max_c")
        if self.context_grow_k > self.context_k or self.context_window_m <= 0:
            raise ValueError("need context_grow_k <= context_k and context_window_m > 0")
        if self.min_area_m2 < 0 or self.min_pixels < 1:
            raise ValueError("min_area_m2 must be >= 0 and min_pixels >= 1")


@dataclass(frozen=True, eq=False)
class Detection:
    """One hot object in one image.

    ``centroid_px`` = (u, v) pixel coordinates (OpenCV: centre of the top-left pixel is
    (0, 0)), sub-pixel; ``contour_px`` the convex outline (N, 2) of (u, v) through the
    outer pixel corners. ``max_c``/``mean_c`` over the object's pixels (degrees C, or
    relative values where ``radiometric`` is False); ``background_c`` the local
    background and ``contrast_c`` the peak's excess over it; ``area_m2`` the hot
    surface (mixed pixels accounted for) and ``n_pixels`` the pixels outlined.
    ``touches_border`` marks an object cut by the image edge (area and centroid are
    then partial). ``unresolved`` marks an object smaller than a few pixels, classed
    by its heat rather than its peak (``max_c`` then under-reads the object).
    ``patch_c`` a small read-only temperature patch around it.
    """

    kind: HotspotClass
    centroid_px: tuple[float, float]
    contour_px: F64 = field(repr=False)
    max_c: float
    mean_c: float
    background_c: float
    contrast_c: float
    area_m2: float
    n_pixels: int
    touches_border: bool
    radiometric: bool
    patch_c: F32 = field(repr=False)
    unresolved: bool = False
