"""Frames alone: poses from EXIF/XMP, with what is assumed said in the provenance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dronepipe.frames.discover import discover_frames
from dronepipe.frames.exif_pose import (
    Heading,
    pose_from_exif,
    poses_from_exif,
    track_headings,
)
from dronepipe.frames.metadata import FrameMeta
from dronepipe.frames.refs import FrameRef, Posed, Rejected
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.cameras import resolve_camera


def test_toledo_every_frame_gets_an_exif_pose(realdata: Path) -> None:
    found = discover_frames(realdata / "mapping/odm_toledo_2015/images")
    cams = {f.path: resolve_camera(f.meta, kind=f.kind) for f in found.frames}
    assert {c.camera.name for c in cams.values()} == {"DJI Zenmuse X3 (FC350)"}
    results = poses_from_exif(found.frames, exif_alt_is_takeoff=lambda f: cams[f.path].exif_alt_is_takeoff)
    assert all(isinstance(r, Posed) for r in results)
    poses = [r.pose for r in results]
    utm = UtmFrame.for_point(poses[0].lon_deg, poses[0].lat_deg)
    assert utm.epsg == 32617
    e, n = utm.to_grid([p.lon_deg for p in poses], [p.lat_deg for p in poses])
    assert 274_800 < e.min() and e.max() < 275_100 and 4_603_100 < n.min() and n.max() < 4_603_400
    step = np.hypot(np.diff(e), np.diff(n))
    dt = np.diff([p.t_utc_s for p in poses])
    assert np.all(dt > 0) and np.all(step > 20) and np.all(step / dt < 15)  # a survey drone's pace
    # the EXIF GPSAltitude of the FC350 is the height above take-off; MSL unknown
    assert all(118.5 < p.alt_rel_m < 120.5 and math.isnan(p.alt_msl_m) for p in poses)
    assert all(p.gimbal_pitch_rad == pytest.approx(-math.pi / 2) for p in poses)
    assert all("NADIR ASSUMED" in p.source and "height above take-off" in p.source for p in poses)


def test_toledo_heading_follows_the_leg(realdata: Path) -> None:
    found = discover_frames(realdata / "mapping/odm_toledo_2015/images")
    yaw = {f.name: h.yaw_rad for f, h in zip(found.frames, track_headings(found.frames), strict=True)}
    # DJI_0061 -> DJI_0063 flies west along a line (image matching confirms the image top leads)
    assert math.degrees(yaw["DJI_0061.JPG"]) == pytest.approx(-90, abs=5)
    assert math.degrees(yaw["DJI_0063.JPG"]) == pytest.approx(-90, abs=5)


def test_dji_rjpeg_pose_from_xmp(realdata: Path) -> None:
    frame = discover_frames([realdata / "thermal/dji_sdk_groundtruth/test.jpg"]).frames[0]
    result = pose_from_exif(frame)
    assert isinstance(result, Posed)
    p = result.pose
    assert (p.alt_rel_m, p.alt_msl_m) == (15.774, 64.803)
    assert math.degrees(p.gimbal_pitch_rad) == pytest.approx(-60.5)
    assert math.degrees(p.gimbal_yaw_rad) == pytest.approx(95.1)
    assert math.degrees(p.yaw_rad) == pytest.approx(81.4)
    assert "XMP gimbal" in p.source and "ASSUMED" not in p.source


def _frame(**kw: object) -> FrameRef:
    meta = FrameMeta(width=640, height=512, **kw)  # type: ignore[arg-type]
    return FrameRef(Path("x.jpg"), "thermal", meta.t_camera_s, 640, 512, meta)


def test_refusals_and_height_links() -> None:
    assert isinstance(pose_from_exif(_frame()), Rejected)
    no_alt = pose_from_exif(_frame(lat_deg=49.0, lon_deg=8.0), heading=Heading(0.0, "t"))
    assert isinstance(no_alt, Rejected) and "altitude" in no_alt.reason
    no_yaw = pose_from_exif(_frame(lat_deg=49.0, lon_deg=8.0, gps_alt_m=300.0))
    assert isinstance(no_yaw, Rejected) and "heading" in no_yaw.reason
    linked = pose_from_exif(_frame(lat_deg=49.0, lon_deg=8.0, gps_alt_m=300.0), heading=Heading(0.1, "t"),
                            takeoff_alt_msl_m=235.0)
    assert isinstance(linked, Posed)
    assert (linked.pose.alt_msl_m, linked.pose.alt_rel_m) == (300.0, 65.0)
    assert "take-off 235.0 m MSL" in linked.pose.source
