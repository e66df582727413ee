"""The command-centre page in headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): served with a token by a fake live view whose mosaic grows and whose hotspots
appear over time, the page must show numbered markers, an alert list (newest first),
the drone and the mosaic, and stay free of script errors. Then the whole chain: a
simulated flight replayed into ``dronepipe live`` on loopback with ``--serve`` and
``--cot``: the page opened during the replay shows every hotspot the run found, and the
CoT feed carries them and the drone.

Skips where Chromium, chromedriver or Selenium is absent. Set DRONEPIPE_SCREENSHOT to a
file path to keep a screenshot of the page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.server import ServerConfig, start_server
from dronepipe.thermal.hotspot import HotspotClass
from tests.stream.conftest import TOKEN
from tests.stream.fakeview import T0, FakeView, drone_over, feed, grid_around, make_hotspot

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs Debian's chromium and chromium-driver")
ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,800")
HOTSPOTS = [(1, HotspotClass.FIRE, 5.0, -5.0, 310.0), (2, HotspotClass.EMBER, -12.0, 6.0, 85.0),
            (3, HotspotClass.ANOMALY, 14.0, 9.0, 41.0), (4, HotspotClass.PERSON, 22.0, -8.0, 34.0)]


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM or ""
    for a in ARGS:
        opts.add_argument(a)
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER or "", log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def fly(view: FakeView, mosaic: Mosaic, stop: threading.Event) -> None:
    """The drone flies east, a frame every 0.4 s; a hotspot appears every other frame."""
    pending = list(HOTSPOTS)
    for i in range(40):
        if stop.wait(0.4):
            return
        gf = feed(mosaic, -20.0 + 2.0 * i, 0.0, i)
        view.set_mosaic(mosaic)
        view.put_drone(drone_over(gf, T0 + i, heading_deg=90.0))
        if i % 2 == 1 and pending:
            hid, kind, de, dn, max_c = pending.pop(0)
            view.put_hotspot(make_hotspot(hid, kind, de, dn, max_c, seen_s=float(i)))
        view.set_status(frames_received=i + 1, frames_mosaicked=i + 1)


def test_page_shows_hotspots_as_they_appear(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    view = FakeView()
    stop = threading.Event()
    with Mosaic(grid_around(), "thermal") as mosaic, \
            start_server(view, "127.0.0.1", 0, TOKEN, ServerConfig(heartbeat_s=2.0)) as handle:
        feed(mosaic, -22.0, 0.0, 99)
        view.set_mosaic(mosaic)
        flight = threading.Thread(target=fly, args=(view, mosaic, stop), daemon=True)
        flight.start()
        try:
            browser.get(handle.page_url)
            wait = WebDriverWait(browser, 60, poll_frequency=0.2)
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hs-marker")) >= 4)
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#alerts li")) >= 4)
            markers = {m.text: m.get_attribute("class")
                       for m in browser.find_elements(By.CSS_SELECTOR, ".hs-marker")}
            assert set(markers) == {"1", "2", "3", "4"}
            assert "cls-fire" in markers["1"] and "cls-person" in markers["4"]
            items = browser.find_elements(By.CSS_SELECTOR, "#alerts li")
            assert [li.get_attribute("data-id") for li in items] == ["4", "3", "2", "1"]
            assert "Person" in items[0].text and "32U" in items[0].text and "ago" in items[0].text
            assert "new" in (items[0].get_attribute("class") or "")
            assert browser.find_element(By.ID, "conn").text == "live"
            assert browser.find_element(By.ID, "drone").is_displayed()
            assert not browser.find_element(By.ID, "banner").is_displayed()
            wait.until(lambda d: d.execute_script(DRAWN_PIXELS) > 1000)   # mosaic tiles drawn
            browser.save_screenshot(os.environ.get("DRONEPIPE_SCREENSHOT")
                                    or str(tmp_path / "page.png"))
            errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
                      and "Uncaught" in e["message"]]
            assert errors == []
        finally:
            stop.set()
            flight.join(10)


def marker_ids_during_run(driver: Any, url: str, until: threading.Event) -> set[str]:
    """Open the page as soon as the server answers; the marker ids seen until ``until``."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 120.0
    while not until.is_set() and time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "status.json", timeout=1.0).close()
            break
        except OSError:
            time.sleep(0.1)
    driver.get(url)
    seen: set[str] = set()
    while not until.is_set() and time.monotonic() < deadline:
        seen |= {m.text for m in driver.find_elements(By.CSS_SELECTOR, ".hs-marker")}
        time.sleep(0.1)
    return seen


@pytest.mark.timeout(300)
def test_page_during_a_replay_shows_every_hotspot(browser: Any, tmp_path: Path) -> None:
    from dronepipe.stream.mjpeg import free_port
    from tests.stream.livesim import loopback_run, simulate_tiny

    flight = simulate_tiny(tmp_path.parent / "browser_tiny_flight")
    port = free_port()
    cot_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cot_rx.bind(("127.0.0.1", 0))
    cot_rx.settimeout(0.2)
    done = threading.Event()
    seen: dict[str, set[str]] = {}
    watcher = threading.Thread(target=lambda: seen.setdefault(
        "ids", marker_ids_during_run(browser, f"http://127.0.0.1:{port}/", done)), daemon=True)
    watcher.start()
    try:
        run = loopback_run(flight, tmp_path / "run", speed=2.0, live_options={
            "serve": ("127.0.0.1", port), "cot": f"udp://127.0.0.1:{cot_rx.getsockname()[1]}"})
    finally:
        done.set()
        watcher.join(30)
    uids = set()
    try:
        while True:
            uids.add(cot_rx.recv(65536).split(b'uid="')[1].split(b'"')[0].decode())
    except TimeoutError:
        pass
    finally:
        cot_rx.close()
    ids = {str(h.id) for h in run.live.hotspots}
    assert len(ids) >= 2
    assert seen.get("ids") == ids
    assert uids == {f"dronepipe.hotspot.{i}" for i in ids} | {"dronepipe.uav"}


DRAWN_PIXELS = """
const c = document.getElementById('tiles');
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let n = 0;
for (let i = 0; i < d.length; i += 4) { if (d[i + 3] === 255 && (d[i] + d[i + 1] + d[i + 2]) > 0) n++; }
return n;
"""
