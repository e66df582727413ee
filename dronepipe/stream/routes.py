"""What the live server answers: an explicit table of routes over a ``LiveView``.

Routes (GET and HEAD only; every path is matched whole against this table, nothing
from a request is ever used as a file name):

    /                               the command-centre page (text/html)
    /static/app.js, /static/app.css the page's script and style (from memory)
    /tiles/{z}/{x}/{y}.png          thermal mosaic tile (Web Mercator XYZ, 256 px PNG)
    /tiles/{kind}/{z}/{x}/{y}.png   kind = thermal | rgb
    /hotspots.geojson               every hotspot, as the batch hotspots.geojson
    /drone.json                     the drone's last state (null before telemetry)
    /status.json                    counters, mosaics, colour legend, radiometric flag
    /events                         Server-Sent Events (see ``sse``)

Tiles answer 404 for an impossible address (z > 24, x or y out of range), 204 where
there is no mosaic yet or the tile lies outside it, 304 for an unchanged ETag.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dronepipe.outputs.hotspot_geojson import hotspots_geojson
from dronepipe.outputs.palette import hex_rgb, ironbow_lut
from dronepipe.stream.payloads import drone_payload, json_bytes, mosaic_payload
from dronepipe.stream.thermal_span import ThermalSpan
from dronepipe.stream.tiles import KINDS, TileRenderer
from dronepipe.stream.view import LiveView
from dronepipe.stream.webassets import Asset, load_assets, page_html
from dronepipe.stream.webmercator import TileXYZ, valid_tile

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
NO_STORE = "no-store"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Response:
    """An answer: status, body, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EventStream:
    """The answer of ``/events``: the server streams the bus to the client."""


@dataclass(frozen=True)
class Request:
    """What a route sees of a request: path (raw, undecoded), query string, headers."""

    path: str
    query: str
    headers: Mapping[str, str] = field(default_factory=dict)


Answer = Response | EventStream
Handler = Callable[[Request, re.Match[str]], Answer]


def json_response(obj: Any, content_type: str = "application/json") -> Response:
    return Response(200, json_bytes(obj), content_type, (("Cache-Control", NO_STORE),))


class Routes:
    """The route table of one server over one ``LiveView`` (thread-safe)."""

    def __init__(self, view: LiveView, token: str | None, span: ThermalSpan,
                 tile_cache_bytes: int = 64 << 20) -> None:
        self.view = view
        self.token = token
        self.span = span
        self.tiles = TileRenderer(view, span, tile_cache_bytes)
        self.assets: dict[str, Asset] = load_assets()
        self.event_clients = 0
        self._lock = threading.Lock()
        self.table: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(r"/(?:index\.html)?"), self.page),
            (re.compile(r"/static/(app\.js|app\.css)"), self.static),
            (re.compile(r"/tiles/(?:(thermal|rgb)/)?(\d{1,2})/(\d{1,9})/(\d{1,9})\.png"),
             self.tile),
            (re.compile(r"/hotspots\.geojson"), self.hotspots),
            (re.compile(r"/drone\.json"), self.drone),
            (re.compile(r"/status\.json"), self.status),
            (re.compile(r"/events"), self.events),
        ]

    def dispatch(self, req: Request) -> Answer:
        """The answer of the first route matching the whole path; 404 where none does."""
        for pattern, handler in self.table:
            m = pattern.fullmatch(req.path)
            if m is not None:
                return handler(req, m)
        return Response(404, b"not found\n", "text/plain; charset=utf-8")

    # -- the page --------------------------------------------------------------------
    def page(self, req: Request, m: re.Match[str]) -> Answer:
        index = self.assets["index.html"]
        return Response(200, page_html(index, self.token), index.content_type,
                        (("Cache-Control", NO_STORE), ("Content-Security-Policy", CSP)))

    def static(self, req: Request, m: re.Match[str]) -> Answer:
        asset = self.assets[m.group(1)]
        if req.headers.get("If-None-Match") == asset.etag:
            return Response(304, headers=(("ETag", asset.etag),))
        return Response(200, asset.body, asset.content_type,
                        (("Cache-Control", REVALIDATE), ("ETag", asset.etag)))

    # -- data ------------------------------------------------------------------------
    def tile(self, req: Request, m: re.Match[str]) -> Answer:
        kind = m.group(1) or "thermal"
        t = TileXYZ(int(m.group(2)), int(m.group(3)), int(m.group(4)))
        if not valid_tile(t):
            return Response(404, b"no such tile\n", "text/plain; charset=utf-8")
        tile = self.tiles.render(kind, t)
        if tile is None:
            return Response(204, headers=(("Cache-Control", REVALIDATE),))
        headers = (("Cache-Control", REVALIDATE), ("ETag", tile.etag))
        if req.headers.get("If-None-Match") == tile.etag:
            return Response(304, headers=headers)
        return Response(200, tile.png, "image/png", headers)

    def hotspots(self, req: Request, m: re.Match[str]) -> Answer:
        return json_response(hotspots_geojson(self.view.hotspots()), "application/geo+json")

    def drone(self, req: Request, m: re.Match[str]) -> Answer:
        d = self.view.drone()
        return json_response(None if d is None else drone_payload(d))

    def status(self, req: Request, m: re.Match[str]) -> Answer:
        return json_response(self.status_payload())

    def status_payload(self) -> dict[str, Any]:
        """Counters of the live processing, the mosaics, the thermal legend, whether
        values are radiometric (the processing's own ``radiometric`` status flag where it
        reports one, else every hotspot and the thermal mosaic's frames), the server's
        clock (UTC s) and event clients."""
        live = dict(self.view.status())
        mosaics = {k: mosaic_payload(mo) for k in KINDS if (mo := self.view.mosaic(k)) is not None}
        lo, hi = self.span.current(self.view.mosaic("thermal"))
        radiometric = live.get("radiometric")
        if not isinstance(radiometric, bool):
            thermal = self.view.mosaic("thermal")
            radiometric = all(h.radiometric for h in self.view.hotspots()) and \
                (thermal is None or thermal.n_frames == 0 or thermal.radiometric)
        lut = ironbow_lut()
        return {
            "time_utc_s": time.time(), "live": live, "mosaics": mosaics,
            "radiometric": radiometric, "event_clients": self.event_clients,
            "legend": {"lo_c": lo, "hi_c": hi, "adaptive": self.span.adaptive,
                       "unit": "°C" if radiometric else "relative",
                       "colours": [hex_rgb(tuple(int(v) for v in lut[i]))  # type: ignore[arg-type]
                                   for i in range(0, 256, 17)]},
        }

    def events(self, req: Request, m: re.Match[str]) -> Answer:
        return EventStream()

    # -- event-stream client accounting ----------------------------------------------
    def enter_event_client(self, limit: int) -> bool:
        """Count one more event-stream client, unless ``limit`` are connected already."""
        with self._lock:
            if self.event_clients >= limit:
                return False
            self.event_clients += 1
            return True

    def leave_event_client(self) -> None:
        with self._lock:
            self.event_clients -= 1
