"""The hotspot stage: detect in each thermal frame, track on the map.

``observe`` is the per-frame step the live mode calls as frames arrive;
``track_hotspots`` runs it over a flight's placed frames in capture order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from dronepipe.geodesy import UtmFrame
from dronepipe.pipeline.loader import FrameLoader
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.thermal import TemperatureImage
from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.detection import DetectionConfig
from dronepipe.thermal.hotspot import Hotspot
from dronepipe.thermal.track import HotspotTracker

log = logging.getLogger(__name__)


def observe(tracker: HotspotTracker, gf: GeoFrame, image: TemperatureImage,
            config: DetectionConfig, position_sigma_m: float) -> list[Hotspot]:
    """Detect hotspots in one placed thermal frame and merge them into ``tracker``;
    returns the hotspots that are new or changed by this frame."""
    detections = detect_hotspots(image.celsius, gf.gsd_m, image.radiometric, config)
    if not detections:
        return []
    return tracker.update(gf.frame_id, gf.t_utc_s, detections, gf.pixels_to_map, gf.gsd_m,
                          position_sigma_m)


def track_hotspots(geoframes: Sequence[GeoFrame], loader: FrameLoader, config: DetectionConfig,
                   position_sigma_m: float,
                   progress: Callable[[str, int, int], None] | None = None) -> list[Hotspot]:
    """Every hotspot of a flight's thermal frames (fed in capture order)."""
    tracker = HotspotTracker(UtmFrame(geoframes[0].epsg))
    ordered = sorted(geoframes, key=lambda g: g.t_utc_s)
    for k, gf in enumerate(ordered):
        observe(tracker, gf, loader.temperature(gf.frame_id), config, position_sigma_m)
        if progress is not None:
            progress("hotspots", k + 1, len(ordered))
    found = tracker.hotspots()
    log.info("hotspots: %d from %d thermal frames", len(found), len(ordered))
    return found
