"""The products of ``dronepipe process`` beside the mosaics: the hotspot files, the
situation report and ``process.json`` (what was used, what was rejected and why)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rasterio

from dronepipe import __version__
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_products import HotspotProducts, write_hotspot_products
from dronepipe.flightlogs.records import Pose
from dronepipe.outputs.report import ReportContext
from dronepipe.pipeline.loader import frame_id
from dronepipe.pipeline.video_frames import POLICY
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.mosaic import MosaicProduct
from dronepipe.thermal.hotspot import Hotspot
from dronepipe.thermal.ortho import read_overview as _overview

if TYPE_CHECKING:
    from dronepipe.pipeline.process import _Run


@dataclass(frozen=True)
class ProcessResult:
    """What ``process`` wrote: the mosaics by kind, the hotspots, the hotspot products,
    ``process.json``, and the counts of frames used and rejected."""

    out_dir: Path
    mosaics: dict[str, MosaicProduct]
    hotspots: tuple[Hotspot, ...]
    hotspot_products: HotspotProducts | None
    provenance: Path
    n_frames: int
    n_placed: int
    n_rejected: int


def write_products(run: _Run, hotspots: list[Hotspot]) -> ProcessResult:
    """Write the hotspot products and ``process.json`` for a finished run."""
    out = run.config.out_dir
    products = None
    thermal = run.mosaics.get("thermal")
    if thermal is not None:
        products = write_hotspot_products(out, hotspots, _report_context(run, thermal),
                                          uid_prefix=f"dronepipe-{_flight_tag(run)}")
    n_placed = sum(len(v) for v in run.geoframes.values())
    prov = write_atomic(out / "process.json",
                        json.dumps(json_ready(_provenance(run, hotspots, products)), indent=1,
                                   allow_nan=False))
    return ProcessResult(out, dict(run.mosaics), tuple(hotspots), products, prov,
                         len(run.frames), n_placed, len(run.rejected))


def _flight_tag(run: _Run) -> str:
    t = min((g.t_utc_s for gfs in run.geoframes.values() for g in gfs), default=0.0)
    return f"{int(t)}"


def _report_context(run: _Run, thermal: MosaicProduct) -> ReportContext:
    notes = tuple(f"{len(run.rejected)} frames not used (see process.json)"
                  for _ in [0] if run.rejected) + _video_notes(run)
    source = run.config.flight or (run.config.frames or run.config.video.paths or ("?",))[0]
    return report_context(str(source), thermal, notes)


def _video_notes(run: _Run) -> tuple[str, ...]:
    """One line per used video: how many frames, and that its values are relative."""
    notes = []
    for r in run.videos.reports if run.videos else ():
        if r.used:
            values = "relative values only, not temperatures" if r.kind == "thermal" else "colour"
            notes.append(f"{r.kind} from video {Path(r.path).name}: {r.sampling.get('picked')} of "
                         f"{r.sampling.get('frames')} frames sampled by ground coverage; {values}")
    return tuple(notes)


def report_context(source: str, thermal: MosaicProduct,
                   notes: tuple[str, ...] = ()) -> ReportContext:
    """What the situation report shows besides the hotspots, from the thermal mosaic
    file (its overview, area, time span); shared by the batch job and the live mode."""
    with rasterio.open(thermal.path) as src:
        overview, transform = _overview(src, 1400)
    g = thermal.grid
    return ReportContext(source=source, radiometric=thermal.radiometric,
                         t_start_utc_s=thermal.t_start_utc_s, t_end_utc_s=thermal.t_end_utc_s,
                         epsg=g.epsg, bounds_m=g.bounds_m, overview_c=overview,
                         overview_transform=transform, notes=notes)


def _provenance(run: _Run, hotspots: list[Hotspot],
                products: HotspotProducts | None) -> dict[str, Any]:
    cfg = run.config
    tel = run.telemetry
    poses = {frame_id(p.frame): p.pose for p in run.posed}
    return {
        "software": {"name": "dronepipe", "version": __version__},
        "options": {k: v for k, v in asdict(cfg).items() if k not in ("decode", "detection")}
        | {"decode": asdict(cfg.decode), "detection": asdict(cfg.detection)},
        "telemetry": None if tel is None else {
            "path": str(cfg.log), "time_source": tel.time_source,
            "camera_events": len(tel.camera_events)},
        "time_sync": run.sync,
        "frames": {"found": len(run.frames), "placed": sum(len(v) for v in run.geoframes.values()),
                   "rejected": len(run.rejected), "unreadable": len(run.unreadable)},
        "placed": [_geoframe_record(g, poses.get(g.frame_id))
                   for gfs in run.geoframes.values() for g in gfs],
        "rejected": [{"path": str(r.frame.path), "kind": r.frame.kind, "reason": r.reason}
                     for r in run.rejected]
        + [{"path": str(p), "kind": None, "reason": why} for p, why in run.unreadable],
        "ground": None if run.placement is None else {
            "height_ref": run.placement.height_ref, "epsg": run.placement.frame.epsg,
            "model": type(run.placement.ground).__name__},
        "registration": run.registration,
        "video": None if run.videos is None else {
            "policy": POLICY, "stills_set_aside": run.set_aside,
            "videos": [r.as_dict() for r in run.videos.reports]},
        "mosaics": {k: {"path": str(m.path), "epsg": m.grid.epsg, "gsd_m": m.grid.gsd_m,
                        "width": m.grid.width, "height": m.grid.height, "frames": m.n_frames,
                        "radiometric": m.radiometric} for k, m in run.mosaics.items()},
        "hotspots": {"count": len(hotspots),
                     "files": products.as_dict() if products else {}},
        "frame_cache": _cache_record(run),
        "timings_s": run.timings_s,
    }


def _cache_record(run: _Run) -> dict[str, Any]:
    """How the run's frames were loaded: decodes (``misses``), memory hits, frames read
    back from the spill folder (``restored``) and written to it (``spilled``); in this
    process (a worker process keeps its own counts)."""
    record: dict[str, Any] = asdict(run.decoded.stats)
    spill = run.decoded.spill
    record["spilled"] = 0 if spill is None else spill.counts["written"]
    return record


def _geoframe_record(gf: GeoFrame, posed: Pose | None) -> dict[str, Any]:
    c = gf.correction
    return {"id": gf.frame_id, "t_utc_s": gf.t_utc_s, "gsd_m": round(gf.gsd_m, 4),
            "camera": gf.camera.name,
            "pose": None if posed is None else {
                "lat_deg": posed.lat_deg, "lon_deg": posed.lon_deg, "alt_msl_m": posed.alt_msl_m,
                "alt_rel_m": posed.alt_rel_m, "yaw_deg": math.degrees(posed.yaw_rad),
                "source": posed.source},
            "correction": {"dx_m": c.dx_m, "dy_m": c.dy_m,
                           "dtheta_deg": math.degrees(c.dtheta_rad), "scale": c.scale}}


def json_ready(o: Any) -> Any:
    """JSON-ready: non-finite floats become null, arrays lists, paths and the rest text."""
    if isinstance(o, dict):
        return {str(k): json_ready(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_ready(v) for v in o]
    if hasattr(o, "tolist"):
        return json_ready(o.tolist())
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if o is None or isinstance(o, (bool, int, str)):
        return o
    return str(o)
