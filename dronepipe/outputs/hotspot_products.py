"""All hotspot products of a run in one call: what incident command gets.

``write_hotspot_products(out_dir, hotspots, ctx)`` writes, each atomically:
``hotspots.geojson`` (points, RFC 7946), ``hotspot_footprints.geojson`` (polygons),
``hotspots.csv``, ``hotspots.kmz`` (Google Earth, ATAK), ``hotspots.cot.xml`` (one CoT
event per hotspot, for TAK) and ``report.html`` (the one-page situation picture).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from dronepipe.outputs.hotspot_cot import write_hotspots_cot
from dronepipe.outputs.hotspot_csv import write_hotspots_csv
from dronepipe.outputs.hotspot_geojson import write_footprints_geojson, write_hotspots_geojson
from dronepipe.outputs.hotspot_kmz import write_hotspots_kmz
from dronepipe.outputs.report import ReportContext, write_situation_report
from dronepipe.thermal.hotspot import Hotspot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HotspotProducts:
    """Paths of the written products."""

    geojson: Path
    footprints: Path
    csv: Path
    kmz: Path
    cot: Path
    report: Path

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def write_hotspot_products(out_dir: str | Path, hotspots: Sequence[Hotspot],
                           ctx: ReportContext = ReportContext(), *,
                           uid_prefix: str = "dronepipe",
                           now_utc_s: float | None = None) -> HotspotProducts:
    """Write every hotspot product into ``out_dir`` (created if missing).

    ``uid_prefix`` makes the CoT uids unique per flight (TAK replaces markers with the
    same uid); ``now_utc_s`` fixes the CoT event time (default: the clock).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    products = HotspotProducts(
        geojson=write_hotspots_geojson(out / "hotspots.geojson", hotspots),
        footprints=write_footprints_geojson(out / "hotspot_footprints.geojson", hotspots),
        csv=write_hotspots_csv(out / "hotspots.csv", hotspots),
        kmz=write_hotspots_kmz(out / "hotspots.kmz", hotspots),
        cot=write_hotspots_cot(out / "hotspots.cot.xml", hotspots, now_utc_s=now_utc_s,
                               uid_prefix=uid_prefix),
        report=write_situation_report(out / "report.html", hotspots, ctx),
    )
    log.info("wrote %d hotspots to %s", len(hotspots), out)
    return products
