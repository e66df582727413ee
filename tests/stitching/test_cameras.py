"""Camera models from the table, from EXIF and from the user's TOML."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from dronepipe.errors import DronepipeError
from dronepipe.frames.metadata import FrameMeta, read_frame_meta
from dronepipe.stitching.cameras import (
    KNOWN_CAMERAS,
    find_spec,
    load_camera_file,
    resolve_camera,
)


def test_every_entry_states_its_source_and_is_sane() -> None:
    for spec in KNOWN_CAMERAS:
        assert len(spec.source) > 20, spec.label
        assert 1.0 < spec.sensor_width_mm < 40.0 and spec.width > spec.height
        pitch_um = spec.sensor_width_mm / spec.width * 1000
        assert 0.7 < pitch_um < 18.0, spec.label


def test_same_model_string_split_by_image_size_and_focal() -> None:
    assert find_spec("DJI", "ZH20T", 640, 512, 13.5).kind == "thermal"
    assert find_spec("DJI", "ZH20T", 4056, 3040, 4.5).label == "DJI Zenmuse H20T wide"
    assert find_spec("DJI", "ZH20T", 5184, 3888, 31.0).label == "DJI Zenmuse H20T zoom"
    assert find_spec("DJI", "MAVIC2-ENTERPRISE-ADVANCED", 8000, 6000).kind == "rgb"
    assert find_spec("DJI", "Mavic2 Enterprise Advanced", 640, 512).kind == "thermal"
    assert find_spec("DJI", "FC6310S", 5472, 3648).label.startswith("DJI Phantom 4 Pro")
    assert find_spec("DJI", "ZH20T", 1920, 1080, 4.5) is None  # no 16:9 entry
    assert find_spec("Nobody", "FC350", 4000, 3000) is None


def test_h20t_thermal_matches_its_published_field_of_view() -> None:
    meta = FrameMeta(make="DJI", model="ZH20T", width=640, height=512, focal_mm=13.5)
    cam = resolve_camera(meta).camera
    diag = 2 * math.degrees(math.atan(math.hypot(640, 512) / 2 / cam.fx))
    assert diag == pytest.approx(40.6, abs=1.0)  # DJI: DFOV 40.6 deg


def test_toledo_fc350_resized_copy(realdata: Path) -> None:
    meta = read_frame_meta(realdata / "mapping/odm_toledo_2015/images/DJI_0061.JPG")
    got = resolve_camera(meta)
    assert got.source.startswith("table:") and got.kind == "rgb" and got.exif_alt_is_takeoff
    assert (got.camera.width, got.camera.height) == (2400, 1800)
    assert got.camera.fx == pytest.approx(3.61 / 6.17 * 4000 * 0.6)
    # the 35 mm equivalent (20 mm) tells nearly the same
    exif_only = resolve_camera(replace(meta, make="Other"))
    assert exif_only.source.startswith("EXIF FocalLengthIn35mmFilm")
    assert exif_only.camera.fx == pytest.approx(got.camera.fx, rel=0.03)


def test_exif_focal_plane_resolution_and_its_sanity_check() -> None:
    meta = FrameMeta(make="X", model="Y", width=1000, height=750, exif_width=4000, exif_height=3000,
                     focal_mm=5.2, focal_plane_px_per_mm=4000 / 7.44)
    got = resolve_camera(meta)
    assert got.source == "EXIF FocalLength + FocalPlaneXResolution"
    assert got.camera.fx == pytest.approx(5.2 / 7.44 * 1000)
    stale = replace(meta, exif_width=48, exif_height=36, focal_35mm=24.0)  # a resize kept the old resolution
    assert resolve_camera(stale).source.startswith("EXIF FocalLengthIn35mmFilm")


def test_dewarp_data_beats_the_table() -> None:
    meta = FrameMeta(make="DJI", model="M3E", width=5280, height=3956, focal_mm=12.29,
                     xmp={"DewarpData": "2022-06-08;3713.29,3713.30,7.02,-10.45,-0.11,0.01,-0.0003,0.0002,-0.02",
                          "DewarpFlag": "0"})
    got = resolve_camera(meta)
    assert got.source.startswith("XMP DewarpData") and got.kind == "rgb"
    assert got.camera.fx == pytest.approx(3713.29) and got.camera.cx == pytest.approx(2639.5 + 7.02)
    assert got.camera.dist == (-0.11, 0.01, -0.0003, 0.0002, -0.02)


def test_user_camera_file_wins_and_is_validated(tmp_path: Path) -> None:
    toml = tmp_path / "cameras.toml"
    toml.write_text('[thermal]\nwidth = 640\nheight = 512\nhfov_deg = 40.0\n'
                    'dist = [-0.1, 0.05, 0.0, 0.0, 0.0]\n[thermal.mount]\noffset_gimbal_m = [0.0, -0.035, 0.0]\n'
                    'boresight_deg = [0.1, -0.15, 0.2]\n'
                    '[rgb]\nmake = "ACME"\nmodel = "Cam"\nwidth = 2000\nheight = 1500\nfx = 1428.0\n')
    entries = load_camera_file(toml)
    meta = FrameMeta(make="DJI", model="ZH20T", width=640, height=512, focal_mm=13.5)
    got = resolve_camera(meta, kind="thermal", user=entries)
    assert got.source == "camera file entry [thermal]"
    assert got.camera.fx == pytest.approx(320 / math.tan(math.radians(20)))
    assert got.mount.boresight_rad[2] == pytest.approx(math.radians(0.2))
    rgb = resolve_camera(FrameMeta(make="ACME", model="Cam", width=1000, height=750), user=entries)
    assert rgb.camera.fx == pytest.approx(714.0)  # scaled to the stored size
    toml.write_text("[thermal]\nwidth = 640\nheight = 512\n")
    with pytest.raises(DronepipeError, match=r"cameras.toml: camera \[thermal\]: needs fx"):
        load_camera_file(toml)


def test_unknown_camera_error_says_what_to_do() -> None:
    with pytest.raises(DronepipeError, match=r"IMG_1\.tif.*--cameras cameras\.toml"):
        resolve_camera(FrameMeta(make="X", model="Y", width=320, height=240), where="IMG_1.tif")


def test_camera_file_round_trip(tmp_path: Path) -> None:
    from dronepipe.stitching.camera import CameraModel
    from dronepipe.stitching.cameras import CameraEntry, camera_entry_toml
    from dronepipe.stitching.georef import Mount

    cam = CameraModel("thermal", 640, 512, 879.3, 879.1, 320.2, 255.7, (-0.11, 0.05, 0.0004, -0.0003, 0.0))
    mount = Mount((0.08, 0.0, 0.12), (0.0, -0.035, 0.0), tuple(math.radians(a) for a in (0.1, -0.15, 0.2)))
    entries = (CameraEntry("thermal", "thermal", "dronepipe-sim", "SimTherm 640", cam, mount),
               CameraEntry("rgb", "rgb", None, None, CameraModel.from_fov("rgb", 2000, 1500, 70.0), None))
    path = tmp_path / "cameras.toml"
    path.write_text("".join(camera_entry_toml(e) for e in entries), encoding="utf-8")
    back = load_camera_file(path)
    assert back[0].camera == cam and back[0].make == "dronepipe-sim" and back[0].kind == "thermal"
    assert back[0].mount.lever_arm_body_m == mount.lever_arm_body_m
    assert back[0].mount.boresight_rad == pytest.approx(mount.boresight_rad)
    assert back[1].camera.fx == pytest.approx(entries[1].camera.fx) and back[1].mount is None
