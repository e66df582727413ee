"""``dronepipe process`` on video: a simulated flight's thermal video with its tlog and
sidecar, and a synthetic DJI-style video with its SRT. Frames are sampled by ground
coverage, placed, registered and mosaicked like stills; the products say they hold
relative values, and the hot objects are where the truth puts them."""

from __future__ import annotations

import json
import math
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from dronepipe.cli import cli
from dronepipe.errors import DronepipeWarning
from dronepipe.evaluation.evaluate import evaluate
from dronepipe.flightlogs.records import Pose
from dronepipe.frames.mp4time import MP4_EPOCH_TO_UNIX_S, container_creation_time
from dronepipe.geodesy import UtmFrame
from dronepipe.outputs.cog import cog_problems
from dronepipe.pipeline.config import VideoOptions
from dronepipe.pipeline.videos import describe_video
from dronepipe.sim import HotspotCounts, SimConfig, simulate
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.cameras import KNOWN_CAMERAS, camera_from_spec
from dronepipe.stitching.georef import FlatGround, camera_pose, pixels_to_ground

SIM_FPS, SIM_SECONDS = 15.0, 6.0
CAMERA_OFFSET_S = 0.85  # the simulator's camera clock runs this far ahead of UTC


def _process(*args: str) -> dict[str, object]:
    res = CliRunner().invoke(cli, ["-q", "process", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _prov(out: Path) -> dict:
    return json.loads((out / "process.json").read_text())


# --------------------------------------------------------------- a simulated flight's video

@pytest.fixture(scope="module")
def sim_flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six thermal stills and a 6 s, 15 fps grey thermal video (0..150 C) along the first line."""
    cfg = SimConfig(seed=41, frames=6, height_m=40.0, rgb=None, video_s=SIM_SECONDS,
                    video_fps=SIM_FPS, truth_cell_m=0.2, world_cell_m=0.05,
                    hotspots=HotspotCounts(1, 3, 1, 1), write_dataflash=False)
    return Path(simulate(cfg, tmp_path_factory.mktemp("video_flight")).out_dir)


@pytest.fixture(scope="module")
def from_video(sim_flight: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flight processed from its video (named with --video; the stills time the clock)."""
    out = tmp_path_factory.mktemp("video_out")
    _process(str(sim_flight), "-o", str(out), "--video", str(sim_flight / "video" / "thermal.avi"))
    return out


def test_frames_are_sampled_by_coverage(from_video: Path) -> None:
    video = _prov(from_video)["video"]["videos"][0]
    s = video["sampling"]
    assert video["used"] and video["content"] == "thermal-gray"
    assert s["frames"] == SIM_FPS * SIM_SECONDS
    assert 4 <= s["picked"] <= s["frames"] / 6  # about 8 of 90: coverage, not every frame
    assert s["overlap_median"] == pytest.approx(0.8, abs=0.04) and s["overlap_min"] >= 0.7
    assert not list(from_video.glob(".video-frames*")), "decoded frames left behind"


def test_stills_time_the_video_and_are_set_aside(from_video: Path) -> None:
    prov = _prov(from_video)
    video = prov["video"]
    assert video["stills_set_aside"] == {"thermal": 6} and "stills first" in video["policy"]
    clock = video["videos"][0]["clock"]
    # camera events give -0.87 s (clock 0.85 s ahead, exposure 0.02 s after the trigger)
    assert clock["camera_clock_offset_s"] == pytest.approx(-CAMERA_OFFSET_S, abs=0.03)
    assert "stills' camera clock offset" in clock["how"]
    assert {p["id"].split("#")[0] for p in prov["placed"]} == {"thermal/thermal.avi"}


def test_mosaic_says_relative_values(from_video: Path) -> None:
    path = from_video / "ortho_thermal.tif"
    assert cog_problems(path) == []
    with rasterio.open(path) as ds:
        assert ds.tags()["RADIOMETRIC"] == "false" and ds.crs.to_epsg() == 32632
    assert _prov(from_video)["mosaics"]["thermal"]["radiometric"] is False
    assert _prov(from_video)["video"]["videos"][0]["radiometric"] is False
    report = (from_video / "report.html").read_text()
    assert 'class="banner"' in report and "from video thermal.avi" in report


def test_video_mosaic_is_where_the_truth_is(sim_flight: Path, from_video: Path) -> None:
    ev = evaluate(from_video, sim_flight / "truth")
    gnss = np.asarray(json.loads((sim_flight / "truth" / "flight.json").read_text())
                      ["errors_realised"]["gnss_mean_at_exposures_enu_m"][:2])
    assert ev.mosaic_rmse_m is not None and ev.mosaic_rmse_m < 1.0 + np.linalg.norm(gnss)
    assert ev.details["hotspot_recall_by_class"]["fire"] == 1.0
    assert ev.hotspot_error_p90_m is not None and ev.hotspot_error_p90_m < 3.0
    assert ev.temperature_mae_c is not None and ev.temperature_mae_c < 2.0  # 0.6 C grey steps


def test_video_alone_with_a_hand_offset(sim_flight: Path, tmp_path: Path) -> None:
    """No stills: the video in video/ is used by default, its own tlog, --time-offset."""
    flight = tmp_path / "flight"
    flight.mkdir()
    shutil.copytree(sim_flight / "video", flight / "video")
    shutil.copy(sim_flight / "cameras.toml", flight)
    out = tmp_path / "out"
    summary = _process(str(flight), "-o", str(out), "--time-offset", str(-CAMERA_OFFSET_S),
                       "--no-register")
    video = _prov(out)["video"]["videos"][0]
    assert video["why"] == "no thermal stills with a pose" and summary["placed"] >= 4
    assert video["found"]["telemetry"].endswith("(named by the sidecar)")
    assert "--time-offset" in video["clock"]["how"]
    ev = evaluate(out, sim_flight / "truth")
    assert ev.hotspot_error_p90_m is not None and ev.hotspot_error_p90_m < 3.0


def test_stills_win_by_default(sim_flight: Path, tmp_path: Path) -> None:
    _process(str(sim_flight), "-o", str(tmp_path), "--no-register")
    prov = _prov(tmp_path)
    video = prov["video"]["videos"][0]
    assert not video["used"] and "pass --video" in video["why"]
    assert prov["mosaics"]["thermal"]["radiometric"] is True
    assert all("#" not in p["id"] for p in prov["placed"])


# --------------------------------------------------------------- a DJI-style video with its SRT

LAT0, LON0, FPS, SECONDS, HEIGHT_M, SPEED = 49.4447, 7.7689, 10.0, 8.0, 30.0, 5.0
HOT_EN = (3.0, 20.0)  # the hot disk, metres east and north of the start point
WORLD_CELL_M, WORLD_HALF_M = 0.1, 60.0
T0 = datetime(2024, 8, 7, 12, 34, 24, 380_000, tzinfo=UTC).timestamp()


def _world(rng: np.random.Generator) -> np.ndarray:
    """Grey ground texture (levels 70..130) with a hot disk (250) of 0.8 m radius."""
    n = int(2 * WORLD_HALF_M / WORLD_CELL_M)
    tex = sum(cv2.GaussianBlur(rng.normal(size=(n, n)).astype(np.float32), (0, 0), s) * s
              for s in (3.0, 12.0))
    grey = 70.0 + 60.0 * (tex - tex.min()) / (tex.max() - tex.min())
    centre = (round((WORLD_HALF_M + HOT_EN[0]) / WORLD_CELL_M), round((WORLD_HALF_M - HOT_EN[1]) / WORLD_CELL_M))
    cv2.circle(grey, centre, round(0.8 / WORLD_CELL_M), 250.0, -1)
    return grey.astype(np.uint8)


def _frame(world: np.ndarray, pose: Pose, utm: UtmFrame, cam: CameraModel, e0: float, n0: float) -> np.ndarray:
    """The nadir view of the world from ``pose`` (through the pipeline's own geometry)."""
    u, v = np.meshgrid(np.linspace(0, cam.width - 1, 5), np.linspace(0, cam.height - 1, 5))
    g = pixels_to_ground(camera_pose(pose, utm), cam, u.ravel(), v.ravel(), FlatGround())
    col = (g[:, 0] - e0 + WORLD_HALF_M) / WORLD_CELL_M - 0.5
    row = (n0 + WORLD_HALF_M - g[:, 1]) / WORLD_CELL_M - 0.5
    h, _ = cv2.findHomography(np.stack([u.ravel(), v.ravel()], 1), np.stack([col, row], 1))
    return cv2.warpPerspective(world, h, (cam.width, cam.height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def _srt_entry(i: int, lat: float, lon: float) -> str:
    """One entry of the per-frame DJI layout (Mini 3 / Air 2S / M3 series)."""
    a, b = i / FPS, (i + 1) / FPS
    stamp = datetime.fromtimestamp(T0 + a, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def tc(t: float) -> str:
        return f"00:00:{int(t):02d},{round(t % 1 * 1000):03d}"
    return (f"{i + 1}\n{tc(a)} --> {tc(b)}\n<font size=\"28\">FrameCnt: {i + 1}, DiffTime: 100ms\n{stamp}\n"
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [latitude: {lat:.6f}] [longitude: {lon:.6f}] "
            f"[rel_alt: {HEIGHT_M:.3f} abs_alt: {HEIGHT_M + 235.0:.3f}] [gb_yaw: 0.0 gb_pitch: -90.0 gb_roll: 0.0] </font>\n\n")


@pytest.fixture(scope="module")
def dji_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DJI_0001.MP4 (640x512 grey, as an M30T thermal camera records) flown north at 5 m/s,
    30 m up, nadir, with DJI_0001.SRT beside it."""
    folder = tmp_path_factory.mktemp("dji")
    spec = next(s for s in KNOWN_CAMERAS if "M30T" in s.models and s.kind == "thermal")
    cam = camera_from_spec(spec, 640, 512, None)
    utm = UtmFrame.for_point(LON0, LAT0)
    e0, n0 = (float(x) for x in utm.to_grid(LON0, LAT0))
    world = _world(np.random.default_rng(7))
    writer = cv2.VideoWriter(str(folder / "DJI_0001.MP4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 512), False)
    srt = []
    for i in range(int(FPS * SECONDS)):
        lon, lat = (float(x) for x in utm.to_lonlat(e0, n0 - 10.0 + SPEED * i / FPS))
        pose = Pose(T0 + i / FPS, lat, lon, HEIGHT_M + 235.0, HEIGHT_M, 0.0, 0.0, 0.0, 0.0, -math.pi / 2, 0.0)
        writer.write(_frame(world, pose, utm, cam, e0, n0))
        srt.append(_srt_entry(i, lat, lon))
    writer.release()
    (folder / "DJI_0001.SRT").write_text("".join(srt), encoding="utf-8")
    return folder


def _hot_disk_check(out: Path, summary: dict[str, object], within_m: float) -> None:
    """The mosaic is relative and bright at the disk; a hotspot lies within ``within_m``."""
    with rasterio.open(out / "ortho_thermal.tif") as ds:
        assert ds.tags()["RADIOMETRIC"] == "false"
        values, transform, res = ds.read(1), ds.transform, ds.res[0]
    utm = UtmFrame.for_point(LON0, LAT0)
    e0, n0 = (float(x) for x in utm.to_grid(LON0, LAT0))
    hot_e, hot_n = e0 + HOT_EN[0], n0 + HOT_EN[1]
    col, row = ~transform @ (hot_e, hot_n)
    r = round(within_m / res)
    patch = values[round(row) - r:round(row) + r + 1, round(col) - r:round(col) + r + 1]
    assert np.nanmax(patch) > 90.0  # grey 250 of 0..100: the disk
    found = json.loads((out / "hotspots.geojson").read_text())["features"]
    en = [utm.to_grid(*f["geometry"]["coordinates"][:2]) for f in found]
    assert summary["hotspots"] >= 1 and min(math.hypot(e - hot_e, n - hot_n) for e, n in en) < within_m


def test_dji_video_with_srt(dji_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = _process("--video", str(dji_video / "DJI_0001.MP4"), "-o", str(out),
                       "--video-kind", "thermal-gray", "--span", "0:100", "--video-camera", "M30T")
    video = _prov(out)["video"]["videos"][0]
    assert video["found"]["telemetry"].endswith("(DJI SRT of the same name)")
    assert "share the aircraft's clock" in video["clock"]["how"]
    assert video["clock"]["start_s"] == pytest.approx(T0, abs=1e-3)
    assert "M30T" in video["camera"]
    assert 6 <= video["sampling"]["picked"] <= FPS * SECONDS / 5
    _hot_disk_check(out, summary, 1.0)


@pytest.mark.filterwarnings("ignore:lat/lon order of the SRT")  # the layout decides, as expected
def test_dji_srt_without_attitude_assumes_nadir(dji_video: Path, tmp_path: Path) -> None:
    """The Matrice 300 layout: one entry a second, stamps to the second, GPS(lat, lon) to
    4 decimals, no attitude: nadir along the track is assumed, and said."""
    folder = tmp_path / "m300"
    folder.mkdir()
    shutil.copy(dji_video / "DJI_0001.MP4", folder)
    utm = UtmFrame.for_point(LON0, LAT0)
    e0, n0 = (float(x) for x in utm.to_grid(LON0, LAT0))
    entries = []
    for i in range(int(SECONDS) + 1):
        lon, lat = (float(x) for x in utm.to_lonlat(e0, n0 - 10.0 + SPEED * i))
        stamp = datetime.fromtimestamp(int(T0) + i, UTC).strftime("%Y.%m.%d %H:%M:%S")
        entries.append(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n{stamp}\n"
                       f"GPS({lat:.4f},{lon:.4f},0.0M) BAROMETER:{HEIGHT_M:.1f}M\n\n")
    (folder / "DJI_0001.SRT").write_text("".join(entries), encoding="utf-8")
    out = tmp_path / "out"
    with pytest.warns(DronepipeWarning, match="nadir camera heading along the track is assumed"):
        summary = _process("--video", str(folder / "DJI_0001.MP4"), "-o", str(out), "--video-kind",
                           "thermal-gray", "--span", "0:100", "--video-camera", "M30T")
    prov = _prov(out)
    assert "ASSUMED" in prov["video"]["videos"][0]["clock"]["srt"]["attitude"]
    assert all(p["pose"]["source"].endswith("nadir assumed, yaw from track") for p in prov["placed"])
    _hot_disk_check(out, summary, 3.0)


# --------------------------------------------------------------- inputs and bad input

def test_container_creation_time(dji_video: Path, tmp_path: Path) -> None:
    """OpenCV leaves mvhd creation 0 (unset); a camera's stamp is read, and starts the video."""
    src = dji_video / "DJI_0001.MP4"
    assert container_creation_time(src) is None
    data = bytearray(src.read_bytes())
    at = data.index(b"mvhd") + 8  # version/flags, then creation time (u32, since 1904)
    data[at:at + 4] = struct.pack(">I", int(T0) + MP4_EPOCH_TO_UNIX_S)
    stamped = tmp_path / "DJI_0002.MP4"
    stamped.write_bytes(bytes(data))
    assert container_creation_time(stamped) == int(T0)
    video = describe_video(stamped, VideoOptions(), flight_log=None, explicit=True)
    assert video.start_camera_s == int(T0) and video.content == "thermal"  # 640x512: thermal
    assert not video.start_zone_stated and video.telemetry is None


def test_video_without_telemetry_is_a_one_line_error(dji_video: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.mp4"
    shutil.copy(dji_video / "DJI_0001.MP4", lone)
    with pytest.warns(DronepipeWarning, match="1 of 1 videos cannot be used"):
        res = CliRunner().invoke(cli, ["process", "--video", str(lone), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "error: no frame could be given a pose" in res.output and "no telemetry" in res.output
