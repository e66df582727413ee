"""The ``dronepipe`` command line: a thin click layer over the library.

Each command parses its options, builds a config, calls one library function and
prints what it returned. Errors the user can cause (``DronepipeError``) are shown as
one line on stderr with exit code 1, never as a traceback. Library warnings
(``DronepipeWarning``) are shown as ``warning: ...`` lines unless ``--quiet``.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dronepipe import __version__
from dronepipe.errors import DronepipeError

log = logging.getLogger("dronepipe")


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.name == "py.warnings":  # "path:line: DronepipeWarning: text\n  code"
            msg = msg.strip().splitlines()[0]
            msg = msg.split("Warning: ", 1)[-1]
        return f"{record.levelname.lower()}: {msg}"


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else
                                         logging.INFO if verbose == 1 else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    warnings.simplefilter("default")


class _Group(click.Group):
    """Turns DronepipeError into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DronepipeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.version_option(__version__, prog_name="dronepipe")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """dronepipe: drone telemetry, thermal frames, orthomosaics and hotspots."""
    _configure_logging(verbose, quiet)
    ctx.obj = {"quiet": quiet}


def _quiet_here(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """A command's own ``-q/--quiet``: the same as the group's, given after the command."""
    if value:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "quiet": True}
        _configure_logging(0, True)
    return value


quiet_option = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_quiet_here,
                            help="Only errors; no progress bars (as dronepipe -q).")


def is_quiet(ctx: click.Context) -> bool:
    """Whether the user asked for --quiet (no progress bars)."""
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))


@contextmanager
def progress_callback(ctx: click.Context) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback ``(stage, done, total)`` drawn as one click progress bar per stage."""
    state: dict[str, Any] = {"stage": None, "bar": None, "done": 0}
    quiet = is_quiet(ctx)

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].render_finish()
            state["bar"] = None

    def report(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage != state["stage"]:
            close()
            state.update(stage=stage, done=0,
                         bar=click.progressbar(length=max(total, 1), label=f"{stage:<14}",
                                               file=sys.stderr, show_pos=True))
            state["bar"].render_progress()
        bar = state["bar"]
        bar.update(max(0, done - state["done"]))
        state["done"] = done

    try:
        yield report
    finally:
        close()


def echo_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))


def existing_path(**kwargs: Any) -> click.Path:
    """A click path that must exist, returned as ``pathlib.Path``."""
    return click.Path(exists=True, path_type=Path, **kwargs)


# --- commands -------------------------------------------------------------------------
# Each command is a few lines: parse, build the config, call one library function.
# Commands are added below this line, one block each.


# --- info: what a flight log holds ----------------------------------------------------
@cli.command("info")
@click.argument("path", type=existing_path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--max-gap", "max_gap_s", type=click.FloatRange(min=0.0), default=2.0, show_default=True,
              help="Report gaps between samples longer than this many seconds.")
@click.pass_context
def info_cmd(ctx: click.Context, path: Path, as_json: bool, max_gap_s: float) -> None:
    """Summarise a flight log (.tlog, DataFlash .bin or .log): vehicle, time, place, GPS, gaps."""
    from dronepipe.flightlogs import read_telemetry, summarize

    with progress_callback(ctx) as progress:
        summary = summarize(read_telemetry(path, max_gap_s=max_gap_s, progress=progress))
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(summary.to_text())


# --- thermal: radiometric frames -> float32 degrees-C TIFFs ---------------------------
@cli.command("thermal")
@click.argument("inputs", nargs=-1, required=True, type=existing_path())
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for <stem>_temp_c.tif files (sub-folders of input folders are mirrored).")
@click.option("--emissivity", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="Object emissivity (default: each file's own).")
@click.option("--distance", "distance_m", type=click.FloatRange(min=0.0), default=None,
              help="Object distance in metres (default: each file's embedded distance).")
@click.option("--reflected-temp", "reflected_c", type=float, default=None,
              help="Reflected apparent temperature, degrees C.")
@click.option("--atmospheric-temp", "atmospheric_c", type=float, default=None,
              help="Atmospheric temperature, degrees C.")
@click.option("--humidity", "humidity_pct", type=click.FloatRange(0.0, 100.0), default=None,
              help="Relative humidity, percent.")
@click.option("--tiff-scale", default="centikelvin", show_default=True,
              help="Scale of 16-bit TIFFs: centikelvin, decikelvin, decicelsius, duo-pro-r-high, "
                   "duo-pro-r-low, or K per count (SCALE[:OFFSET_K]).")
@click.option("--relative", "include_relative", is_flag=True,
              help="Also convert non-radiometric pictures (written with radiometric=false: relative values).")
@click.pass_context
def thermal_cmd(ctx: click.Context, inputs: tuple[Path, ...], out_dir: Path, emissivity: float | None,
                distance_m: float | None, reflected_c: float | None, atmospheric_c: float | None,
                humidity_pct: float | None, tiff_scale: str, include_relative: bool) -> None:
    """Convert thermal frames (FLIR, DJI, TIFF) to float32 degrees-C TIFFs."""
    from dronepipe.thermal import DecodeOptions, convert_thermal
    from dronepipe.thermal import tiff_scale as parse_tiff_scale

    options = DecodeOptions(emissivity=emissivity, object_distance_m=distance_m, reflected_temp_c=reflected_c,
                            atmospheric_temp_c=atmospheric_c, relative_humidity_pct=humidity_pct,
                            tiff_scale=parse_tiff_scale(tiff_scale))
    with progress_callback(ctx) as progress:
        report = convert_thermal(list(inputs), out_dir, options, include_relative=include_relative,
                                 progress=progress)
    if not report.written:
        raise DronepipeError(f"no thermal frame could be converted ({len(report.failed)} failed, "
                             f"{len(report.unsupported)} unsupported, "
                             f"{len(report.relative_skipped)} not radiometric)")
    echo_json({"written": len(report.written), "failed": len(report.failed),
               "unsupported": len(report.unsupported), "not_radiometric": len(report.relative_skipped),
               "outputs": [str(out) for _, out in report.written]})


# --- hotspots: fire, embers, persons on a thermal orthomosaic -------------------------
@cli.command("hotspots")
@click.argument("ortho", type=existing_path(dir_okay=False))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the products (default: <ORTHO stem>_hotspots beside ORTHO).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--fire-c", type=float, default=150.0, show_default=True, help="Fire threshold, degrees C.")
@click.option("--ember-c", type=float, default=60.0, show_default=True, help="Ember nest threshold, degrees C.")
@click.option("--min-area", "min_area_m2", type=click.FloatRange(min=0.0), default=0.1, show_default=True,
              help="Smallest object kept, square metres.")
@click.option("--position-sigma", "position_sigma_m", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="One-sigma placement error of the mosaic, metres.")
@click.option("--non-radiometric", is_flag=True,
              help="Treat the values as relative (overrides the file's RADIOMETRIC tag).")
@click.pass_context
def hotspots_cmd(ctx: click.Context, ortho: Path, out_dir: Path | None, as_json: bool, fire_c: float,
                 ember_c: float, min_area_m2: float, position_sigma_m: float, non_radiometric: bool) -> None:
    """Detect hotspots on a thermal orthomosaic (GeoTIFF, degrees C) and write GeoJSON, CSV, KMZ, CoT
    and report.html."""
    from dronepipe.outputs.hotspot_table import hotspot_properties
    from dronepipe.thermal.detection import DetectionConfig
    from dronepipe.thermal.ortho import hotspots_from_ortho

    try:
        config = DetectionConfig(fire_c=fire_c, ember_c=ember_c, min_area_m2=min_area_m2)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    out = out_dir if out_dir is not None else ortho.with_name(f"{ortho.stem}_hotspots")
    with progress_callback(ctx) as progress:
        result = hotspots_from_ortho(ortho, out, config, position_sigma_m=position_sigma_m,
                                     radiometric=False if non_radiometric else None, progress=progress)
    rows = [hotspot_properties(h) for h in result.mosaic.hotspots]
    if as_json:
        echo_json({"hotspots": rows, "radiometric": result.mosaic.radiometric,
                   "products": result.products.as_dict()})
        return
    click.echo(f"{'#':>3}  {'class':<12} {'max C':>7} {'area m2':>8}  MGRS")
    for r in rows:
        click.echo(f"{r['id']:>3}  {r['label']:<12} {r['max_c']:>7.1f} {r['area_m2']:>8.2f}  {r['mgrs']}")
    if not result.mosaic.radiometric:
        click.echo("non-radiometric input: relative values only")
    click.echo(f"{len(rows)} hotspots; products in {out}")


# --- process: the after-flight job ----------------------------------------------------
@cli.command("process")
@click.argument("flight", required=False, type=existing_path())
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the orthomosaics, hotspot files, report.html and process.json.")
@click.option("--log", "log_path", type=existing_path(dir_okay=False), default=None,
              help="Flight log (.tlog, .bin, .log); default: the one in FLIGHT.")
@click.option("--frames", "frames", type=existing_path(), multiple=True,
              help="Frame files or folders (repeatable); default: FLIGHT/thermal and FLIGHT/rgb.")
@click.option("--cameras", type=existing_path(dir_okay=False), default=None,
              help="Camera file (TOML) for cameras not in the table; default: FLIGHT/cameras.toml.")
@click.option("--only", type=click.Choice(["thermal", "rgb"]), default=None,
              help="Process only thermal or only RGB frames.")
@click.option("--time-offset", "time_offset_s", type=float, default=None,
              help="Seconds to add to the camera clock to get UTC (negative when the camera "
                   "runs ahead), when the log cannot tell.")
@click.option("--dem", type=existing_path(dir_okay=False), default=None,
              help="DEM GeoTIFF; camera heights are then altitudes MSL.")
@click.option("--dem-datum", type=click.Choice(["msl", "ellipsoid"]), default=None,
              help="Vertical datum of the DEM (default: as the file states, else MSL).")
@click.option("--geoid-offset", "geoid_offset_m", type=float, default=None,
              help="Geoid undulation (m) to convert an ellipsoidal DEM to MSL.")
@click.option("--gsd", "gsd_m", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Mosaic ground sample distance, metres (default: native).")
@click.option("--no-register", is_flag=True, help="Skip image registration (direct georeferencing only).")
@click.option("--scheduler", default="threads", show_default=True,
              help="dask scheduler: threads, processes, synchronous, or tcp://HOST:PORT of a cluster.")
@click.option("--emissivity", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="Object emissivity for radiometric decoding (default: each file's own).")
@click.option("--video", "videos", type=existing_path(dir_okay=False), multiple=True,
              help="A video to sample into frames by ground coverage (repeatable), used even where "
                   "stills of its kind exist; telemetry: an SRT or log of the same name beside it, "
                   "else the flight's log. Default: videos in FLIGHT only where no stills of their kind.")
@click.option("--video-kind", type=click.Choice(["thermal", "thermal-gray", "rgb"]), default=None,
              help="What the videos show (default: sidecar, folder name, frame size); thermal video "
                   "gives relative values, not temperatures.")
@click.option("--span", default=None,
              help="Grey thermal video: degrees C of grey 0 and 255, MIN:MAX (default: the sidecar's).")
@click.option("--video-overlap", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.8,
              show_default=True, help="Forward overlap of the frames sampled from a video.")
@click.option("--video-camera", default=None,
              help="The videos' camera: a camera-file entry or a known model such as M30T "
                   "(default: the camera file's entry of the video's kind).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@quiet_option
@click.pass_context
def process_cmd(ctx: click.Context, flight: Path | None, out_dir: Path, log_path: Path | None,
                frames: tuple[Path, ...], cameras: Path | None, only: str | None,
                time_offset_s: float | None, dem: Path | None, dem_datum: str | None,
                geoid_offset_m: float | None, gsd_m: float | None, no_register: bool,
                scheduler: str, emissivity: float | None, videos: tuple[Path, ...],
                video_kind: str | None, span: str | None, video_overlap: float,
                video_camera: str | None, as_json: bool) -> None:
    """Orthomosaics, hotspots and the situation report of a flight (FLIGHT: a folder with a
    log and thermal/ and/or rgb/ frames or videos, or frames alone)."""
    from dronepipe.pipeline import ProcessConfig, process
    from dronepipe.pipeline.config import VideoOptions
    from dronepipe.thermal import DecodeOptions

    if flight is None and not frames and not videos:
        raise click.UsageError("give a FLIGHT folder, --frames or --video")
    video = VideoOptions(videos, video_kind, _pair(span, ":", "--span") if span else None,  # type: ignore[arg-type]
                         video_overlap, video_camera)
    config = ProcessConfig(flight, out_dir, log=log_path, frames=frames, cameras=cameras,
                           kinds=(only,) if only else ("thermal", "rgb"),
                           time_offset_s=time_offset_s, dem=dem, dem_datum=dem_datum,
                           geoid_offset_m=geoid_offset_m, gsd_m=gsd_m, register=not no_register,
                           scheduler=scheduler, decode=DecodeOptions(emissivity=emissivity),
                           video=video)
    with progress_callback(ctx) as progress:
        result = process(config, progress)
    summary = {"out_dir": str(result.out_dir), "frames": result.n_frames, "placed": result.n_placed,
               "rejected": result.n_rejected, "hotspots": len(result.hotspots),
               "mosaics": {k: str(m.path) for k, m in result.mosaics.items()},
               "provenance": str(result.provenance)}
    if as_json:
        echo_json(summary)
        return
    click.echo(f"{result.n_placed} of {result.n_frames} frames placed ({result.n_rejected} rejected, "
               f"see {result.provenance.name})")
    for kind, m in result.mosaics.items():
        click.echo(f"{kind:>7} mosaic: {m.path}  ({m.grid.width}x{m.grid.height} px, "
                   f"{m.grid.gsd_m:.3f} m/px, EPSG:{m.grid.epsg})")
    for h in result.hotspots:
        unit = "C" if h.radiometric else "(relative)"
        click.echo(f"  #{h.id:<3} {h.kind.label:<12} max {h.max_c:6.1f} {unit}  {h.mgrs}")
    click.echo(f"{len(result.hotspots)} hotspots; report: {result.out_dir / 'report.html'}")


# --- simulate: a simulated flight with its truth ---------------------------------------
def _pair(text: str, sep: str, name: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(sep))
    except ValueError:
        raise click.BadParameter(f"expected two numbers as A{sep}B, got {text!r}", param_hint=name) from None
    return a, b


@cli.command("simulate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=1, show_default=True, help="World, errors and noise.")
@click.option("--frames", type=click.IntRange(min=1), default=100, show_default=True,
              help="Camera triggers (thermal + RGB frame pairs).")
@click.option("--height", "height_m", type=click.FloatRange(min=5.0, min_open=True), default=80.0,
              show_default=True, help="Flight height above take-off, metres.")
@click.option("--overlap", default="0.8,0.7", show_default=True,
              help="Forward,side overlap of the thermal footprints (fractions).")
@click.option("--speed", "speed_m_s", type=click.FloatRange(min=1.0), default=6.0, show_default=True,
              help="Survey speed, m/s.")
@click.option("--line-azimuth", "line_azimuth_deg", type=float, default=20.0, show_default=True,
              help="Grid azimuth of the survey lines, degrees.")
@click.option("--lat", "lat_deg", type=float, default=49.4447, show_default=True)
@click.option("--lon", "lon_deg", type=float, default=7.7689, show_default=True)
@click.option("--start", "start_utc", default="2024-06-15T10:30:00+00:00", show_default=True,
              help="Take-off time, ISO 8601 with offset.")
@click.option("--no-errors", is_flag=True, help="Exact telemetry and clocks (no GNSS, attitude, "
              "gimbal, clock or link errors).")
@click.option("--gnss-error", "gnss_sigma_m", type=click.FloatRange(min=0.0), default=None,
              help="GNSS random-walk size (1-sigma per horizontal axis), metres.")
@click.option("--clock-offset", "clock_offset_s", type=float, default=None,
              help="Camera clock ahead of the autopilot, seconds.")
@click.option("--drop-rate", type=click.FloatRange(0.0, 1.0), default=None,
              help="Fraction of tlog messages lost on the link.")
@click.option("--terrain", is_flag=True, help="Gentle terrain (a DEM, written to truth/dem.tif).")
@click.option("--relief", "relief_m", type=click.FloatRange(min=0.0), default=6.0, show_default=True,
              help="Terrain relief, metres.")
@click.option("--oblique", "oblique_deg", type=click.FloatRange(0.0, 45.0), default=0.0,
              show_default=True, help="Gimbal tilt forward from nadir, degrees.")
@click.option("--rgb-size", default="2000x1500", show_default=True,
              help="RGB image size WxH, or 'none' for a thermal-only payload.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=90, show_default=True,
              help="JPEG quality of the RGB frames.")
@click.option("--video-seconds", "video_s", type=click.FloatRange(min=0.0), default=4.0,
              show_default=True, help="Length of the thermal video (0: none).")
@click.option("--video-fps", type=click.FloatRange(min=1.0), default=30.0, show_default=True)
@click.option("--video-span", default="0:150", show_default=True,
              help="Temperatures (C) of grey 0 and 255 in the video, MIN:MAX.")
@click.option("--hotspots", "hotspot_counts", default="1,4,2,2", show_default=True,
              help="Fires,ember nests,persons,warm vehicles.")
@click.option("--world-cell", "world_cell_m", type=click.FloatRange(min=0.005), default=None,
              help="World raster cell, metres [default: the finest GSD, 2-5 cm].")
@click.option("--truth-cell", "truth_cell_m", type=click.FloatRange(min=0.005), default=0.1,
              show_default=True, help="Truth orthophoto/temperature cell, a multiple of --world-cell.")
@click.option("--tiff-compression", type=click.Choice(["deflate", "lzma"]), default="deflate",
              show_default=True, help="Compression of the thermal TIFFs.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_context
def simulate_cmd(ctx: click.Context, out_dir: Path, overlap: str, no_errors: bool,
                 gnss_sigma_m: float | None, clock_offset_s: float | None, drop_rate: float | None,
                 rgb_size: str, jpeg_quality: int, video_span: str, hotspot_counts: str,
                 as_json: bool, relief_m: float, **options: Any) -> None:
    """Simulate a survey flight into OUT_DIR, with its truth in OUT_DIR/truth."""
    from dataclasses import replace

    from dronepipe.sim import ErrorConfig, HotspotCounts, SimConfig, simulate
    from dronepipe.sim.config import default_rgb

    fwd, side = _pair(overlap, ",", "--overlap")
    errors = ErrorConfig.none() if no_errors else ErrorConfig()
    changes = {k: v for k, v in (("gnss_sigma_m", gnss_sigma_m), ("camera_clock_offset_s", clock_offset_s),
                                  ("drop_rate", drop_rate)) if v is not None}
    rgb = None
    if rgb_size.lower() != "none":
        w, h = _pair(rgb_size.lower(), "x", "--rgb-size")
        rgb = replace(default_rgb(int(w), int(h)), jpeg_quality=jpeg_quality)
    try:
        counts = HotspotCounts(*(int(v) for v in hotspot_counts.split(",")))
    except (TypeError, ValueError):
        raise click.BadParameter("expected four counts F,E,P,V", param_hint="--hotspots") from None
    try:
        config = SimConfig(forward_overlap=fwd, side_overlap=side, errors=replace(errors, **changes),
                           rgb=rgb, video_span_c=_pair(video_span, ":", "--video-span"),
                           hotspots=counts, terrain_relief_m=relief_m, **options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with progress_callback(ctx) as report:
        result = simulate(config, out_dir, progress=report)
    summary = {"out_dir": str(result.out_dir), "frames": result.frames,
               "video_frames": result.video_frames, "flight_duration_s": round(result.flight_duration_s, 1),
               "world_cells": list(result.world_size), "hotspots": result.hotspots,
               "seconds": {k: round(v, 2) for k, v in result.timings_s.items()}}
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"{result.frames} frame pairs, {result.video_frames} video frames, "
                   f"{result.hotspots} hot objects -> {result.out_dir} (truth in {result.out_dir / 'truth'})")


# --- evaluate: a processed flight against the simulator's truth ------------------------
@cli.command("evaluate")
@click.argument("result_dir", type=existing_path(file_okay=False))
@click.option("--truth", "truth_dir", required=True, type=existing_path(file_okay=False),
              help="The truth folder (OUT_DIR/truth of dronepipe simulate) or the flight folder.")
@click.option("--radius", "match_radius_m", type=click.FloatRange(min=0.0, min_open=True), default=5.0,
              show_default=True, help="Hotspot matching distance, metres.")
@click.option("--min-area", "min_area_m2", type=click.FloatRange(min=0.0), default=0.0,
              show_default=True, help="True targets smaller than this (m2) do not count for recall.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_cmd(result_dir: Path, truth_dir: Path, match_radius_m: float, min_area_m2: float,
                 as_json: bool) -> None:
    """Compare RESULT_DIR (what dronepipe process wrote) with the truth."""
    from dronepipe.evaluation import EvalConfig, evaluate

    ev = evaluate(result_dir, truth_dir, EvalConfig(match_radius_m=match_radius_m,
                                                    min_area_m2=min_area_m2)).as_dict()
    if as_json:
        echo_json(ev)
        return
    def show(v: Any, unit: str = "") -> str:
        return "n/a" if v is None else f"{v:g}{unit}"
    click.echo(f"mosaic RMSE          {show(ev['mosaic_rmse_m'], ' m')} ({ev['mosaic_points']} points)")
    click.echo(f"temperature MAE      {show(ev['temperature_mae_c'], ' C')} ({ev['temperature_cells']} cells)")
    click.echo(f"hotspot recall       {show(ev['hotspot_recall'])}")
    click.echo(f"hotspot precision    {show(ev['hotspot_precision'])}")
    click.echo(f"hotspot error p50/90 {show(ev['hotspot_error_p50_m'], ' m')} / {show(ev['hotspot_error_p90_m'], ' m')}")
    click.echo(f"false alarms / ha    {show(ev['false_alarms_per_ha'])}")


# --- live and replay: the command centre during the flight -----------------------------
def _host_port(text: str, name: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {text!r}", param_hint=name)
    return host or "127.0.0.1", int(port)


def _windows(texts: tuple[str, ...], name: str) -> tuple[tuple[float, float], ...]:
    return tuple(_pair(t, ":", name) for t in texts)


@cli.command("live")
@click.option("--mavlink", required=True, help="Telemetry link: udpin:0.0.0.0:14550, tcp:HOST:PORT, "
              "serial:/dev/ttyUSB0:57600.")
@click.option("--video", default=None, help="A video URL or file OpenCV/FFmpeg opens (http:// MJPEG, rtsp://, ...).")
@click.option("--video-kind", type=click.Choice(["thermal-gray"]), default="thermal-gray", show_default=True,
              help="What the video's pixels are: grey levels mapped linearly onto --span (not radiometric).")
@click.option("--span", default="0:150", show_default=True, help="Degrees C of grey 0 and 255, MIN:MAX.")
@click.option("--frames", "frames_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A folder where radiometric stills land (watched; thermal/ and rgb/ subfolders too).")
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the products are written on exit.")
@click.option("--cameras", type=existing_path(dir_okay=False), default=None, help="Camera file (TOML).")
@click.option("--serve", default=None, help="Serve the live map at HOST:PORT (127.0.0.1 unless told).")
@click.option("--token", default=None, help="Access token; required when serving beyond loopback.")
@click.option("--cot", default=None, help="Send CoT events to this URL (udp://239.2.3.1:6969, tcp://HOST:PORT).")
@click.option("--exit-after-idle", "exit_after_idle_s", type=click.FloatRange(min=0.0), default=None,
              help="End (writing the products) when nothing arrived for this many seconds.")
@click.option("--latency", "latency_s", type=click.FloatRange(min=0.0), default=0.2, show_default=True,
              help="Seconds from capture to arrival, for frames without a trustworthy capture time.")
@click.option("--time-offset", "time_offset_s", type=float, default=None,
              help="Camera clock minus autopilot UTC, seconds (default: found from trigger events).")
@click.option("--pose-timeout", "pose_timeout_s", type=click.FloatRange(min=0.0), default=5.0, show_default=True,
              help="Seconds a frame waits for telemetry covering its time before it is dropped.")
@click.option("--keyframe-overlap", type=click.FloatRange(0.0, 1.0), default=0.7, show_default=True,
              help="A frame overlapping the last keyframe by less than this goes to the mosaic.")
@click.option("--area-m", type=click.FloatRange(min=10.0), default=1500.0, show_default=True,
              help="Side of the live mosaic square around the first keyframe, metres.")
@click.option("--gsd", "gsd_m", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Thermal mosaic pixel size, metres (default: the first keyframe's).")
@click.option("--mosaic-queue", type=click.IntRange(min=1), default=4, show_default=True,
              help="Keyframes waiting for the mosaic at most; more are skipped (counted).")
@click.option("--no-register", is_flag=True, help="Feed keyframes as georeferenced, without registration.")
@click.pass_context
def live_cmd(ctx: click.Context, span: str, serve: str | None, no_register: bool, **options: Any) -> None:
    """Process a flight while it is flown; write the products of `process` on exit."""
    import signal
    import threading

    from dronepipe.stream.config import LiveConfig
    from dronepipe.stream.run import run_live

    config = LiveConfig(span_c=_pair(span, ":", "--span"), register=not no_register,
                        serve=_host_port(serve, "--serve") if serve else None, **options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def started(session: Any) -> None:
        if session.server_address and not is_quiet(ctx):
            host, port = session.server_address
            click.echo(f"serving the live map at http://{host}:{port}/", err=True)

    result = run_live(config, stop, on_start=started)
    st = result.status
    click.echo(f"{st.get('frames_processed', 0)} frames processed, {len(result.hotspots)} hotspots, "
               f"mosaic took {st.get('mosaic_taken', 0)} skipped {st.get('mosaic_skipped', 0)}, "
               f"{st.get('dropped_no_pose', 0)} without telemetry, {st.get('frames_corrupt', 0)} corrupt "
               f"-> {result.out_dir}")


@cli.command("replay")
@click.argument("flight", type=existing_path(file_okay=False))
@click.option("--mavlink", default="udpout:127.0.0.1:14550", show_default=True,
              help="Where the telemetry goes ('none': nowhere).")
@click.option("--frames-to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the stills into, each atomically at its capture time.")
@click.option("--video-to", default=None, help="Serve the video as MJPEG at http://HOST:PORT/PATH.")
@click.option("--speed", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="Times faster than real time.")
@click.option("--drop-telemetry", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Fraction of MAVLink records lost (fault injection).")
@click.option("--gap", "gaps", multiple=True, help="Telemetry silent START:DURATION (flight seconds from the "
              "first record); repeatable.")
@click.option("--corrupt-frame", "corrupt_frames", type=click.IntRange(min=1), multiple=True,
              help="Deliver still number N damaged; repeatable.")
@click.option("--video-drop", "video_drops", multiple=True, help="Video server down START:DURATION; repeatable.")
@click.option("--trim", "trim_s", type=click.FloatRange(min=0.0), default=None,
              help="Play telemetry only from this many seconds before the first frame to after the last.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the packet loss.")
def replay_cmd(flight: Path, mavlink: str, gaps: tuple[str, ...], video_drops: tuple[str, ...],
               corrupt_frames: tuple[int, ...], **options: Any) -> None:
    """Play FLIGHT (recorded or simulated) as the drone would send it."""
    from dronepipe.stream.replay import replay
    from dronepipe.stream.replay_plan import ReplayConfig

    config = ReplayConfig(flight, mavlink=None if mavlink.lower() == "none" else mavlink,
                          gaps=_windows(gaps, "--gap"), video_drops=_windows(video_drops, "--video-drop"),
                          corrupt_frames=tuple(corrupt_frames), **options)
    r = replay(config)
    click.echo(f"replayed in {r.seconds:.1f} s: {r.records_sent} MAVLink records sent "
               f"({r.records_lost} lost, {r.records_in_gaps} in gaps), {r.stills} stills "
               f"({r.stills_corrupt} damaged), {r.video_frames} video frames")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dronepipe")


if __name__ == "__main__":  # pragma: no cover
    main()
