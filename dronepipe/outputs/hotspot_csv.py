"""Hotspots as CSV: one row per hotspot, the columns of ``hotspot_table.COLUMNS``.

Comma-separated, UTF-8, a header row, decimal points (spreadsheet programs in German
locale import it with "comma" as separator). Empty cells where a value is unknown.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_table import COLUMNS, hotspot_properties
from dronepipe.thermal.hotspot import Hotspot


def hotspots_csv(hotspots: Sequence[Hotspot]) -> str:
    """The CSV text (header and one row per hotspot)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for h in hotspots:
        row = hotspot_properties(h)
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
    return buf.getvalue()


def write_hotspots_csv(path: str | Path, hotspots: Sequence[Hotspot]) -> Path:
    """Write the CSV to ``path`` atomically."""
    return write_atomic(path, hotspots_csv(hotspots))
