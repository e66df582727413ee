"""Helpers of the live-mode tests: a tiny simulated flight (made once per session, kept
in pytest's base temp folder) and a loopback replay -> live run."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from dronepipe.stream.config import LiveConfig
from dronepipe.stream.mjpeg import free_port
from dronepipe.stream.products import LiveResult
from dronepipe.stream.replay import ReplayResult, replay
from dronepipe.stream.replay_plan import ReplayConfig
from dronepipe.stream.run import run_live


def simulate_tiny(out: Path) -> Path:
    """12 stills of 160x128 at 40 m, one fire and two ember nests, 2 s of video."""
    from dronepipe.sim import HotspotCounts, SimConfig, simulate
    from dronepipe.sim.config import ErrorConfig, default_thermal

    if (out / "truth" / "flight.json").is_file():
        return out
    cfg = SimConfig(frames=12, height_m=40.0, thermal=default_thermal().resized(160, 128),
                    rgb=None, video_s=2.0, world_cell_m=0.1, truth_cell_m=0.2,
                    write_dataflash=False, hotspots=HotspotCounts(1, 2, 0, 0), speed_m_s=8.0,
                    errors=replace(ErrorConfig(), drop_rate=0.0))
    simulate(cfg, out)
    return out


@pytest.fixture()
def tiny_flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_tiny(tmp_path_factory.getbasetemp() / "live_tiny_flight")


@dataclass(frozen=True)
class LoopbackRun:
    """What a replay -> live run on loopback gave."""

    live: LiveResult
    replay: ReplayResult
    config: LiveConfig


def loopback_run(flight: Path, work: Path, *, video: bool = False, speed: float = 5.0,
                 live_options: dict[str, Any] | None = None,
                 replay_options: dict[str, Any] | None = None) -> LoopbackRun:
    """Replay ``flight`` into a live run on 127.0.0.1 (UDP MAVLink, watched folder,
    optionally the MJPEG video) until the live run is idle for 2 s; bounded in time."""
    port = free_port()
    vurl = f"http://127.0.0.1:{free_port()}/video.mjpg" if video else None
    cfg = LiveConfig(out_dir=work / "out", mavlink=f"udpin:127.0.0.1:{port}",
                     frames_dir=None if video else work / "in", video=vurl,
                     cameras=flight / "cameras.toml", exit_after_idle_s=2.0, latency_s=0.0,
                     **(live_options or {}))
    out: dict[str, Any] = {}
    stop = threading.Event()

    def live() -> None:
        try:
            out["live"] = run_live(cfg, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            out["error"] = exc

    th = threading.Thread(target=live, daemon=True)
    th.start()
    try:
        rcfg = ReplayConfig(flight, mavlink=f"udpout:127.0.0.1:{port}",
                            frames_to=None if video else work / "in", video_to=vurl, speed=speed,
                            trim_s=3.0, **(replay_options or {}))
        rep = replay(rcfg)
    finally:
        th.join(60.0)
        if th.is_alive():
            stop.set()
            th.join(30.0)
    if "error" in out:
        raise out["error"]
    return LoopbackRun(out["live"], rep, cfg)


def truth_targets(flight: Path, classes: tuple[str, ...] = ("fire", "ember_nest")) -> list[dict[str, Any]]:
    """The truth's hot objects of these classes that some thermal frame saw."""
    feats = json.loads((flight / "truth" / "hotspots.geojson").read_text())["features"]
    return [f["properties"] for f in feats
            if f["properties"]["class"] in classes and f["properties"]["seen_in_frames"] > 0]


def nearest_m(target: dict[str, Any], features: list[dict[str, Any]]) -> float:
    """Distance (m) from a truth object to the nearest hotspot feature (grid metres)."""
    return min((math.hypot(f["properties"]["easting_m"] - target["easting_m"],
                           f["properties"]["northing_m"] - target["northing_m"])
                for f in features), default=math.inf)
