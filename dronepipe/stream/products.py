"""The products of a live run, written on exit: the same files as ``dronepipe process``.

``ortho_thermal.tif`` (and ``ortho_rgb.tif`` where RGB frames came) through
``Mosaic.finish``, cropped to the tiles with data; the hotspot files and
``report.html`` through ``outputs.write_hotspot_products``; ``process.json`` (what
came in, what was used, dropped or skipped and why, the counters) through
``outputs.atomic.write_atomic``. Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dronepipe import __version__
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_products import HotspotProducts, write_hotspot_products
from dronepipe.outputs.report import ReportContext
from dronepipe.pipeline.products import json_ready, report_context
from dronepipe.stitching.mosaic import MosaicProduct
from dronepipe.stream.processor import LiveProcessor
from dronepipe.thermal.hotspot import Hotspot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveResult:
    """What a live run wrote: mosaics by kind, the hotspots, their products,
    ``process.json`` and the final counters."""

    out_dir: Path
    mosaics: dict[str, MosaicProduct]
    hotspots: tuple[Hotspot, ...]
    hotspot_products: HotspotProducts | None
    provenance: Path
    status: dict[str, object]


def write_live_products(proc: LiveProcessor, out_dir: Path, source: str) -> LiveResult:
    """Write every product of a closed ``LiveProcessor`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mosaics: dict[str, MosaicProduct] = {}
    for kind, worker in proc.workers.items():
        product = worker.finish(out_dir / f"ortho_{kind}.tif")
        if product is not None:
            mosaics[kind] = product
    hotspots = proc.hotspots()
    status = proc.status()
    products = None
    if "thermal" in mosaics or hotspots:
        ctx = _context(source, mosaics.get("thermal"), hotspots, status)
        t0 = min((h.first_seen_utc_s for h in hotspots if h.first_seen_utc_s), default=0.0)
        products = write_hotspot_products(out_dir, hotspots, ctx,
                                          uid_prefix=f"dronepipe-live-{int(t0)}")
    prov = write_atomic(out_dir / "process.json", json.dumps(json_ready(
        _provenance(proc, source, mosaics, hotspots, products, status)), indent=1,
        allow_nan=False))
    log.info("live products in %s: %d hotspots, mosaics %s", out_dir, len(hotspots),
             ", ".join(mosaics) or "none")
    return LiveResult(out_dir, mosaics, tuple(hotspots), products, prov, status)


def _context(source: str, thermal: MosaicProduct | None, hotspots: list[Hotspot],
             status: dict[str, object]) -> ReportContext:
    notes = tuple(f"{status[k]} frames {what}" for k, what in (
        ("dropped_no_pose", "dropped without telemetry"), ("frames_corrupt", "corrupt"),
        ("mosaic_skipped", "skipped by the mosaic (detected all the same)")) if status.get(k))
    notes = ("live run",) + notes
    if thermal is not None:
        return report_context(source, thermal, notes)
    radiometric = all(h.radiometric for h in hotspots)
    return ReportContext(source=source, radiometric=radiometric, notes=notes)


def _provenance(proc: LiveProcessor, source: str, mosaics: dict[str, MosaicProduct],
                hotspots: list[Hotspot], products: HotspotProducts | None,
                status: dict[str, object]) -> dict[str, Any]:
    cfg = proc.config
    return {
        "software": {"name": "dronepipe", "version": __version__, "mode": "live"},
        "source": source,
        "options": {k: v for k, v in asdict(cfg).items() if k not in ("decode", "detection", "token")}
        | {"decode": asdict(cfg.decode), "detection": asdict(cfg.detection)},
        "status": status,
        "time_sources": dict(proc.time_sources),
        "camera_clock_offset_s": proc.timer.sync.offset_s,
        "frames": {"received": status.get("frames_received", 0),
                   "placed": len(proc.placed),
                   "dropped_no_pose": status.get("dropped_no_pose", 0),
                   "corrupt": status.get("frames_corrupt", 0)},
        "placed": proc.placed,
        "mosaics": {k: {"path": str(m.path), "epsg": m.grid.epsg, "gsd_m": m.grid.gsd_m,
                        "width": m.grid.width, "height": m.grid.height, "frames": m.n_frames,
                        "radiometric": m.radiometric} for k, m in mosaics.items()},
        "hotspots": {"count": len(hotspots), "files": products.as_dict() if products else {}},
    }
