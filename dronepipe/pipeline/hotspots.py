"""The hotspot stage: detect in each thermal frame, track on the map.

``observe`` is the per-frame step the live mode calls as frames arrive;
``track_hotspots`` feeds a flight's detections to the tracker in capture order.

Detection reads only a frame's pixels and its GSD (which the adjustment does not
change), never its place on the map, so it can run wherever a stage has the pixels
decoded anyway: ``EarlyDetections.tap`` wraps the loader that registration and the
mosaic use, and keeps each thermal frame's detections (a few small records) as the
frame is loaded. ``track_hotspots`` then decodes only the frames no stage detected
(those still in the frame cache first), one at a time. Either way the detections are
the ones of each frame's pixels, so the hotspots do not depend on where they were made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dronepipe.errors import DronepipeError
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
EARLY_MAX_MB = 16


def observe(tracker: HotspotTracker, gf: GeoFrame, image: TemperatureImage,
            config: DetectionConfig, position_sigma_m: float) -> list[Hotspot]:
    """Detect hotspots in one placed thermal frame and merge them into ``tracker``;
    returns the hotspots that are new or changed by this frame."""
    return _track(tracker, gf, detect(gf, image, config), position_sigma_m)


def detect(gf: GeoFrame, image: TemperatureImage, config: DetectionConfig) -> list[Detection]:
    """The detections of one thermal frame (pixel coordinates; uses only ``gf.gsd_m``)."""
    return detect_hotspots(image.celsius, gf.gsd_m, image.radiometric, config)


def _track(tracker: HotspotTracker, gf: GeoFrame, detections: Sequence[Detection],
           position_sigma_m: float) -> list[Hotspot]:
    if not detections:
        return []
    return tracker.update(gf.frame_id, gf.t_utc_s, detections, gf.pixels_to_map, gf.gsd_m,
                          position_sigma_m)


def _nbytes(detections: Sequence[Detection]) -> int:
    return sum(d.patch_c.nbytes + d.contour_px.nbytes + 512 for d in detections) + 64


class EarlyDetections:
    """Detections of thermal frames made while another stage had their pixels; thread-safe.

    ``geoframes``: the thermal frames to detect (by frame id); at most ``max_bytes`` of
    detections are held (frames beyond are left to the hotspot stage), so memory does
    not grow with the flight whatever the scene. A frame whose detection fails is left
    to the hotspot stage too, which then raises as it would have.
    """

    def __init__(self, geoframes: Sequence[GeoFrame], config: DetectionConfig,
                 max_bytes: int = EARLY_MAX_MB * 2**20) -> None:
        self.config = config
        self.max_bytes = int(max_bytes)
        self._todo = {gf.frame_id: gf for gf in geoframes}
        self._found: dict[str, list[Detection]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def tap(self, loader: FrameLoader) -> DetectingLoader:
        """``loader`` that also detects each thermal frame it loads (see the module)."""
        return DetectingLoader(loader, self)

    def wants(self, fid: str) -> bool:
        with self._lock:
            return fid in self._todo and fid not in self._found and self._bytes < self.max_bytes

    def offer(self, fid: str, image: TemperatureImage) -> None:
        """Detect ``fid`` in ``image`` (its decoded pixels) if it is still wanted."""
        if not self.wants(fid):
            return
        try:
            found = detect(self._todo[fid], image, self.config)
        except (ValueError, DronepipeError) as exc:
            log.debug("early detection of %s failed (%s); left to the hotspot stage", fid, exc)
            return
        with self._lock:
            if fid not in self._found:
                self._found[fid] = found
                self._bytes += _nbytes(found)

    def pop(self, fid: str) -> list[Detection] | None:
        """The detections of ``fid`` if made (and forgets them), else None."""
        with self._lock:
            found = self._found.pop(fid, None)
            if found is not None:
                self._bytes -= _nbytes(found)
            return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._found)


@dataclass(frozen=True)
class DetectingLoader:
    """``loader(frame_id)`` as ``FrameLoader`` gives it, detecting thermal frames on the way
    (``EarlyDetections``). Pickled to a worker process it becomes the plain loader: the
    detections would stay in that process, so the hotspot stage makes them instead."""

    loader: FrameLoader
    early: EarlyDetections

    def __call__(self, fid: str) -> np.ndarray:
        if not self.early.wants(fid):
            return self.loader(fid)
        image = self.loader.temperature(fid)  # what the loader gives a thermal frame
        self.early.offer(fid, image)
        return np.asarray(image.celsius, dtype=np.float32)

    def __reduce__(self) -> tuple[Callable[[FrameLoader], FrameLoader], tuple[FrameLoader]]:
        return _same, (self.loader,)


def _same(loader: FrameLoader) -> FrameLoader:
    return loader


def track_hotspots(geoframes: Sequence[GeoFrame], loader: FrameLoader, config: DetectionConfig,
                   position_sigma_m: float, progress: Progress | None = None,
                   early: EarlyDetections | None = None) -> list[Hotspot]:
    """Every hotspot of a flight's thermal frames, tracked in capture order.

    A frame's detections come from ``early`` where a stage made them; otherwise frames
    still in the loader's cache are detected first (no decode) and the rest decoded one
    at a time in capture order. The hotspots equal detecting and tracking each frame in
    capture order.
    """
    tracker = HotspotTracker(UtmFrame(geoframes[0].epsg))
    ordered = sorted(geoframes, key=lambda g: g.t_utc_s)
    ahead: dict[str, list[Detection]] = {}
    if early is not None:
        ahead = {gf.frame_id: d for gf in ordered if (d := early.pop(gf.frame_id)) is not None}
    made_early = len(ahead)
    for gf in ordered:
        if gf.frame_id not in ahead and loader.is_cached(gf.frame_id):
            ahead[gf.frame_id] = detect(gf, loader.temperature(gf.frame_id), config)
    for k, gf in enumerate(ordered):
        found = ahead.pop(gf.frame_id, None)
        if found is None:
            found = detect(gf, loader.temperature(gf.frame_id), config)
        _track(tracker, gf, found, position_sigma_m)
        if progress is not None:
            progress("hotspots", k + 1, len(ordered))
    hotspots = tracker.hotspots()
    log.info("hotspots: %d from %d thermal frames (%d detected as other stages loaded them)",
             len(hotspots), len(ordered), made_early)
    return hotspots
