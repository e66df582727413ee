"""Finding frames in flight folders: by folder name, by content, with unreadable files counted."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.frames.discover import discover_frames


def _jpeg(path: Path, size: tuple[int, int], when: str | None) -> None:
    exif = Image.Exif()
    if when:
        exif.get_ifd(0x8769)[0x9003] = when
    Image.new("RGB", size).save(path, exif=exif)


def _tiff(path: Path, when: str) -> None:
    Image.fromarray(np.full((512, 640), 29315, np.uint16)).save(path, tiffinfo={0x9003: when})


def test_flight_folder_by_subfolder_names(tmp_path: Path) -> None:
    (tmp_path / "thermal").mkdir()
    (tmp_path / "rgb").mkdir()
    (tmp_path / "truth").mkdir()
    for i, sec in enumerate((12, 10, 11)):  # names out of time order
        _tiff(tmp_path / "thermal" / f"T_{i}.tiff", f"2026:05:01 10:00:{sec:02d}")
        _jpeg(tmp_path / "rgb" / f"R_{i}.jpg", (200, 150), f"2026:05:01 10:00:{sec:02d}")
    _tiff(tmp_path / "truth" / "ortho.tif", "2026:05:01 10:00:00")
    (tmp_path / "rgb" / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "rgb" / "notes.txt").write_text("ignored")
    with pytest.warns(DronepipeWarning, match="1 of 7 image files unreadable"):
        found = discover_frames(tmp_path)
    assert found.counts == {"thermal": 3, "rgb": 3, "unreadable": 1}
    assert [f.name for f in found.of_kind("thermal")] == ["T_1.tiff", "T_2.tiff", "T_0.tiff"]
    assert [f.t_camera_s for f in found.of_kind("rgb")] == sorted(f.t_camera_s for f in found.of_kind("rgb"))
    assert found.unreadable[0][0].name == "broken.jpg"
    assert all(f.width == 640 and f.height == 512 for f in found.of_kind("thermal"))


def test_kinds_skips_folders_of_other_kinds_unread(tmp_path: Path) -> None:
    (tmp_path / "thermal").mkdir()
    (tmp_path / "rgb").mkdir()
    _tiff(tmp_path / "thermal" / "T_0.tiff", "2026:05:01 10:00:00")
    (tmp_path / "rgb" / "broken.jpg").write_bytes(b"not a jpeg")  # not read: no warning
    flat = tmp_path / "flat"
    flat.mkdir()
    _jpeg(flat / "c.jpg", (400, 300), None)  # kind by content: read, kept as it is
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = discover_frames([tmp_path, flat], kinds=("thermal",))
    assert [(f.name, f.kind) for f in found.frames] == [("T_0.tiff", "thermal"), ("c.jpg", "rgb")]
    assert found.unreadable == ()
    with pytest.raises(DronepipeError, match="no readable frames"):
        discover_frames(tmp_path / "rgb", kinds=("thermal",))


def test_flat_folder_by_content(tmp_path: Path) -> None:
    _tiff(tmp_path / "a.tiff", "2026:05:01 10:00:00")
    _jpeg(tmp_path / "b.jpg", (640, 512), "2026:05:01 10:00:01")   # a palette thermal JPEG
    _jpeg(tmp_path / "c.jpg", (400, 300), None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = discover_frames(tmp_path)
    kinds = {f.name: f.kind for f in found.frames}
    assert kinds == {"a.tiff": "thermal", "b.jpg": "thermal", "c.jpg": "rgb"}
    assert found.frames[-1].name == "c.jpg"  # frames without time after those with
    assert discover_frames([tmp_path / "c.jpg"], kind="thermal").frames[0].kind == "thermal"


def test_real_rjpegs_are_thermal_and_toledo_is_rgb(realdata: Path) -> None:
    rj = discover_frames(sorted((realdata / "thermal/dji_rjpeg").glob("*/*.JPG")))
    assert rj.counts["thermal"] == 6 and rj.counts["rgb"] == 0
    toledo = discover_frames(realdata / "mapping/odm_toledo_2015/images")
    assert toledo.counts == {"thermal": 0, "rgb": 15, "unreadable": 0}


def test_flir_fff_record_is_a_thermal_frame_with_utc(realdata: Path) -> None:
    frame = discover_frames([realdata / "thermal/flir_fff/frame_000000.fff"]).frames[0]
    assert frame.kind == "thermal" and (frame.width, frame.height) == (640, 512)
    assert frame.meta.model == "Duo Pro R" and frame.meta.utc_offset_s == 3600.0
    assert frame.t_camera_s == pytest.approx(1541416483.084)  # 2018-11-05 12:14:43.084+01:00
    assert frame.meta.lat_deg == pytest.approx(53.449, abs=1e-3)


def test_nothing_found_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DronepipeError, match="no readable frames"):
        discover_frames(tmp_path)
    with pytest.raises(DronepipeError, match="no such file"):
        discover_frames(tmp_path / "missing")
