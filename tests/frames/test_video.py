"""Video frames picked by ground coverage on a synthetic straight flight."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.telemetry import Telemetry
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack
from dronepipe.frames.video import (
    VideoInfo,
    footprint,
    overlap_fraction,
    read_video_frames,
    sample_video,
    video_info,
)
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import FlatGround, camera_pose

T0 = 1_777_622_400.0
LAT0, LON0 = 49.4447, 7.7689
SPEED, HEIGHT = 8.0, 60.0


def _straight_north(duration: float, hover_from: float | None = None) -> Telemetry:
    t = T0 + np.arange(-5.0, duration + 5.0, 0.05)
    moving = t - T0 if hover_from is None else np.minimum(t - T0, hover_from)
    north = SPEED * moving
    lat = LAT0 + north / 111_200.0
    k = t.size
    z = np.zeros(k)
    pos = PositionTrack(t, lat, np.full(k, LON0), np.full(k, 300.0), np.full(k, HEIGHT), np.full(k, SPEED),
                        np.full(k, 3), np.full(k, 12), np.full(k, 0.8))
    att = AttitudeTrack(t, z, z, z)
    gim = GimbalTrack(t, z, z - math.pi / 2, z, np.ones(k, bool), z)
    return Telemetry("synthetic", "tlog", pos, att, gim)


CAM = CameraModel.from_fov("t", 640, 512, 40.0)


def _info(frames: int, fps: float = 30.0) -> VideoInfo:
    return VideoInfo(Path("flight.mp4"), fps, frames, 640, 512)


def test_picks_give_the_target_forward_overlap() -> None:
    tel = _straight_north(30.0)
    got = sample_video(Path("flight.mp4"), tel, CAM, kind="thermal", video_start_s=T0, forward_overlap=0.8,
                       candidate_hz=30.0, info=_info(900))
    utm = UtmFrame.for_point(LON0, LAT0)
    fps = [footprint(camera_pose(p.pose, utm), CAM, FlatGround()) for p in got.picked]
    # along-track footprint: the image height spans 2 h tan(vfov/2) on the ground
    along = 2 * HEIGHT * (256 / CAM.fy)
    overlaps = [overlap_fraction(a, b) for a, b in itertools.pairwise(fps)]
    assert min(overlaps) >= 0.8 and max(overlaps) < 0.8 + SPEED / 30.0 / along  # within one frame's travel
    spacing = np.diff([p.frame.video_time_s for p in got.picked]) * SPEED
    assert np.all(np.abs(spacing - 0.2 * along) <= SPEED / 30.0 + 1e-9)
    assert len(got.picked) == pytest.approx(30.0 * SPEED / (0.2 * along), abs=2)
    first = got.picked[0].frame
    assert first.frame_index == 0 and first.is_video and first.t_camera_s == T0 and first.name == "flight.mp4#0"
    assert "video frame 0" in got.picked[0].pose.source


def test_hovering_adds_no_frames_and_missing_telemetry_is_counted() -> None:
    tel = _straight_north(20.0, hover_from=5.0)
    got = sample_video(Path("v.mp4"), tel, CAM, kind="rgb", video_start_s=T0 - 10.0, info=_info(900))
    assert got.no_pose and sum(got.no_pose.values()) == 50  # 5 s before the log begins, at 10 Hz
    times = [p.frame.t_camera_s - T0 for p in got.picked]
    assert max(times) <= 5.0 + 0.2  # nothing new while hovering
    with pytest.raises(DronepipeError, match="no video frame has a pose"):
        sample_video(Path("v.mp4"), tel, CAM, kind="rgb", video_start_s=T0 + 1e6, info=_info(100))


def test_real_video_file_is_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "thermal.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 256))
    for n in range(90):
        writer.write(np.full((256, 320, 3), n * 2, np.uint8))
    writer.release()
    info = video_info(path)
    assert (info.fps, info.frame_count, info.width, info.height) == (30.0, 90, 320, 256)
    got = sample_video(path, _straight_north(3.0), CAM, kind="thermal", video_start_s=T0, forward_overlap=0.9)
    idx = [p.frame.frame_index for p in got.picked]
    assert len(idx) >= 3 and got.picked[0].frame.width == 320
    read = list(read_video_frames(path, idx))
    assert [n for n, _ in read] == idx
    assert [int(img.mean() // 2) for _, img in read] == pytest.approx(idx, abs=2)
    with pytest.raises(DronepipeError, match="cannot open the video"):
        video_info(tmp_path / "missing.mp4")


def test_real_dji_srt_drives_the_sampling(realdata: Path) -> None:
    from dronepipe.flightlogs.srt import read_srt

    srt = read_srt(realdata / "video/dji_srt/mavic_pro.SRT", assume_nadir=True)
    info = VideoInfo(Path("DJI_0001.MP4"), 30.0, 30 * 468, 1920, 1080)  # the video itself is not public
    cam = CameraModel.from_fov("FC220 video", 1920, 1080, 66.0)
    got = sample_video(info.path, srt.telemetry, cam, kind="rgb", video_start_s=srt.video_start_s,
                       forward_overlap=0.7, candidate_hz=2.0, info=info)
    assert 10 < len(got.picked) < 300 and got.candidates == 936
    assert sum(got.no_pose.values()) > 0  # hovering (no course to assume a yaw from) is counted
    assert all(p.pose.source.startswith("video frame") and p.pose.gimbal_pitch_rad == pytest.approx(-math.pi / 2)
               for p in got.picked)
    t = [p.frame.t_camera_s for p in got.picked]
    assert t == sorted(t) and all(srt.telemetry.start_utc_s <= x <= srt.telemetry.end_utc_s for x in t)
