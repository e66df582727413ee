"""The flight folder reads back with the project's own readers, and says what it should."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import cv2
import numpy as np
import pytest
import rasterio
from PIL import ExifTags, Image

from dronepipe.flightlogs import read_telemetry
from dronepipe.geodesy import UtmFrame
from dronepipe.sim.config import SimConfig
from dronepipe.sim.simulator import SimResult
from dronepipe.stitching.cameras import load_camera_file
from dronepipe.thermal import decode_thermal
from tests.sim.conftest import out


def _truth_rows(res: SimResult, camera: str = "thermal") -> list[dict]:
    rows = json.loads((out(res) / "truth/poses.json").read_text())["frames"]
    return [r for r in rows if r["camera"] == camera]


@pytest.mark.parametrize("log", ["flight.tlog", "flight.bin"])
def test_logs_give_one_camera_event_per_frame_at_the_trigger_time(
        exact_flight: tuple[SimConfig, SimResult], log: str) -> None:
    cfg, res = exact_flight
    tel = read_telemetry(out(res) / log)
    events = tel.camera_events
    rows = _truth_rows(res)
    assert len(events) == cfg.frames == len(rows)
    assert [e.image_index for e in events] == list(range(1, cfg.frames + 1))
    assert [e.t_utc_s for e in events] == pytest.approx([r["t_trigger_utc_s"] for r in rows], abs=1e-3)
    frame = UtmFrame(32632)
    for e, r in zip(events, rows, strict=True):
        assert e.pose is not None
        east, north = frame.to_grid(e.pose.lon_deg, e.pose.lat_deg)
        # the event's position is the GNSS antenna's; the camera sits 0.15 m away
        assert math.hypot(float(east) - r["easting_m"], float(north) - r["northing_m"]) < 0.2
        assert e.pose.alt_rel_m == pytest.approx(cfg.height_m, abs=0.2)


def test_tlog_telemetry_is_exact_without_errors(exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    tel = read_telemetry(out(res) / "flight.tlog")
    for r in _truth_rows(res):
        pose = tel.pose_at(r["t_exposure_utc_s"])
        assert math.degrees(pose.gimbal_pitch_rad) == pytest.approx(r["gimbal_pitch_deg"], abs=0.01)
        assert math.degrees(pose.yaw_rad) == pytest.approx(r["vehicle_yaw_deg"], abs=0.05)
        assert pose.alt_rel_m == pytest.approx(cfg.height_m, abs=0.05)


def test_noisy_logs_carry_the_configured_errors(noisy_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = noisy_flight
    tlog = read_telemetry(out(res) / "flight.tlog")
    onboard = read_telemetry(out(res) / "flight.bin")
    assert len(onboard.camera_events) == cfg.frames          # the onboard log loses nothing
    # 10 % of the radio messages were lost: ATTITUDE is sent at 20 Hz over the whole log
    sent = 20.0 * (json.loads((out(res) / "truth/flight.json").read_text())["flight_duration_s"] + 20.0)
    assert 0.82 * sent < tlog.messages["ATTITUDE"] < 0.96 * sent
    assert len(tlog.camera_events) < cfg.frames or tlog.messages["CAMERA_FEEDBACK"] == cfg.frames
    assert tlog.firmware.startswith("ArduCopter V4.5.7")
    frame = UtmFrame(32632)
    d = []
    for e, r in zip(onboard.camera_events, _truth_rows(res), strict=True):
        east, north = frame.to_grid(e.pose.lon_deg, e.pose.lat_deg)
        d.append(math.hypot(float(east) - r["easting_m"], float(north) - r["northing_m"]))
    assert 0.05 < max(d) < 6.0      # a GNSS random walk of about 1 m


def test_thermal_tiffs_hold_centikelvin_of_the_true_temperatures(
        exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    root = out(res)
    row = _truth_rows(res)[2]
    raw = np.asarray(Image.open(root / row["file"]))
    assert raw.dtype == np.uint16 and raw.shape == (512, 640)
    img = decode_thermal(root / row["file"])
    assert img.radiometric
    np.testing.assert_allclose(img.celsius, raw / 100.0 - 273.15, atol=1e-3)
    # compare with the true temperature map under the frame's centre pixels
    from dronepipe.stitching.georef import CameraPose, FlatGround, pixels_to_ground
    pose = CameraPose(np.array([row["easting_m"], row["northing_m"], row["alt_rel_m"]]),
                      np.array([[row[f"r{i}{j}"] for j in range(3)] for i in range(3)]))
    u, v = np.meshgrid(np.arange(60, 580, 7.0), np.arange(60, 452, 7.0))
    pts = pixels_to_ground(pose, cfg.thermal.camera_model, u, v, FlatGround(0.0))
    with rasterio.open(root / "truth/temperature.tif") as ds:
        truth = np.array(list(ds.sample(pts[..., :2].reshape(-1, 2)))).ravel()
    seen = img.celsius[v.astype(int).ravel(), u.astype(int).ravel()]
    ok = (truth < 40) & (seen < 40)
    diff = np.abs(seen[ok] - truth[ok])
    # noise 50 mK, vignetting up to 0.3 C, blur and 0.2 m truth cells at edges
    assert np.median(diff) < 0.35
    assert 5.0 < np.median(seen[ok]) < 35.0


def test_exif_time_runs_on_the_camera_clock_with_gps(noisy_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = noisy_flight
    root = out(res)
    for kind in ("thermal", "rgb"):
        row = _truth_rows(res, kind)[1]
        img = decode_thermal(root / row["file"]) if kind == "thermal" else None
        exif = Image.open(root / row["file"]).getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert exif[0x010F] == "dronepipe-sim"
        assert sub[0x9011] == "+02:00" and len(sub[0x9291]) == 3
        assert sub[0x920A] == pytest.approx(
            (cfg.thermal if kind == "thermal" else cfg.rgb).focal_length_mm, abs=1e-3)  # type: ignore[union-attr]
        lat = gps[2][0] + gps[2][1] / 60 + gps[2][2] / 3600
        assert lat == pytest.approx(row["lat_deg"], abs=5e-5)        # GNSS error of metres
        if img is not None:
            assert img.meta.t_utc_s == pytest.approx(
                row["t_exposure_utc_s"] + cfg.errors.camera_clock_offset_s, abs=1.5e-3)
            assert img.meta.capture_time.utcoffset() == timedelta(hours=2)


def test_camera_file_reads_back_as_the_simulated_cameras(exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    entries = {e.kind: e for e in load_camera_file(out(res) / "cameras.toml")}
    for spec in cfg.cameras:
        e = entries[spec.kind]
        m = spec.camera_model
        assert (e.camera.width, e.camera.height) == (m.width, m.height)
        assert (e.camera.fx, e.camera.fy, e.camera.cx, e.camera.cy) == pytest.approx((m.fx, m.fy, m.cx, m.cy))
        assert e.camera.dist == pytest.approx(m.dist)
        mount = spec.mount(cfg.lever_arm_body_m)
        assert e.mount is not None
        assert e.mount.offset_gimbal_m == pytest.approx(mount.offset_gimbal_m)
        assert e.mount.boresight_rad == pytest.approx(mount.boresight_rad)
        assert e.mount.lever_arm_body_m == pytest.approx(mount.lever_arm_body_m)
        assert (e.make, e.model) == (spec.make, spec.model)


def test_video_sidecar_and_telemetry(exact_flight: tuple[SimConfig, SimResult]) -> None:
    cfg, res = exact_flight
    root = out(res) / "video"
    side = json.loads((root / "thermal.json").read_text())
    cap = cv2.VideoCapture(str(root / side["file"]))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape[:2] == (512, 640)
    assert frames == side["frame_count"] == round(cfg.video_s * cfg.video_fps)
    assert side["fps"] == cfg.video_fps and side["span_c"] == list(cfg.video_span_c)
    truth = json.loads((out(res) / "truth/flight.json").read_text())["video"]
    assert side["start_t_camera_s"] == pytest.approx(truth["start_camera_clock_s"], abs=1e-3)
    # grey levels map to plausible ground temperatures through the stated span
    t = side["span_c"][0] + first[..., 0].astype(float) / 255 * (side["span_c"][1] - side["span_c"][0])
    assert 10.0 < float(np.median(t)) < 35.0
    tel = read_telemetry(root / side["telemetry"])
    pose = tel.pose_at(truth["start_utc_s"])
    assert pose.alt_rel_m == pytest.approx(cfg.height_m, abs=0.5)


def test_saturation_of_the_fire_is_documented_and_real(exact_flight: tuple[SimConfig, SimResult]) -> None:
    _, res = exact_flight
    root = out(res)
    fire = next(f["properties"] for f in json.loads((root / "truth/hotspots.geojson").read_text())["features"]
                if f["properties"]["class"] == "fire")
    assert fire["temperature_c"] > 382.2 and fire["saturated"]
    hottest = max(int(np.asarray(Image.open(root / r["file"])).max()) for r in _truth_rows(res))
    assert hottest == 65535


def test_exif_alone_gives_the_focal_length_in_pixels(exact_flight: tuple[SimConfig, SimResult]) -> None:
    """FocalLength with FocalPlaneXResolution: the camera model without cameras.toml."""
    cfg, res = exact_flight
    for spec in cfg.cameras:
        row = _truth_rows(res, spec.kind)[0]
        sub = Image.open(out(res) / row["file"]).getexif().get_ifd(ExifTags.IFD.Exif)
        assert sub[0xA210] == 3                                   # centimetres
        fx = float(sub[0x920A]) * float(sub[0xA20E]) / 10.0      # mm * px/cm / (mm/cm)
        assert fx == pytest.approx(spec.camera_model.fx, rel=2e-4)
