"""The live server against a fake LiveView: routes, tiles, GeoJSON, access, read-only,
no file-system access from requests, and the event stream with clients that go away."""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dronepipe.errors import DronepipeError
from dronepipe.geodesy import UtmFrame
from dronepipe.outputs.hotspot_geojson import write_hotspots_geojson
from dronepipe.outputs.palette import colourise
from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.access import check_bind
from dronepipe.stream.payloads import drone_payload
from dronepipe.stream.server import ServerConfig, ServerHandle, start_server
from dronepipe.stream.webmercator import TILE_PX, TileXYZ, pixel_lonlat, tile_of
from dronepipe.thermal.hotspot import HotspotClass
from tests.stream.conftest import TOKEN, get, raw_request
from tests.stream.fakeview import FakeView, feed, grid_around, make_hotspot
from tests.stream.sseclient import SseClient


def png(body: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(body))
    assert img.format == "PNG"
    return np.asarray(img.convert("RGBA"))


def fire_tile(view: FakeView, z: int = 19) -> TileXYZ:
    h = view.hotspots()[0]
    x, y = tile_of(h.lon_deg, h.lat_deg, z)
    return TileXYZ(z, int(x), int(y))


# -- routes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "ctype"), [
    ("/", "text/html"), ("/index.html", "text/html"),
    ("/static/app.js", "text/javascript"), ("/static/app.css", "text/css"),
    ("/hotspots.geojson", "application/geo+json"), ("/status.json", "application/json"),
    ("/drone.json", "application/json"),
])
def test_every_route_answers_with_its_type_and_security_headers(server: ServerHandle, path: str,
                                                                 ctype: str) -> None:
    r = get(server, path)
    assert r.status == 200
    assert r.headers["content-type"].startswith(ctype)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in r.headers
    assert "cache-control" in r.headers
    assert int(r.headers["content-length"]) == len(r.body) > 0
    head = get(server, path, "HEAD")
    assert head.status == 200 and head.body == b""
    if path != "/status.json":   # its clock reading changes the length
        assert head.headers["content-length"] == r.headers["content-length"]


def test_unknown_paths_are_404(server: ServerHandle) -> None:
    for path in ("/nope", "/static/", "/static/other.js", "/tiles/1/2.png", "/events/x",
                 "/hotspots.geojson/", "/status.json.bak", "/INDEX.HTML"):
        assert get(server, path).status == 404, path


def test_page_is_self_contained_and_locked_down(server: ServerHandle) -> None:
    r = get(server, "/")
    html = r.body.decode()
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert 'src="static/app.js"' in html and 'href="static/app.css"' in html
    for name in ("/", "/static/app.js", "/static/app.css"):
        text = get(server, name).body.decode()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), \
            f"{name} refers to another host"
        assert "@import" not in text and "fonts." not in text


def test_static_assets_revalidate_by_etag(server: ServerHandle) -> None:
    r = get(server, "/static/app.js")
    again = get(server, "/static/app.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status == 304 and again.body == b""


def test_geojson_equals_the_batch_file(server: ServerHandle, view: FakeView, tmp_path: Path) -> None:
    batch = json.loads(write_hotspots_geojson(tmp_path / "h.geojson", view.hotspots())
                       .read_text(encoding="utf-8"))
    live = json.loads(get(server, "/hotspots.geojson").body)
    assert live == batch
    assert [f["id"] for f in live["features"]] == [1, 2, 3]


def test_drone_and_status_json(server: ServerHandle, view: FakeView) -> None:
    drone = view.drone()
    assert drone is not None
    assert json.loads(get(server, "/drone.json").body) == json.loads(json.dumps(drone_payload(drone)))
    s = json.loads(get(server, "/status.json").body)
    assert s["live"] == {"frames_received": 3, "frames_mosaicked": 3}
    assert s["radiometric"] is True
    assert set(s["mosaics"]) == {"thermal", "rgb"}
    w, so, e, n = s["mosaics"]["thermal"]["bounds_lonlat"]
    assert w < drone.lon_deg < e and so < drone.lat_deg < n
    lg = s["legend"]
    assert lg["adaptive"] is True and lg["lo_c"] <= 20.0 and lg["hi_c"] >= 200.0  # waves 20..40 C, fire
    assert len(lg["colours"]) == 16 and lg["unit"] == "°C"


def test_drone_json_is_null_before_telemetry() -> None:
    with start_server(FakeView(), "127.0.0.1", 0) as handle:
        assert get(handle, "/drone.json").body == b"null"
        assert get(handle, "/tiles/19/1/1.png").status == 204
        assert json.loads(get(handle, "/hotspots.geojson").body)["features"] == []


def test_status_flags_a_non_radiometric_mosaic() -> None:
    v = FakeView()
    with Mosaic(grid_around(), "thermal") as m, start_server(v, "127.0.0.1", 0) as handle:
        v.set_mosaic(m)
        assert json.loads(get(handle, "/status.json").body)["radiometric"] is True
        feed(m, 0.0, 0.0, 0, radiometric=False)   # grey levels mapped to a span
        s = json.loads(get(handle, "/status.json").body)
        assert s["radiometric"] is False and s["mosaics"]["thermal"]["radiometric"] is False


def test_status_flags_non_radiometric_hotspots(view: FakeView) -> None:
    view.put_hotspot(make_hotspot(4, HotspotClass.ANOMALY, 0.0, 0.0, 40.0, radiometric=False))
    with start_server(view, "127.0.0.1", 0) as handle:
        s = json.loads(get(handle, "/status.json").body)
        assert s["radiometric"] is False and s["legend"]["unit"] == "relative"


# -- tiles -------------------------------------------------------------------------------
def test_thermal_tile_shows_the_mosaic_and_is_transparent_elsewhere(server: ServerHandle,
                                                                     view: FakeView) -> None:
    t = fire_tile(view, 18)
    r = get(server, f"/tiles/{t.z}/{t.x}/{t.y}.png")
    assert r.status == 200 and r.headers["content-type"] == "image/png"
    rgba = png(r.body)
    assert rgba.shape == (TILE_PX, TILE_PX, 4)
    alpha = rgba[..., 3]
    assert (alpha == 255).sum() > 1000 and (alpha == 0).sum() > 1000   # data and no data
    # the pixels are the mosaic's values at their centres, coloured over the legend's span
    mosaic = view.mosaic("thermal")
    assert mosaic is not None
    lo_hi = json.loads(get(server, "/status.json").body)["legend"]
    lon, lat = pixel_lonlat(t, np.arange(TILE_PX) + 0.5)
    e, n = UtmFrame(mosaic.grid.epsg).to_grid(*np.meshgrid(lon, lat))
    values = mosaic.sample(e, n)[0]
    seen = np.isfinite(values)
    assert np.array_equal(seen, alpha == 255)
    expect = colourise(values, lo_hi["lo_c"], lo_hi["hi_c"])
    agree = np.all(expect[seen] == rgba[..., :3][seen], axis=-1).mean()
    assert agree > 0.999   # lattice interpolation may pick the neighbour cell on a boundary


def test_fire_is_the_hottest_spot_of_its_tile(server: ServerHandle, view: FakeView) -> None:
    t = fire_tile(view, 21)
    rgba = png(get(server, f"/tiles/thermal/{t.z}/{t.x}/{t.y}.png").body)
    h = view.hotspots()[0]
    fx, fy = tile_of(h.lon_deg, h.lat_deg, t.z)
    col, row = (fx - t.x) * TILE_PX, (fy - t.y) * TILE_PX
    brightness = rgba[..., :3].astype(int).sum(-1) * (rgba[..., 3] == 255)
    rr, cc = np.nonzero(brightness == brightness.max())   # the saturated core of the fire
    assert np.hypot(rr.mean() - row, cc.mean() - col) < 8   # z21 pixels are 5 cm: within 0.4 m


def test_rgb_tiles_and_default_kind(server: ServerHandle, view: FakeView) -> None:
    t = fire_tile(view, 18)
    rgb = png(get(server, f"/tiles/rgb/{t.z}/{t.x}/{t.y}.png").body)
    assert (rgb[..., 3] == 255).any() and (rgb[..., 3] == 0).any()
    default = get(server, f"/tiles/{t.z}/{t.x}/{t.y}.png").body
    assert default == get(server, f"/tiles/thermal/{t.z}/{t.x}/{t.y}.png").body


def test_tiles_outside_and_impossible(server: ServerHandle, view: FakeView) -> None:
    t = fire_tile(view, 18)
    assert get(server, f"/tiles/{t.z}/{t.x + 50}/{t.y}.png").status == 204   # elsewhere
    assert get(server, f"/tiles/{t.z}/{2 ** t.z}/{t.y}.png").status == 404   # x out of range
    assert get(server, "/tiles/25/0/0.png").status == 404
    assert get(server, f"/tiles/ir/{t.z}/{t.x}/{t.y}.png").status == 404
    assert get(server, f"/tiles/{t.z}/{t.x}/{t.y}.jpg").status == 404


def test_tile_etag_changes_when_the_mosaic_does(server: ServerHandle, view: FakeView) -> None:
    t = fire_tile(view, 18)
    path = f"/tiles/{t.z}/{t.x}/{t.y}.png"
    first = get(server, path)
    assert get(server, path, headers={"If-None-Match": first.headers["etag"]}).status == 304
    mosaic = view.mosaic("thermal")
    assert mosaic is not None
    feed(mosaic, 0.0, 10.0, 9)
    second = get(server, path, headers={"If-None-Match": first.headers["etag"]})
    assert second.status == 200 and second.headers["etag"] != first.headers["etag"]


# -- access --------------------------------------------------------------------------------
def test_non_loopback_binding_needs_a_token(view: FakeView) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(DronepipeError, match="token"):
            start_server(view, host, 0, None)
    with pytest.raises(DronepipeError, match="at least"):
        start_server(view, "127.0.0.1", 0, "short")
    check_bind("192.168.1.10", TOKEN)   # accepted (not bound here: loopback only in tests)


def test_token_is_checked_on_every_request(view: FakeView) -> None:
    paths = ["/", "/static/app.js", "/hotspots.geojson", "/status.json", "/drone.json",
             "/tiles/18/1/1.png", "/events", "/nope"]
    with start_server(view, "127.0.0.1", 0, TOKEN) as handle:
        assert handle.page_url.endswith("?token=" + TOKEN)
        for p in paths:
            assert get(handle, p).status == 401, p
            assert get(handle, p, headers={"Authorization": "Bearer wrong-token-xxxxx"}).status == 401
            assert get(handle, p + "?token=" + TOKEN[:-1]).status == 401
            assert get(handle, p, "POST").status == 401
        assert get(handle, "/status.json", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
        page = get(handle, f"/?token={TOKEN}")
        assert page.status == 200
        # the page hands the token on to its script and style sheet
        assert f"static/app.js?token={TOKEN}" in page.body.decode()
        assert get(handle, f"/static/app.js?token={TOKEN}").status == 200


def test_loopback_server_refuses_foreign_host_names(server: ServerHandle) -> None:
    assert get(server, "/status.json", headers={"Host": "evil.example:8080"}).status == 403
    assert get(server, "/status.json", headers={"Host": f"localhost:{server.port}"}).status == 200


# -- read-only and the file system ---------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_only_get_and_head(server: ServerHandle, method: str) -> None:
    r = get(server, "/hotspots.geojson", method, body=b'{"x": 1}')
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"
    assert get(server, "/hotspots.geojson").status == 200


TRAVERSALS = [
    "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%252e%252e%252fetc%252fpasswd",
    "/static/app.js/../../../../etc/passwd", "/..%2f..%2f..%2fetc/passwd", "//etc/passwd",
    "/static/..\\..\\..\\etc\\passwd", "/static/%c0%ae%c0%ae/etc/passwd",
    "/tiles/../../../etc/passwd", "/static/./app.js", "/static//app.js", "/static/app.js%00.png",
    "/etc/passwd", "/../dronepipe/stream/web/app.js", "/web/app.js", "/static/index.html",
]


def test_path_traversal_gets_404_and_never_opens_a_file(server: ServerHandle) -> None:
    opened: list[tuple[str, object]] = []
    watching = threading.Event()
    main = threading.get_ident()

    def audit(event: str, args: tuple[object, ...]) -> None:
        if watching.is_set() and threading.get_ident() != main and \
                event in ("open", "os.listdir", "os.scandir", "os.chdir"):
            opened.append((event, args[0] if args else None))

    for path in ("/", "/static/app.js", "/nope"):   # warm up: lazy imports may open files
        get(server, path)
    sys.addaudithook(audit)   # cannot be removed; inert once ``watching`` is cleared
    watching.set()
    try:
        for path in TRAVERSALS:
            status, data = raw_request(server, f"GET {path} HTTP/1.1")
            assert status == 404, (path, data[:200])
            assert b"root:" not in data
    finally:
        watching.clear()
    assert opened == []


# -- the event stream ----------------------------------------------------------------------
def test_events_arrive_in_order_with_ids_and_heartbeats(server: ServerHandle, view: FakeView) -> None:
    client = SseClient(server.port)
    try:
        assert client.status == 200 and "text/event-stream" in client.head
        assert client.next().data is None   # retry: ...
        published = []
        for i in range(60):
            kind = ("hotspot", "drone", "mosaic", "status")[i % 4]
            published.append(view.events.publish(kind, {"i": i, "kind": kind}))
        got = [client.next_event() for _ in published]
        assert [m.event for m in got] == [e.type for e in published]
        assert [int(m.id or 0) for m in got] == [e.seq for e in published]
        assert [json.loads(m.data or "") for m in got] == [dict(e.data) for e in published]
        # nothing published for a while: a heartbeat comment keeps the connection alive
        assert client.next(timeout_s=5.0).comment == "heartbeat"
    finally:
        client.close()


def test_a_client_that_vanishes_mid_stream_breaks_nothing(server: ServerHandle, view: FakeView) -> None:
    stays, leaves = SseClient(server.port), SseClient(server.port)
    try:
        for i in range(20):
            view.events.publish("hotspot", {"i": i, "pad": "x" * 2000})
        leaves.next_event()
        leaves.reset()   # killed tab: RST with unread data
        for i in range(20, 400):
            view.events.publish("hotspot", {"i": i, "pad": "x" * 2000})
        seen = [json.loads(stays.next_event().data or "")["i"] for _ in range(400)]
        assert seen == list(range(400))
        assert get(server, "/status.json").status == 200
        deadline = time.monotonic() + 10.0   # the vanished client's thread unsubscribes
        while server.routes.event_clients != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.routes.event_clients == 1
        assert len(view.events._subs) == 1
    finally:
        stays.close()


def test_a_client_that_stops_reading_loses_old_events_not_the_server(view: FakeView) -> None:
    cfg = ServerConfig(heartbeat_s=0.3, socket_timeout_s=2.0)
    with start_server(view, "127.0.0.1", 0, None, cfg) as handle:
        stalled = SseClient(handle.port)
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for i in range(3000):   # ~6 MB: far more than the socket buffers and the queue hold
            view.events.publish("hotspot", {"i": i, "pad": "y" * 2000})
        assert get(handle, "/status.json").status == 200
        fresh = SseClient(handle.port)
        fresh.next()
        view.events.publish("drone", {"after": True})
        assert json.loads(fresh.next_event().data or "") == {"after": True}
        fresh.close()
        stalled.close()


def test_event_clients_are_limited_and_close_ends_streams(view: FakeView) -> None:
    handle = start_server(view, "127.0.0.1", 0, None, ServerConfig(max_event_clients=2))
    a, b = SseClient(handle.port), SseClient(handle.port)
    third = get(handle, "/events")
    assert third.status == 503
    handle.close()
    for c in (a, b):
        with pytest.raises((EOFError, ConnectionResetError)):
            for _ in range(10):
                c.next(timeout_s=5.0)
        c.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("dronepipe-http")
                or "process_request_thread" in t.name]
