"""The simulator's parts: TIFF/EXIF writer, radiometry, flight dynamics, errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import tifffile
from PIL import ExifTags, Image

from dronepipe.outputs.tiff_ifd import exif_block, tiff_bytes
from dronepipe.sim.config import ErrorConfig, default_thermal
from dronepipe.sim.errors_model import ErrorModel
from dronepipe.sim.exif import exif_datetime, frame_entries, gps_entries
from dronepipe.sim.flightplan import plan_survey
from dronepipe.sim.radiometry import RadianceTable
from dronepipe.sim.render import TLINEAR_MAX_C
from dronepipe.sim.trajectory import fly


@pytest.mark.parametrize("compression", ["deflate", "lzma"])
@pytest.mark.parametrize("shape,dtype", [((37, 53), np.uint16), ((20, 30, 3), np.uint8)])
def test_tiff_round_trip_with_exif(tmp_path, compression: str, shape: tuple, dtype: type) -> None:
    img = np.random.default_rng(1).integers(0, np.iinfo(dtype).max, shape).astype(dtype)
    ifd0, exif = frame_entries("Make", "Model", 1718447401.2345, 2, 10.55, shape[1], shape[0], 40.0)
    path = tmp_path / "x.tif"
    path.write_bytes(tiff_bytes(img, ifd0, exif, gps_entries(-33.5, -70.25, 512.125), compression,
                                predictor=True))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), img)
    np.testing.assert_array_equal(tifffile.imread(path), img)
    ex = Image.open(path).getexif()
    sub, gps = ex.get_ifd(ExifTags.IFD.Exif), ex.get_ifd(ExifTags.IFD.GPSInfo)
    assert sub[0x9003] == "2024:06:15 12:30:01" and sub[0x9291] == "234"
    assert gps[1] == "S" and gps[3] == "W" and gps[6] == pytest.approx(512.125)
    assert gps[2][0] + gps[2][1] / 60 + gps[2][2] / 3600 == pytest.approx(33.5, abs=1e-8)


def test_jpeg_exif_block_is_read_by_pillow() -> None:
    ifd0, exif = frame_entries("M", "N", 1718447401.0, -5, 4.5, 8, 8, 70.0)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif_block(ifd0, exif, gps_entries(1.0, 2.0, 3.0)))
    ex = Image.open(buf).getexif()
    assert ex.get_ifd(ExifTags.IFD.Exif)[0x9011] == "-05:00"
    assert ex.get_ifd(ExifTags.IFD.GPSInfo)[6] == pytest.approx(3.0)


def test_exif_datetime_is_local_camera_time_to_the_millisecond() -> None:
    assert exif_datetime(1718447400.9996, 2) == ("2024:06:15 12:30:01", "000", "+02:00")
    assert exif_datetime(1718447400.25, 0) == ("2024:06:15 10:30:00", "250", "+00:00")


def test_radiance_table_inverts_and_weights_hot_subpixels() -> None:
    tab = RadianceTable()
    t = np.array([-20.0, 5.0, 21.3, 35.0, 150.0, 799.9], dtype=np.float32)
    np.testing.assert_allclose(tab.temperature(tab.radiance(t)), t, atol=2e-3)
    # a pixel 10 % fire at 800 C over grass at 20 C reads far above the area mean (98 C)
    mixed = tab.temperature(0.1 * tab.radiance(800.0) + 0.9 * tab.radiance(20.0))
    assert float(mixed) > 150.0
    assert TLINEAR_MAX_C == pytest.approx(382.2)


def test_flight_flies_the_plan_at_survey_speed() -> None:
    cam = default_thermal().camera_model
    plan = plan_survey((400000.0, 5478000.0), 20, 60.0, cam, 0.8, 0.7, 20.0)
    assert plan.frames == 20
    traj = fly(plan, 6.0, 0.02)
    st = traj.at(traj.trigger_t_s)
    speed = np.linalg.norm(st["vel_m_s"], axis=1)
    assert speed == pytest.approx(6.0, abs=0.05)            # level and at speed on the lines
    assert np.degrees(st["pitch"]) == pytest.approx(-7.0, abs=0.5)   # drag at 6 m/s
    assert st["pos_m"][:, 2] == pytest.approx(60.0, abs=1e-6)
    grid_heading = np.degrees(st["yaw"] + 0.02) % 180.0
    assert grid_heading == pytest.approx(20.0, abs=0.1)
    assert np.degrees(np.abs(traj.roll)).max() < 25.0
    assert np.linalg.norm(traj.vel_m_s, axis=1).max() < 6.5


def test_gnss_walk_has_the_configured_size_and_zeroes() -> None:
    cfg = ErrorConfig(gnss_sigma_m=1.5, gnss_tau_s=20.0)
    e = ErrorModel.draw(cfg, 0.0, 20000.0, seed=3).gnss_enu_m
    assert e[:, 0].std() == pytest.approx(1.5, rel=0.25)
    lag = int(20.0 / 0.1)
    rho = np.corrcoef(e[:-lag, 0], e[lag:, 0])[0, 1]
    assert rho == pytest.approx(math.exp(-1.0), abs=0.15)
    assert not np.any(ErrorModel.draw(ErrorConfig.none(), 0.0, 100.0, 3).gnss_enu_m)
