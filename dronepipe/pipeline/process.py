"""``process``: the after-flight job, composed of the stage functions.

find inputs -> read telemetry -> discover frames -> camera models -> time sync (a pose
or a reason per frame) -> videos sampled by ground coverage into posed frames (timed by
the stills' clock offset where there are stills; ``video_frames``) -> place on the map
(flat ground or DEM) -> register and adjust -> orthomosaics (dask, tiled) -> hotspots (detect per frame, track on the map) ->
products (COGs, hotspot files, situation report, process.json).

Memory does not grow with the flight: the stages share one frame cache of fixed size
(``frame_cache_mb``; frames it drops wait on disk in the output folder until the job
ends, ``spill``, so that each is decoded once), the mosaic holds ``cache_tiles``
tiles, hotspots are detected as registration loads each frame
(``hotspots.EarlyDetections``) and only their small records kept, and the allocator keeps few arenas and is trimmed between stages
(``arenas``). ``bench/memory.py`` measures it.

The live mode composes the same stage functions frame by frame; nothing here is
copied there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs import read_telemetry
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.timesync import pose_frames
from dronepipe.frames.discover import Discovery, discover_frames
from dronepipe.frames.refs import FrameRef, Posed, Rejected
from dronepipe.pipeline.arenas import limit_arenas, trim
from dronepipe.pipeline.cvthreads import opencv_threads
from dronepipe.pipeline.config import ProcessConfig
from dronepipe.pipeline.framecache import FrameCache
from dronepipe.pipeline.hotspots import EarlyDetections, track_hotspots
from dronepipe.pipeline.inputs import FlightInputs, find_inputs
from dronepipe.pipeline.loader import FrameLoader, frame_id
from dronepipe.pipeline.place import (
    CameraResolver,
    Placement,
    place_frames,
    utm_frame_of,
)
from dronepipe.pipeline.products import ProcessResult, write_products
from dronepipe.pipeline.spill import spill_for
from dronepipe.pipeline.video_cache import CACHE_DIR, extract_frames, remove_cache
from dronepipe.pipeline.video_clock import TelemetrySource, still_offsets
from dronepipe.pipeline.video_frames import (
    VideoContext,
    VideoFrames,
    describe_videos,
    video_frames,
)
from dronepipe.stitching.cameras import load_camera_file
from dronepipe.stitching.dem import load_dem
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.grid import grid_for, union_bounds
from dronepipe.stitching.mosaic import Mosaic, MosaicProduct
from dronepipe.stitching.priors import BlockBias, PoseUncertainty, uncertainty_for_pose
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust
from dronepipe.stitching.twins import register_thermal

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass
class _Run:
    """What the stages found so far (a working record of one run, not a product)."""

    config: ProcessConfig
    progress: Progress
    telemetry: Telemetry | None = None
    frames: tuple[FrameRef, ...] = ()
    unreadable: tuple[tuple[Path, str], ...] = ()
    posed: list[Posed] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    sync: dict[str, Any] = field(default_factory=dict)
    cameras: CameraResolver = field(default_factory=CameraResolver)
    placement: Placement | None = None
    geoframes: dict[str, list[GeoFrame]] = field(default_factory=dict)
    registration: dict[str, Any] = field(default_factory=dict)
    mosaics: dict[str, MosaicProduct] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    videos: VideoFrames | None = None
    set_aside: dict[str, int] = field(default_factory=dict)
    extracted: dict[str, Path] = field(default_factory=dict)
    decoded: FrameCache = field(init=False)  # frames shared by the stages
    early: EarlyDetections | None = None  # thermal detections made as stages load frames

    def __post_init__(self) -> None:
        spill = spill_for(self.config.out_dir) if self.config.spill_frames else None
        self.decoded = FrameCache(int(self.config.frame_cache_mb * 2**20), spill=spill)


def process(config: ProcessConfig, progress: Progress | None = None) -> ProcessResult:
    """Run the whole after-flight job; see the module docstring. Raises
    ``DronepipeError`` where nothing usable remains (no frames, no poses)."""
    if config.malloc_arenas:
        limit_arenas(config.malloc_arenas)
    run = _Run(config, progress or (lambda stage, done, total: None))
    try:
        with opencv_threads(config.opencv_threads):
            return _stages(run)
    finally:
        remove_cache(config.out_dir / CACHE_DIR)
        if run.decoded.spill is not None:
            run.decoded.spill.remove()


def _stages(run: _Run) -> ProcessResult:
    config = run.config
    for name, stage in (("poses", _poses), ("placement", _placement),
                        ("registration", _registration), ("mosaics", _mosaics)):
        t0 = time.perf_counter()
        stage(run)
        trim()
        run.timings_s[name] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    loader = _loader(run)
    thermal = run.geoframes.get("thermal", [])
    hotspots = track_hotspots(thermal, loader, config.detection, config.position_sigma_m,
                              run.progress, run.early) if thermal else []
    run.timings_s["hotspots"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    result = write_products(run, hotspots)
    run.timings_s["products"] = round(time.perf_counter() - t0, 3)
    return result


def _poses(run: _Run) -> None:
    cfg = run.config
    inputs = find_inputs(cfg.flight, log=cfg.log, frames=cfg.frames, cameras=cfg.cameras,
                         videos=cfg.video.paths)
    run.config = cfg = replace(cfg, log=inputs.log, frames=inputs.frame_sources,
                               cameras=inputs.cameras)
    run.telemetry = read_telemetry(inputs.log) if inputs.log is not None else None
    run.cameras = CameraResolver(load_camera_file(inputs.cameras) if inputs.cameras else ())
    _still_poses(run, inputs)
    if inputs.videos:
        _video_poses(run, inputs)
    run.progress("poses", len(run.posed) + len(run.rejected), len(run.posed) + len(run.rejected))
    if not run.posed:
        first = run.rejected[0].reason if run.rejected else _first_video_reason(run)
        raise DronepipeError(f"no frame could be given a pose ({len(run.rejected)} rejected; "
                             f"first: {first})")


def _still_poses(run: _Run, inputs: FlightInputs) -> None:
    """Discover the stills and pose them (time sync per camera kind)."""
    cfg = run.config
    kinds = set(cfg.kinds)
    if inputs.frame_sources:
        try:
            found = discover_frames(list(inputs.frame_sources), kinds=kinds)
        except DronepipeError as exc:
            if not inputs.videos:
                raise
            log.info("no stills (%s); videos only", exc)
            found = Discovery(())
        run.frames = tuple(f for f in found.frames if f.kind in kinds)
        run.unreadable = found.unreadable
    if not run.frames and not inputs.videos:
        raise DronepipeError(f"no {' or '.join(sorted(kinds))} frames found in "
                             f"{', '.join(map(str, inputs.frame_sources))}")
    if not run.frames:
        return
    results, reports = pose_frames(run.frames, run.telemetry, time_offset_s=cfg.time_offset_s,
                                   exif_alt_is_takeoff=_exif_alt_is_takeoff(run.cameras))
    run.sync = {k: r.as_dict() for k, r in reports.items()}
    run.posed = [r for r in results if isinstance(r, Posed)]
    run.rejected = [r for r in results if isinstance(r, Rejected)]


def _video_poses(run: _Run, inputs: FlightInputs) -> None:
    """Sample the chosen videos into posed frames; a kind taken from video sets its
    stills aside (``pipeline.video_frames``), after they timed the camera clock."""
    cfg = run.config
    described, unusable = describe_videos(inputs.videos, inputs.explicit_videos, cfg.video,
                                          inputs.log, cfg.kinds)
    ctx = VideoContext(cfg.video, TelemetrySource(inputs.log, run.telemetry),
                       still_offsets(run.sync), cfg.time_offset_s, run.cameras.user)
    run.videos = video_frames(described, frozenset(p.frame.kind for p in run.posed), ctx, unusable)
    aside = run.videos.video_kinds
    run.set_aside = {k: sum(f.kind == k for f in run.frames) for k in sorted(aside)}
    run.frames = tuple(f for f in run.frames if f.kind not in aside)
    run.posed = [p for p in run.posed if p.frame.kind not in aside]
    run.rejected = [r for r in run.rejected if r.frame.kind not in aside]
    for p in run.videos.posed:
        run.cameras.pin(p.frame, run.videos.cameras[str(p.frame.path)])
    run.frames += tuple(p.frame for p in run.videos.posed)
    run.posed.extend(run.videos.posed)
    run.extracted = extract_frames((p.frame for p in run.videos.posed), cfg.out_dir / CACHE_DIR)


def _first_video_reason(run: _Run) -> str:
    reasons = [r.why for r in (run.videos.reports if run.videos else ()) if not r.used]
    return reasons[0] if reasons else "no frames"


def _exif_alt_is_takeoff(cameras: CameraResolver) -> Callable[[FrameRef], bool]:
    def flag(frame: FrameRef) -> bool:
        try:
            return cameras(frame).exif_alt_is_takeoff
        except DronepipeError:
            return False
    return flag


def _placement(run: _Run) -> None:
    cfg = run.config
    placement = Placement(utm_frame_of(run.posed))
    placed, rejected = place_frames(run.posed, run.cameras, placement)
    if cfg.dem is not None and placed:
        w, s, e, n = union_bounds(g.footprint_m for g in placed)
        pad = cfg.dem_pad_m
        ground = load_dem(cfg.dem, placement.frame, (w - pad, s - pad, e + pad, n + pad),
                          cfg.dem_cell_m, cfg.dem_datum, cfg.geoid_offset_m)
        placement = Placement(placement.frame, ground, "msl")
        placed, rejected = place_frames(run.posed, run.cameras, placement)
    run.placement = placement
    run.rejected.extend(rejected)
    for gf in placed:
        run.geoframes.setdefault(gf.kind, []).append(gf)
    if run.geoframes.get("thermal"):
        run.early = EarlyDetections(run.geoframes["thermal"], cfg.detection)
    if not placed:
        raise DronepipeError(f"no frame could be placed on the map (first reason: "
                             f"{rejected[0].reason if rejected else 'none'})")
    run.progress("placement", len(placed), len(run.posed))


def _loader(run: _Run) -> FrameLoader:
    spans = run.videos.spans if run.videos else {}
    return FrameLoader({frame_id(f): f for f in run.frames}, run.config.decode, spans, run.extracted,
                       run.decoded)


def _detecting_loader(run: _Run) -> Callable[[str], np.ndarray]:
    """The loader for registration and the mosaics: it also detects hotspots in the
    thermal frames it decodes, so the hotspot stage need not decode them again."""
    loader = _loader(run)
    return run.early.tap(loader) if run.early is not None else loader


def _registration(run: _Run) -> None:
    """RGB frames register among themselves; thermal frames take their RGB twin's
    correction and are refined among themselves (by guided flow, ``stitching.flow``;
    where only the large warm and cool areas stand above the sensor noise, part of a
    thermal block stays untied, which the twin covers), or register alone where the
    flight has no RGB."""
    if not run.config.register:
        return
    loader = _detecting_loader(run)
    reg_cfg = RegistrationConfig(scheduler=run.config.scheduler,
                                 bias=BlockBias.for_height_ref(run.placement.height_ref))
    poses = {frame_id(p.frame): p.pose for p in run.posed}

    def uncertainty(gf: GeoFrame) -> PoseUncertainty:
        return uncertainty_for_pose(poses[gf.frame_id])

    def progress(kind: str) -> Progress:
        return lambda stage, done, total: run.progress(f"register {kind}", done, total)

    rgb = run.geoframes.get("rgb", [])
    if len(rgb) >= 2:
        rgb, report = register_and_adjust(rgb, loader, reg_cfg, progress("rgb"),
                                          uncertainties=uncertainty)
        run.geoframes["rgb"], run.registration["rgb"] = rgb, report.to_dict()
    thermal = run.geoframes.get("thermal", [])
    if len(thermal) >= 2 and len(rgb) >= 2:
        thermal, report, lonely = register_thermal(thermal, rgb, loader, reg_cfg,
                                                   progress("thermal"))
        run.registration["thermal"] = report.to_dict() | {"via_rgb_twin": True,
                                                          "without_twin": lonely}
        run.geoframes["thermal"] = thermal
    elif len(thermal) >= 2:
        thermal, report = register_and_adjust(thermal, loader, reg_cfg, progress("thermal"),
                                              uncertainties=uncertainty)
        run.geoframes["thermal"], run.registration["thermal"] = thermal, report.to_dict()


def _mosaics(run: _Run) -> None:
    cfg = run.config
    loader = _detecting_loader(run)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("thermal", "rgb"):
        gfs = run.geoframes.get(kind)
        if not gfs:
            continue
        gsd = cfg.gsd_m if cfg.gsd_m else None
        grid = grid_for(gfs, gsd)
        with Mosaic(grid, kind, cache_tiles=cfg.cache_tiles) as mosaic:
            mosaic.feed_many(gfs, loader, cfg.scheduler,
                             progress=lambda d, t, k=kind: run.progress(f"mosaic {k}", d, t))
            run.mosaics[kind] = mosaic.finish(cfg.out_dir / f"ortho_{kind}.tif")


__all__: Sequence[str] = ["process", "ProcessConfig", "ProcessResult"]
