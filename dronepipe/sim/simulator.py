"""``simulate(config, out_dir)``: a whole simulated flight, written as real equipment
writes it, with its truth.

Stages (reported through ``progress(stage, done, total)``): plan and fly the survey
(``flightplan``, ``trajectory``), draw the errors (``errors_model``), size the world to
every camera footprint and generate it (``world``), render every thermal and RGB frame
and the thermal video (``render``), write the logs (``logs``), the camera file and the
truth (``truth``). The output is a pure function of the configuration: the same seed
and options give byte-identical files.

Layout of ``out_dir``::

    flight.tlog  flight.bin  cameras.toml
    thermal/TH_0001.tiff ...   rgb/RGB_0001.jpg ...
    video/thermal.avi  video/thermal.json  video/thermal.tlog
    truth/poses.json  truth/poses.csv  truth/hotspots.geojson  truth/flight.json
    truth/ortho_rgb.tif  truth/temperature.tif  [truth/dem.tif]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.errors import DronepipeError
from dronepipe.geodesy import UtmFrame
from dronepipe.sim.config import SimCamera, SimConfig
from dronepipe.sim.errors_model import ErrorModel
from dronepipe.sim.files import (
    GreyVideo,
    cameras_toml,
    rgb_jpeg,
    thermal_tiff,
    video_sidecar,
    write_atomic,
    write_json,
)
from dronepipe.sim.flightplan import FlightPlan, footprint_m, plan_survey
from dronepipe.sim.grid import RasterGrid
from dronepipe.sim.hotspots import Core
from dronepipe.sim.logs import Triggers, write_dataflash, write_tlog
from dronepipe.sim.radiometry import RadianceTable
from dronepipe.sim.render import (
    TLINEAR_MAX_C,
    RayGrid,
    Sensor,
    grey_video_frame,
    render_rgb,
    render_thermal,
)
from dronepipe.sim.telemetry import FlightClock, Reporter
from dronepipe.sim.terrain import make_dem
from dronepipe.sim.trajectory import Trajectory, fly
from dronepipe.sim.truth import (
    hotspots_geojson,
    pose_record,
    write_truth_rasters,
    write_truth_tables,
)
from dronepipe.sim.world import World, build_world
from dronepipe.stitching.georef import (
    CameraPose,
    FlatGround,
    Ground,
    HeightRef,
    camera_pose,
    pixels_to_ground,
)

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
Progress = Callable[[str, int, int], None]
MAX_WORLD_CELLS = 150_000_000
LOG_LEAD_S = 15.0
BOOT_LEAD_S = 95.0


@dataclass(frozen=True)
class SimResult:
    """What ``simulate`` wrote (paths relative to ``out_dir``) and how long it took."""

    out_dir: Path
    frames: int
    thermal_files: tuple[str, ...]
    rgb_files: tuple[str, ...]
    video_frames: int
    flight_duration_s: float
    world_size: tuple[int, int]
    hotspots: int
    timings_s: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Flight:
    """A planned and flown survey with its clock, errors and trigger/exposure times."""

    config: SimConfig
    frame: UtmFrame
    plan: FlightPlan
    traj: Trajectory
    rep: Reporter
    trig: Triggers
    exposure_utc_s: F64 = field(repr=False)
    video_utc_s: F64 = field(repr=False)

    @property
    def clock(self) -> FlightClock:
        return self.rep.clock

    def camera_poses(self, t_utc_s: F64, cam: SimCamera, height_ref: HeightRef) -> list[CameraPose]:
        """True camera poses of one camera at UTC times."""
        st = self.rep.truth(t_utc_s)
        mount = cam.mount(self.config.lever_arm_body_m)
        return [camera_pose(st.pose(i), self.frame, mount, height_ref) for i in range(len(st))]


def fly_survey(cfg: SimConfig) -> Flight:
    """Plan, fly and time the survey; draw the flight's errors."""
    frame = UtmFrame.for_point(cfg.lon_deg, cfg.lat_deg)
    e, n = frame.to_grid(cfg.lon_deg, cfg.lat_deg)
    plan = plan_survey((float(e), float(n)), cfg.frames, cfg.height_m, cfg.thermal.camera_model,
                       cfg.forward_overlap, cfg.side_overlap, cfg.line_azimuth_deg)
    traj = fly(plan, cfg.speed_m_s, frame.true_north_grid_azimuth(cfg.lon_deg, cfg.lat_deg))
    t0 = cfg.start_utc_s
    clock = FlightClock(t0, t0 - LOG_LEAD_S, t0 + traj.duration_s + 5.0,
                        math.floor(t0) - BOOT_LEAD_S)
    errors = ErrorModel.draw(cfg.errors, clock.log_start_utc_s - 1.0, clock.log_end_utc_s + 1.0,
                             cfg.seed)
    rep = Reporter(traj, frame, cfg.takeoff_msl_m, cfg.oblique_deg, clock, errors)
    trig_t = np.round((t0 + traj.trigger_t_s) * 1000.0) / 1000.0
    trig = Triggers(trig_t, np.arange(1, len(trig_t) + 1), cfg.thermal.focal_length_mm)
    exposure = trig_t + cfg.errors.trigger_latency_s
    n_video = int(round(cfg.video_s * cfg.video_fps))
    video = exposure[0] - 0.5 + np.arange(n_video) / cfg.video_fps
    return Flight(cfg, frame, plan, traj, rep, trig, exposure, video)


def world_extent(flight: Flight, margin_m: float = 6.0) -> tuple[float, float, float, float]:
    """(west, south, east, north) grid metres covering every camera footprint."""
    cfg = flight.config
    low = FlatGround(-(cfg.terrain_relief_m + 2.0) if cfg.terrain else 0.0)
    times = np.concatenate([flight.exposure_utc_s, flight.video_utc_s[::10]])
    pts = []
    for cam in cfg.cameras:
        m = cam.camera_model
        u = np.concatenate([np.linspace(0, m.width - 1, 9), np.full(9, m.width - 1),
                            np.linspace(0, m.width - 1, 9), np.zeros(9)])
        v = np.concatenate([np.zeros(9), np.linspace(0, m.height - 1, 9),
                            np.full(9, m.height - 1), np.linspace(0, m.height - 1, 9)])
        for cp in flight.camera_poses(times, cam, "takeoff"):
            p = pixels_to_ground(cp, m, u, v, low)
            pts.append(p[np.isfinite(p[:, 0]), :2])
    allp = np.concatenate(pts)
    return (float(allp[:, 0].min() - margin_m), float(allp[:, 1].min() - margin_m),
            float(allp[:, 0].max() + margin_m), float(allp[:, 1].max() + margin_m))


def _core(flight: Flight, grid: RasterGrid) -> Core:
    """The rectangle (local metres) where hot objects may go: around the ground points
    the thermal camera's image centres saw (nadir or oblique), along the survey lines."""
    plan, cfg = flight.plan, flight.config
    across, along = footprint_m(cfg.thermal.camera_model, cfg.height_m)
    m = cfg.thermal.camera_model
    seen = np.array([pixels_to_ground(cp, m, m.cx, m.cy, FlatGround(0.0))[:2] for cp in
                     flight.camera_poses(flight.exposure_utc_s, cfg.thermal, "takeoff")])
    local = np.stack([seen[:, 0] - grid.west_m, grid.north_m - seen[:, 1]], axis=1)
    u = np.array([math.sin(plan.azimuth_rad), -math.cos(plan.azimuth_rad)])
    v = np.array([-u[1], u[0]])
    a, b = local @ u, local @ v
    centre = (a.max() + a.min()) / 2 * u + (b.max() + b.min()) / 2 * v
    return Core(centre, u, max(3.0, (a.max() - a.min() + along) / 2 - 0.25 * along - 2.0),
                max(3.0, (b.max() - b.min() + across) / 2 - 0.25 * across - 2.0))


@dataclass(frozen=True)
class ThermalViews:
    """Counts the thermal frames whose image holds a ground point (``margin_px`` inside
    the border); called with local world metres (x east, y south of the grid corner)."""

    centres: F64 = field(repr=False)      # (N, 3)
    rotations: F64 = field(repr=False)    # (N, 3, 3) R_grid_from_cam
    camera: Any
    ground: Ground
    grid: RasterGrid
    margin_px: float = 10.0

    @classmethod
    def of(cls, poses: list[CameraPose], camera: Any, ground: Ground, grid: RasterGrid,
           margin_px: float = 10.0) -> ThermalViews:
        return cls(np.array([p.centre_m for p in poses]), np.array([p.R_grid_from_cam for p in poses]),
                   camera, ground, grid, margin_px)

    def __call__(self, p_local: F64) -> int:
        e, n = self.grid.west_m + float(p_local[0]), self.grid.north_m - float(p_local[1])
        h = float(self.ground.height_at(e, n))
        d = np.array([e, n, h]) - self.centres
        cam = np.einsum("nij,ni->nj", self.rotations, d)
        u, v = self.camera.project(cam)
        m = self.margin_px
        ok = (u >= m) & (u <= self.camera.width - 1 - m) & (v >= m) & (v <= self.camera.height - 1 - m)
        return int(np.count_nonzero(ok))


def make_world(flight: Flight) -> tuple[World, Ground, HeightRef]:
    """The world around the flight, and the ground (flat, or the DEM) to render it on."""
    cfg = flight.config
    grid = RasterGrid.covering(*world_extent(flight), cfg.world_cell)
    if grid.width * grid.height > MAX_WORLD_CELLS:
        raise DronepipeError(
            f"the simulated world would be {grid.width} x {grid.height} cells of {cfg.world_cell} m; "
            "use fewer frames, a lower height or a coarser world cell")
    dem, dem_grid = None, None
    ground: Ground = FlatGround(0.0)
    height_ref: HeightRef = "takeoff"
    if cfg.terrain:
        dem, dem_grid = make_dem(grid, cfg.seed, cfg.terrain_relief_m, flight.plan.home_m,
                                 cfg.takeoff_msl_m)
        ground, height_ref = dem, "msl"
    h = cfg.hotspots
    views = ThermalViews.of(flight.camera_poses(flight.exposure_utc_s, cfg.thermal, height_ref),
                            cfg.thermal.camera_model, ground, grid)
    world = build_world(grid, flight.frame.epsg, cfg.seed, _core(flight, grid),
                        (h.fires, h.ember_nests, h.persons, h.vehicles), RadianceTable(),
                        dem, dem_grid, views)
    return world, ground, height_ref


# --- frames ----------------------------------------------------------------------------

@dataclass
class FrameWriter:
    """Renders and writes the still frames of both cameras, collecting the truth rows."""

    flight: Flight
    world: World
    ground: Ground
    height_ref: HeightRef
    out: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=lambda: {"thermal": [], "rgb": []})

    def run(self, progress: Progress | None) -> None:
        cfg, fl = self.flight.config, self.flight
        sensors = {c.kind: Sensor.of(c, np.random.default_rng([cfg.seed, 40, k]))
                   for k, c in enumerate(cfg.cameras)}
        rays = {c.kind: RayGrid.of(c.camera_model, c.supersample) for c in cfg.cameras}
        poses = {c.kind: fl.camera_poses(fl.exposure_utc_s, c, self.height_ref) for c in cfg.cameras}
        truth = fl.rep.truth(fl.exposure_utc_s)
        gps = fl.rep.position(fl.exposure_utc_s, 41, raw=False)
        n = len(fl.exposure_utc_s)
        for i in range(n):
            rng = np.random.default_rng([cfg.seed, 50, i])
            t_cam = float(fl.exposure_utc_s[i]) + cfg.errors.camera_clock_offset_s
            where = (float(gps.lat_deg[i]), float(gps.lon_deg[i]), float(gps.alt_msl_m[i]))
            for cam in cfg.cameras:
                cp = poses[cam.kind][i]
                if cam.kind == "thermal":
                    counts, _ = render_thermal(self.world, cp, rays["thermal"], self.ground,
                                               sensors["thermal"], rng)
                    name = f"thermal/TH_{i + 1:04d}.tiff"
                    data = thermal_tiff(counts, cam, t_cam, cfg.camera_utc_offset_h, *where,
                                        compression=cfg.tiff_compression)
                else:
                    img = render_rgb(self.world, cp, rays["rgb"], self.ground, sensors["rgb"], rng)
                    name = f"rgb/RGB_{i + 1:04d}.jpg"
                    data = rgb_jpeg(img, cam, t_cam, cfg.camera_utc_offset_h, *where)
                write_atomic(self.out / name, data)
                self.files[cam.kind].append(name)
                self._row(i, cam, name, cp, truth)
            if progress is not None:
                progress("frames", i + 1, n)

    def _row(self, i: int, cam: SimCamera, name: str, cp: Any, truth: Any) -> None:
        lon, lat = self.flight.frame.to_lonlat(cp.centre_m[0], cp.centre_m[1])
        takeoff = self.flight.config.takeoff_msl_m
        msl = float(cp.centre_m[2]) + (takeoff if self.height_ref == "takeoff" else 0.0)
        row = {"index": i + 1, **pose_record(
            cam.kind, name, float(self.flight.exposure_utc_s[i]), cp.centre_m, cp.R_grid_from_cam,
            float(lat), float(lon), msl, msl - takeoff,
            (truth.roll[i], truth.pitch[i], truth.yaw[i]),
            (truth.g_roll[i], truth.g_pitch[i], truth.g_yaw[i]))}
        row["t_trigger_utc_s"] = round(float(self.flight.trig.t_utc_s[i]), 6)
        self.rows.append(row)


def render_video(flight: Flight, world: World, ground: Ground, height_ref: HeightRef,
                 out: Path, progress: Progress | None) -> int:
    """The thermal video (grey, fixed span), its sidecar and its own tlog; returns frames."""
    cfg = flight.config
    t = flight.video_utc_s
    if len(t) == 0:
        return 0
    cam = cfg.thermal
    sensor = Sensor.of(cam, np.random.default_rng([cfg.seed, 60]))
    rays = RayGrid.of(cam.camera_model, 1)
    video = GreyVideo(out / "video" / "thermal.avi", cfg.video_fps, (cam.width, cam.height))
    try:
        for k, cp in enumerate(flight.camera_poses(t, cam, height_ref)):
            counts, _ = render_thermal(world, cp, rays, ground, sensor,
                                       np.random.default_rng([cfg.seed, 61, k]))
            video.write(grey_video_frame(counts, cfg.video_span_c))
            if progress is not None:
                progress("video", k + 1, len(t))
    finally:
        video.close()
    start_cam = float(t[0]) + cfg.errors.camera_clock_offset_s
    write_json(out / "video" / "thermal.json", video_sidecar(
        "thermal.avi", cfg.video_fps, len(t), cam.width, cam.height, cfg.video_span_c, start_cam,
        cfg.camera_utc_offset_h, cam.name))
    write_tlog(out / "video" / "thermal.tlog", flight.rep, flight.trig, cfg.rates,
               cfg.geoid_undulation_m, float(t[0]) - 5.0, float(t[-1]) + 5.0)
    return len(t)


# --- truth and the whole run -----------------------------------------------------------

def _config_dict(cfg: SimConfig) -> dict[str, Any]:
    d = asdict(cfg)
    return json_safe(d)


def json_safe(obj: Any) -> Any:
    """Tuples to lists, recursively (JSON has no tuples)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_truth(flight: Flight, world: World, ground: Ground, height_ref: HeightRef, out: Path,
                rows: list[dict[str, Any]], video_frames: int) -> None:
    """Everything in ``truth/`` (see ``dronepipe.sim.truth``)."""
    cfg = flight.config
    truth = out / "truth"
    names = write_truth_rasters(truth, world, cfg.truth_cell_m)
    views = ThermalViews.of(flight.camera_poses(flight.exposure_utc_s, cfg.thermal, height_ref),
                            cfg.thermal.camera_model, ground, world.grid, margin_px=0.0)
    g = world.grid
    seen = [views(np.array([h.easting_m - g.west_m, g.north_m - h.northing_m]))
            for h in world.hotspots]
    write_json(truth / "hotspots.geojson", hotspots_geojson(world.hotspots, flight.frame, seen))
    write_truth_tables(truth, rows, {"epsg": flight.frame.epsg, "height_ref_of_centres":
                                     "alt_rel_m above take-off, alt_msl_m above mean sea level"})
    gnss = flight.rep.errors.gnss_at(flight.exposure_utc_s)
    meta = {
        "format": "dronepipe-sim-truth/1",
        "config": _config_dict(cfg),
        "epsg": flight.frame.epsg,
        "takeoff_utc_s": cfg.start_utc_s,
        "flight_duration_s": round(flight.traj.duration_s, 3),
        "frames": len(flight.exposure_utc_s),
        "lines": len(flight.plan.lines),
        "line_spacing_m": round(flight.plan.line_spacing_m, 4),
        "trigger_dist_m": round(flight.plan.trigger_dist_m, 4),
        "home_grid_m": [round(v, 3) for v in flight.plan.home_m],
        "world": {"west_m": g.west_m, "north_m": g.north_m, "cell_m": g.cell_m,
                  "width": g.width, "height": g.height},
        "truth_rasters": {**names, "cell_m": cfg.truth_cell_m},
        "ground": "dem.tif (MSL)" if cfg.terrain else f"flat at take-off ({cfg.takeoff_msl_m} m MSL)",
        "tlinear_saturation_c": round(TLINEAR_MAX_C, 2),
        "errors_realised": {
            "camera_clock_offset_s": cfg.errors.camera_clock_offset_s,
            "trigger_latency_s": cfg.errors.trigger_latency_s,
            "gimbal_bias_deg": list(cfg.errors.gimbal_bias_deg),
            "gnss_mean_at_exposures_enu_m": [round(float(v), 4) for v in gnss.mean(axis=0)],
            "gnss_rms_at_exposures_enu_m": [round(float(v), 4) for v in
                                            np.sqrt((gnss ** 2).mean(axis=0))]},
        "video": {"frames": video_frames, "fps": cfg.video_fps,
                  "start_utc_s": round(float(flight.video_utc_s[0]), 6) if video_frames else None,
                  "start_camera_clock_s": round(float(flight.video_utc_s[0])
                                                + cfg.errors.camera_clock_offset_s, 6)
                  if video_frames else None},
    }
    write_json(truth / "flight.json", meta)


def simulate(config: SimConfig, out_dir: Path | str, progress: Progress | None = None) -> SimResult:
    """Simulate a flight into ``out_dir`` (created; existing files of the same names are
    replaced). See the module docstring for the layout."""
    out = Path(out_dir)
    for sub in ("thermal", "rgb", "video", "truth"):
        if sub != "rgb" or config.rgb is not None:
            (out / sub).mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t = time.perf_counter()
    flight = fly_survey(config)
    world, ground, height_ref = make_world(flight)
    times["world_s"] = time.perf_counter() - t
    log.info("world %d x %d cells, %d hot objects", world.grid.width, world.grid.height,
             len(world.hotspots))
    t = time.perf_counter()
    fw = FrameWriter(flight, world, ground, height_ref, out)
    fw.run(progress)
    times["frames_s"] = time.perf_counter() - t
    t = time.perf_counter()
    n_video = render_video(flight, world, ground, height_ref, out, progress)
    times["video_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if progress is not None:
        progress("logs", 0, 2)
    write_tlog(out / "flight.tlog", flight.rep, flight.trig, config.rates,
               config.geoid_undulation_m)
    if config.write_dataflash:
        write_dataflash(out / "flight.bin", flight.rep, flight.trig, config.rates,
                        flight.plan.trigger_dist_m)
    write_atomic(out / "cameras.toml", cameras_toml(
        config.cameras, config.lever_arm_body_m,
        {"thermal": "thermal/*.tiff", "rgb": "rgb/*.jpg"}).encode("utf-8"))
    if progress is not None:
        progress("logs", 2, 2)
    times["logs_s"] = time.perf_counter() - t
    t = time.perf_counter()
    write_truth(flight, world, ground, height_ref, out, fw.rows, n_video)
    times["truth_s"] = time.perf_counter() - t
    return SimResult(out, len(flight.exposure_utc_s), tuple(fw.files["thermal"]),
                     tuple(fw.files["rgb"]), n_video, flight.traj.duration_s,
                     (world.grid.width, world.grid.height), len(world.hotspots), times)
