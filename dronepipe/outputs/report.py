"""``report.html``: the one-page situation picture (Lagebild) for incident command.

A single self-contained HTML file: the thermal mosaic as an embedded JPEG (data URI,
ironbow palette) inside an inline SVG with the numbered hotspot markers (one
coordinate system, so markers stay on their spots at any size and in print), a scale bar and grid
north, a legend, and the hotspot table (number, class, max C, area, MGRS, lat/lon,
first and last seen). CSS is inline, there are no external resources, scripts or
fonts, so it opens offline in any browser; an ``@page { size: A4 }`` print rule and
print styles fit it on one A4 page (portrait) for up to about 25 hotspots. A
non-radiometric input gets a red banner: relative values only.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from affine import Affine
from numpy.typing import NDArray

from dronepipe import __version__
from dronepipe.geodesy import UtmFrame, mgrs_of
from dronepipe.outputs.atomic import write_atomic
from dronepipe.outputs.hotspot_table import RELATIVE_NOTE, iso_utc
from dronepipe.outputs.palette import CLASS_RGB, colour_range, colourise, hex_rgb, jpeg_bytes
from dronepipe.thermal.hotspot import Hotspot, HotspotClass

Bounds = tuple[float, float, float, float]  # west, south, east, north (grid metres)


@dataclass(frozen=True, eq=False)
class ReportContext:
    """What the report says besides the hotspots.

    ``t_start_utc_s``/``t_end_utc_s``: the flight's time span (UTC seconds); ``epsg`` and
    ``bounds_m``: the surveyed area in the grid; ``overview_c``: the thermal mosaic
    (degrees C, NaN = no data) downsampled, with ``overview_transform`` mapping its pixel
    corners to grid metres; ``radiometric`` False puts the relative-values banner on the
    page; ``notes``: extra lines for the footer; ``max_image_px``: long side of the image.
    """

    title: str = "Thermal situation picture (Lagebild)"
    source: str | None = None
    radiometric: bool = True
    t_start_utc_s: float | None = None
    t_end_utc_s: float | None = None
    epsg: int | None = None
    bounds_m: Bounds | None = None
    overview_c: NDArray[np.float32] | None = None
    overview_transform: Affine | None = None
    notes: tuple[str, ...] = ()
    max_image_px: int = 1400
    generated_utc_s: float | None = None


_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; color: #111; margin: 12px; }
h1 { font-size: 15pt; margin: 0 0 4px 0; }
.meta { margin: 0 0 6px 0; color: #333; }
.meta span { margin-right: 14px; display: inline-block; }
.banner { background: #c00; color: #fff; font-weight: bold; padding: 5px 8px; margin: 4px 0; }
svg.map { display: block; width: 100%; max-width: 190mm; height: auto; border: 1px solid #888; }
.legend { margin: 4px 0 6px 0; font-size: 9pt; }
.legend .sw { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
  border: 1px solid #fff; outline: 1px solid #555; margin: 0 3px 0 10px; vertical-align: -1px; }
.bar { display: inline-block; width: 120px; height: 10px; vertical-align: -1px; margin: 0 4px;
  background: linear-gradient(to right, #000000, #20008c, #9100a0, #dc3c28, #fa9600, #ffdc3c, #ffffff); }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #999; padding: 2px 4px; text-align: left; }
th { background: #eee; }
td.num { text-align: right; }
tr { page-break-inside: avoid; }
.foot { margin-top: 6px; font-size: 8pt; color: #444; }
@media print {
  body { margin: 0; font-size: 9pt; }
  svg.map { max-height: 150mm; }
}
"""


def _fmt_time(t: float | None) -> str:
    text = iso_utc(t)
    return text.replace("T", " ") if text else "-"


def _image(ctx: ReportContext) -> tuple[str, int, int, Affine] | None:
    """The overview as a JPEG data URI, its size and its pixel-to-grid transform."""
    if ctx.overview_c is None or ctx.overview_transform is None or ctx.overview_c.size == 0:
        return None
    t = np.asarray(ctx.overview_c, dtype=np.float32)
    transform = ctx.overview_transform
    h, w = t.shape
    s = ctx.max_image_px / max(h, w)
    if s < 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        t = np.asarray(cv2.resize(t, size, interpolation=cv2.INTER_NEAREST), dtype=np.float32)
        transform = transform @ Affine.scale(w / size[0], h / size[1])
        h, w = t.shape
    lo, hi = colour_range(t)
    uri = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(colourise(t, lo, hi))).decode()
    return uri, w, h, transform


def _scale_bar(w: int, h: int, m_per_px: float) -> str:
    """SVG of a scale bar of a round length about a fifth of the image width."""
    target = w * m_per_px / 5.0
    step = 10 ** math.floor(math.log10(max(target, 1e-6)))
    length = max(s * step for s in (1, 2, 5) if s * step <= target) if target >= step else step
    px = length / m_per_px
    x0, y0, fs = 0.03 * w, 0.95 * h, max(10.0, 0.022 * w)
    label = f"{length:g} m"
    return (f'<rect x="{x0 - 4:.1f}" y="{y0 - fs - 8:.1f}" width="{px + 8:.1f}" '
            f'height="{fs + 14:.1f}" fill="#fff" fill-opacity="0.75"/>'
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{px:.1f}" height="{fs * 0.35:.1f}" fill="#000"/>'
            f'<text x="{x0:.1f}" y="{y0 - 3:.1f}" font-size="{fs:.1f}">{label}</text>'
            f'<text x="{w - fs * 1.6:.1f}" y="{fs * 1.6:.1f}" font-size="{fs * 1.2:.1f}" '
            f'font-weight="bold" fill="#fff" stroke="#000" stroke-width="0.6">N&#8593;</text>')


def _markers(hotspots: Sequence[Hotspot], w: int, h: int, transform: Affine) -> str:
    """SVG circles with the hotspot numbers at their grid positions."""
    inv = ~transform
    r = max(7.0, 0.014 * max(w, h))
    out = []
    for hs in hotspots:
        col, row = inv @ (hs.easting_m, hs.northing_m)
        colour = hex_rgb(CLASS_RGB[hs.kind.value])
        out.append(f'<g><circle cx="{col:.1f}" cy="{row:.1f}" r="{r:.1f}" fill="{colour}" '
                   f'stroke="#fff" stroke-width="{r * 0.22:.1f}"/>'
                   f'<text x="{col:.1f}" y="{row + r * 0.42:.1f}" font-size="{r * 1.15:.1f}" '
                   f'text-anchor="middle" font-weight="bold" fill="#000">{hs.id}</text></g>')
    return "".join(out)


def _figure(hotspots: Sequence[Hotspot], ctx: ReportContext) -> str:
    img = _image(ctx)
    if img is None:
        return '<p class="meta">No mosaic image available.</p>'
    uri, w, h, transform = img
    lo, hi = colour_range(np.asarray(ctx.overview_c, dtype=np.float32))
    unit = "C" if ctx.radiometric else "(relative)"
    m_per_px = abs(transform.a)
    svg = (f'<svg class="map" viewBox="0 0 {w} {h}" role="img" aria-label="thermal mosaic" '
           f'font-family="Arial, sans-serif"><image href="{uri}" x="0" y="0" width="{w}" '
           f'height="{h}"/>{_scale_bar(w, h, m_per_px)}{_markers(hotspots, w, h, transform)}</svg>')
    swatches = "".join(f'<span class="sw" style="background:{hex_rgb(CLASS_RGB[k.value])}"></span>'
                       f'{html.escape(k.label)} ({html.escape(k.label_de)})' for k in HotspotClass)
    legend = (f'<div class="legend">{lo:.0f} {unit}<span class="bar"></span>{hi:.0f} {unit}'
              f'{swatches}</div>')
    return f"{svg}{legend}"


def _area_text(ctx: ReportContext) -> str:
    if ctx.bounds_m is None or ctx.epsg is None:
        return "-"
    west, south, east, north = ctx.bounds_m
    lon, lat = UtmFrame(ctx.epsg).to_lonlat((west + east) / 2, (south + north) / 2)
    ha = (east - west) * (north - south) / 1e4
    return (f"{east - west:.0f} m x {north - south:.0f} m ({ha:.1f} ha) around "
            f"MGRS {mgrs_of(float(lat), float(lon), 4)}")


def _table(hotspots: Sequence[Hotspot], radiometric: bool) -> str:
    unit = "max C" if radiometric else "max (relative)"
    head = ("<tr><th>#</th><th>class</th><th>" + unit + "</th><th>area m2</th><th>MGRS</th>"
            "<th>lat, lon</th><th>+- m</th><th>frames</th><th>first seen (UTC)</th>"
            "<th>last seen (UTC)</th></tr>")
    rows = []
    for h in hotspots:
        rows.append(
            f'<tr class="hs-{h.kind.value}"><td class="num">{h.id}</td>'
            f"<td>{html.escape(h.kind.label)}</td><td class=\"num\">{h.max_c:.1f}</td>"
            f'<td class="num">{h.area_m2:.2f}</td><td>{html.escape(h.mgrs)}</td>'
            f"<td>{h.lat_deg:.6f}, {h.lon_deg:.6f}</td><td class=\"num\">{h.uncertainty_m:.1f}</td>"
            f'<td class="num">{h.n_frames}</td><td>{_fmt_time(h.first_seen_utc_s)}</td>'
            f"<td>{_fmt_time(h.last_seen_utc_s)}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="10">No hotspots found.</td></tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def situation_report_html(hotspots: Sequence[Hotspot], ctx: ReportContext) -> str:
    """The report as one HTML document string."""
    radiometric = ctx.radiometric and all(h.radiometric for h in hotspots)
    counts = ", ".join(f"{sum(h.kind is k for h in hotspots)} {k.label}" for k in HotspotClass)
    generated = ctx.generated_utc_s if ctx.generated_utc_s is not None else time.time()
    meta = (f'<p class="meta"><span><b>Flight:</b> {_fmt_time(ctx.t_start_utc_s)} to '
            f"{_fmt_time(ctx.t_end_utc_s)}</span><span><b>Area:</b> {html.escape(_area_text(ctx))}"
            f"</span><span><b>Hotspots:</b> {len(hotspots)} ({counts})</span></p>")
    banner = "" if radiometric else \
        f'<div class="banner">{html.escape(RELATIVE_NOTE.capitalize())}.</div>'
    notes = "".join(f"<br/>{html.escape(n)}" for n in ctx.notes)
    source = f"Source: {html.escape(ctx.source)}. " if ctx.source else ""
    foot = (f'<p class="foot">{source}Positions WGS84; MGRS/UTMREF to 1 m; +- m is the '
            f"one-sigma position uncertainty. Generated {_fmt_time(generated)} by dronepipe "
            f"{html.escape(__version__)}.{notes}</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{html.escape(ctx.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(ctx.title)}</h1>{meta}{banner}{_figure(hotspots, ctx)}"
            f"{_table(hotspots, radiometric)}{foot}</body></html>\n")


def write_situation_report(path: str | Path, hotspots: Sequence[Hotspot],
                           ctx: ReportContext = ReportContext()) -> Path:
    """Write ``report.html`` to ``path`` atomically."""
    return write_atomic(path, situation_report_html(hotspots, ctx))
