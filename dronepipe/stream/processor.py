"""``LiveProcessor``: frames in, hotspot alerts and a growing mosaic out; the ``LiveView``.

    proc = LiveProcessor(config, poses)       # poses: a PoseSource (LinkPoses, FixedPoses)
    proc.submit(arrival)                      # from any input thread; never blocks
    ...                                       # server/CoT read proc (a LiveView)
    proc.close()                              # process what came, stop the threads

One "frames" thread takes arrivals from a bounded queue (full: the frame is dropped and
counted, ``frames_overflow``), gives each its capture time (``frametime``) and holds it
until the telemetry covers that time (at most ``pose_timeout_s``, then it is dropped and
counted, ``dropped_no_pose``). A posed frame is decoded, placed, and - every thermal
frame - searched for hotspots and merged into the tracker, each new or changed hotspot
published at once; keyframes are then offered to the mosaic worker of their kind, which
skips them (counted) when it is behind. Corrupt frames are counted and skipped.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.records import Pose
from dronepipe.frames.refs import FrameRef
from dronepipe.geodesy import UtmFrame
from dronepipe.outputs.hotspot_table import hotspot_properties
from dronepipe.pipeline.hotspots import observe
from dronepipe.pipeline.place import CameraResolver, Placement
from dronepipe.stitching.cameras import load_camera_file
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.arrivals import Arrival
from dronepipe.stream.config import LiveConfig
from dronepipe.stream.counters import Counters
from dronepipe.stream.events import EventBus
from dronepipe.stream.frame_work import decode, frame_ref, place
from dronepipe.stream.frametime import FrameTime, FrameTimer
from dronepipe.stream.keyframes import KeyframeSelector
from dronepipe.stream.mosaic_worker import MosaicJob, MosaicWorker
from dronepipe.stream.poses import PoseSource
from dronepipe.stream.view import DroneState
from dronepipe.thermal import TemperatureImage
from dronepipe.thermal.hotspot import Hotspot
from dronepipe.thermal.track import HotspotTracker

log = logging.getLogger(__name__)
_STOP = object()
_FRAME_ERRORS = (DronepipeError, OSError, ValueError)


@dataclass
class _Pending:
    """A frame waiting for its time or its pose."""

    arrival: Arrival
    ref: FrameRef
    since_s: float
    when: FrameTime | None = None


class LiveProcessor:
    """See the module docstring. Thread-safe; implements ``LiveView``."""

    def __init__(self, config: LiveConfig, poses: PoseSource, *, bus: EventBus | None = None,
                 counters: Counters | None = None) -> None:
        self.config, self.poses = config, poses
        self._bus = bus or EventBus()
        self.counters = counters or Counters()
        entries = load_camera_file(config.cameras) if config.cameras else ()
        self._entries, self._cameras = entries, CameraResolver(entries)
        self.timer = FrameTimer(poses.clock, poses.camera_event_times,
                                latency_s=config.latency_s, time_offset_s=config.time_offset_s,
                                exif_tolerance_s=config.exif_tolerance_s,
                                sync_wait_s=config.sync_wait_s)
        self.selector = KeyframeSelector(config.keyframe_overlap)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, config.frame_queue))
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._placement: Placement | None = None
        self._tracker: HotspotTracker | None = None
        self._workers: dict[str, MosaicWorker] = {}
        self._drone: DroneState | None = None
        self._footprint: tuple[tuple[float, float], ...] | None = None
        self._seen_ids: set[int] = set()
        self.placed: list[dict[str, Any]] = []
        self.time_sources: dict[str, int] = {}
        self.started_s = time.time()
        self.last_arrival_s = -math.inf
        self._thread = threading.Thread(target=self._run, name="live-frames", daemon=True)
        self._thread.start()

    # --- LiveView ----------------------------------------------------------------------
    @property
    def events(self) -> EventBus:
        return self._bus

    def mosaic(self, kind: str = "thermal") -> Mosaic | None:
        worker = self._workers.get(kind)
        return worker.mosaic if worker is not None else None

    def hotspots(self) -> list[Hotspot]:
        with self._lock:
            return self._tracker.hotspots() if self._tracker is not None else []

    def drone(self) -> DroneState | None:
        with self._lock:
            return self._drone

    def status(self) -> dict[str, object]:
        out = self.counters.snapshot()
        out["uptime_s"] = round(time.time() - self.started_s, 1)
        out["pending"] = len(self._pending)
        out["queued"] = self._queue.qsize()
        with self._lock:
            out["hotspots"] = len(self._tracker) if self._tracker is not None else 0
        out["registration"] = any(w.registering for w in self._workers.values())
        return out

    # --- input -------------------------------------------------------------------------
    def submit(self, arrival: Arrival) -> bool:
        """Queue an arrived frame (never blocks); False when the queue was full."""
        self.last_arrival_s = max(self.last_arrival_s, arrival.arrival_s)
        self.counters.add("frames_received")
        try:
            self._queue.put_nowait(arrival)
            return True
        except queue.Full:
            self.counters.add("frames_overflow")
            return False

    def on_pose(self, pose: Pose) -> None:
        """The telemetry's newest pose: the drone's state, published as a "drone" event."""
        state = DroneState(pose.t_utc_s, pose.lat_deg, pose.lon_deg, pose.alt_rel_m,
                           math.degrees(pose.yaw_rad) % 360.0, self._footprint)
        with self._lock:
            self._drone = state
        self._bus.publish("drone", {k: getattr(state, k) for k in state.__dataclass_fields__})

    # --- the frames thread -------------------------------------------------------------
    def _run(self) -> None:
        stopping, last_status = False, 0.0
        while True:
            try:
                item = self._queue.get(timeout=0.01 if self._pending else 0.1)
            except queue.Empty:
                item = None
            if item is _STOP:
                stopping = True
            elif item is not None:
                self._admit(item)
            self._service(final=stopping)
            if time.monotonic() - last_status >= 1.0:
                last_status = time.monotonic()
                self._bus.publish("status", self.status())
            if stopping and self._queue.empty() and not self._pending:
                return

    def _admit(self, arrival: Arrival) -> None:
        try:
            ref = frame_ref(arrival, self._entries)
        except _FRAME_ERRORS as exc:
            self._corrupt(arrival, exc)
            return
        if ref.t_camera_s is not None:
            self.timer.sync.add_frame(ref.t_camera_s)
        self._pending.append(_Pending(arrival, ref, time.time()))

    def _service(self, final: bool) -> None:
        """Give waiting frames their time and pose; process or drop them."""
        keep: list[_Pending] = []
        for p in self._pending:
            pose = self._pose_of(p)
            if pose is not None:
                self._process(p, pose)
            elif p.when is not None and p.when.t_utc_s <= self.poses.covered_until():
                self._drop(p, "telemetry has a gap or does not reach back to it")
            elif time.time() - p.since_s > self.config.pose_timeout_s:
                self._drop(p, f"no telemetry within {self.config.pose_timeout_s:g} s")
            else:
                keep.append(p)
        self._pending = keep
        if final and self._pending:
            self._settle()

    def _settle(self) -> None:
        """At the end: wait a little for the last telemetry, then drop what is left."""
        deadline = time.time() + min(self.config.settle_s, self.config.pose_timeout_s)
        while self._pending and time.time() < deadline:
            time.sleep(0.02)
            self._service(final=False)
        for p in self._pending:
            self._drop(p, "run ended before telemetry covered it")
        self._pending = []

    def _pose_of(self, p: _Pending) -> Pose | None:
        if p.when is None:
            p.when = self.timer.time_of(p.arrival.t_capture_utc_s, p.ref.t_camera_s,
                                        p.arrival.arrival_s, time.time() - p.since_s)
            if p.when is None:
                return None
        if p.when.t_utc_s > self.poses.covered_until():
            return None
        try:
            return self.poses.pose_at(p.when.t_utc_s)
        except DronepipeError:
            return None

    def _drop(self, p: _Pending, why: str) -> None:
        self.counters.add("dropped_no_pose")
        when = f"{p.when.t_utc_s:.2f} ({p.when.source})" if p.when else "unknown"
        log.info("frame %s dropped: %s (time %s, telemetry to %.2f)", p.arrival.name, why, when,
                 self.poses.covered_until())

    def _corrupt(self, arrival: Arrival, exc: Exception) -> None:
        self.counters.add("frames_corrupt")
        log.warning("frame %s skipped: %s", arrival.name, exc)

    # --- one posed frame ---------------------------------------------------------------
    def _process(self, p: _Pending, pose: Pose) -> None:
        assert p.when is not None
        try:
            data = decode(p.arrival, p.ref, self.config.decode, self.config.span_c)
        except _FRAME_ERRORS as exc:
            self._corrupt(p.arrival, exc)
            return
        radiometric = data.radiometric if isinstance(data, TemperatureImage) else False
        try:
            gf = place(p.ref, pose, self._cameras, self._placement_for(pose), radiometric)
        except _FRAME_ERRORS as exc:
            self.counters.add("frames_unplaced")
            log.warning("frame %s not placed: %s", p.arrival.name, exc)
            return
        self.time_sources[p.when.source] = self.time_sources.get(p.when.source, 0) + 1
        if isinstance(data, TemperatureImage):
            self._detect(p.arrival, gf, data)
            pixels = np.asarray(data.celsius, dtype=np.float32)
        else:
            pixels = data
        self.counters.add(f"frames_{gf.kind}")
        self.counters.add("frames_processed")
        self._offer(gf, pixels)
        self._record(gf, pose, p.when)

    def _placement_for(self, pose: Pose) -> Placement:
        if self._placement is None:
            self._placement = Placement(UtmFrame.for_point(pose.lon_deg, pose.lat_deg))
        return self._placement

    def _detect(self, arrival: Arrival, gf: GeoFrame, image: TemperatureImage) -> None:
        with self._lock:
            if self._tracker is None:
                self._tracker = HotspotTracker(UtmFrame(gf.epsg))
            changed = observe(self._tracker, gf, image, self.config.detection,
                              self.config.position_sigma_m)
        self.counters.add("frames_detected")
        for h in changed:
            status = "updated" if h.id in self._seen_ids else "new"
            self._seen_ids.add(h.id)
            ev = self._bus.publish("hotspot", {**hotspot_properties(h), "status": status,
                                               "frame_id": gf.frame_id})
            self.counters.add(f"hotspot_events_{status}")
            if status == "new":
                self.counters.latency(ev.t_wall_s - arrival.arrival_s)

    def _offer(self, gf: GeoFrame, pixels: np.ndarray) -> None:
        self._footprint = _lonlat_ring(gf, self._placement)
        if not self.selector.is_keyframe(gf.kind, gf.footprint_m):
            return
        self.counters.add("keyframes")
        worker = self._worker(gf.kind)
        if worker.offer(MosaicJob(gf, pixels)):
            self.selector.accept(gf.kind, gf.footprint_m)

    def _worker(self, kind: str) -> MosaicWorker:
        if kind not in self._workers:
            c = self.config
            self._workers[kind] = MosaicWorker(kind, self.counters, self._bus, area_m=c.area_m,
                                               gsd_m=c.gsd_m if kind == "thermal" else None,
                                               queue_size=c.mosaic_queue, register=c.register,
                                               cache_tiles=c.cache_tiles)
        return self._workers[kind]

    def _record(self, gf: GeoFrame, pose: Pose, when: FrameTime) -> None:
        if len(self.placed) < 200_000:
            self.placed.append({"id": gf.frame_id, "t_utc_s": gf.t_utc_s, "time_source": when.source,
                                "gsd_m": round(gf.gsd_m, 4), "lat_deg": pose.lat_deg,
                                "lon_deg": pose.lon_deg, "alt_rel_m": pose.alt_rel_m,
                                "pose_source": pose.source})

    # --- the end -----------------------------------------------------------------------
    def close(self, timeout_s: float = 300.0) -> None:
        """Process every frame already submitted, then stop the frames thread and the
        mosaic workers (each feeds what it has queued)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
        for w in self._workers.values():
            w.close(timeout_s)

    @property
    def workers(self) -> dict[str, MosaicWorker]:
        return dict(self._workers)


def _lonlat_ring(gf: GeoFrame, placement: Placement | None) -> tuple[tuple[float, float], ...] | None:
    if placement is None:
        return None
    fp = gf.footprint_m
    lon, lat = placement.frame.to_lonlat(fp[:, 0], fp[:, 1])
    return tuple((round(float(a), 7), round(float(b), 7))
                 for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True))

