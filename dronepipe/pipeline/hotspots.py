"""The hotspot stage: detect in each thermal frame, track on the map.

``observe`` is the per-frame step the live mode calls as frames arrive;
``track_hotspots`` runs detection over a flight's placed frames and feeds the tracker
in capture order. It streams: a frame's pixels are let go as soon as its detections
(a few small records) are made, so memory does not grow with the flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from dronepipe.geodesy import UtmFrame
from dronepipe.pipeline.loader import FrameLoader
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.thermal import TemperatureImage
from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.detection import Detection, DetectionConfig
from dronepipe.thermal.hotspot import Hotspot
from dronepipe.thermal.track import HotspotTracker

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def observe(tracker: HotspotTracker, gf: GeoFrame, image: TemperatureImage,
            config: DetectionConfig, position_sigma_m: float) -> list[Hotspot]:
    """Detect hotspots in one placed thermal frame and merge them into ``tracker``;
    returns the hotspots that are new or changed by this frame."""
    return _track(tracker, gf, detect(gf, image, config), position_sigma_m)


def detect(gf: GeoFrame, image: TemperatureImage, config: DetectionConfig) -> list[Detection]:
    """The detections of one placed thermal frame (pixel coordinates; no tracking)."""
    return detect_hotspots(image.celsius, gf.gsd_m, image.radiometric, config)


def _track(tracker: HotspotTracker, gf: GeoFrame, detections: Sequence[Detection],
           position_sigma_m: float) -> list[Hotspot]:
    if not detections:
        return []
    return tracker.update(gf.frame_id, gf.t_utc_s, detections, gf.pixels_to_map, gf.gsd_m,
                          position_sigma_m)


def track_hotspots(geoframes: Sequence[GeoFrame], loader: FrameLoader, config: DetectionConfig,
                   position_sigma_m: float, progress: Progress | None = None) -> list[Hotspot]:
    """Every hotspot of a flight's thermal frames, tracked in capture order.

    Detection does not depend on the tracker, so frames whose pixels are still in the
    loader's cache (the last ones the mosaic drew) are detected first, without a decode,
    and only their detections kept until the tracker reaches them; every other frame is
    decoded once, in capture order, and detected and tracked at once. The hotspots are
    the same as detecting and tracking each frame in capture order.
    """
    tracker = HotspotTracker(UtmFrame(geoframes[0].epsg))
    ordered = sorted(geoframes, key=lambda g: g.t_utc_s)
    done = 0

    def detect_one(gf: GeoFrame) -> list[Detection]:
        nonlocal done
        found = detect(gf, loader.temperature(gf.frame_id), config)
        done += 1
        if progress is not None:
            progress("hotspots", done, len(ordered))
        return found

    ahead = {gf.frame_id: detect_one(gf) for gf in ordered if loader.is_cached(gf.frame_id)}
    for gf in ordered:
        found = ahead.pop(gf.frame_id) if gf.frame_id in ahead else detect_one(gf)
        _track(tracker, gf, found, position_sigma_m)
    hotspots = tracker.hotspots()
    log.info("hotspots: %d from %d thermal frames", len(hotspots), len(ordered))
    return hotspots
