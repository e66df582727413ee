"""DEM ground: a real DEM resampled to the flight's UTM grid, nodata, and vertical datums."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from dronepipe.errors import DronepipeError, VerticalDatumError
from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.dem import datum_of_file, load_dem
from dronepipe.stitching.geoframe import geoframe
from tests.stitching.synthetic import small_camera

DALLAS = (-97.33, 32.67)  # lon, lat: inside the real DEM (zone 14)


@pytest.fixture()
def dem_path(realdata: Path) -> Path:
    path = realdata / "dem" / "pysheds_dem.tif"
    if not path.exists():
        pytest.skip("the real DEM is absent")
    return path


def around(frame: UtmFrame, half_m: float) -> tuple[float, float, float, float]:
    e, n = frame.to_grid(*DALLAS)
    return float(e) - half_m, float(n) - half_m, float(e) + half_m, float(n) + half_m


def test_real_dem_in_the_utm_grid(dem_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = UtmFrame.for_point(*DALLAS)
    assert frame.epsg == 32614
    with caplog.at_level(logging.WARNING):
        g = load_dem(dem_path, frame, around(frame, 1000.0), 10.0)
    assert "states no vertical datum" in caplog.text  # the assumption is said, not silent
    assert g.heights_m.shape == (200, 200) and np.isfinite(g.heights_m).all()
    assert g.vertical_datum == "msl" and g.source_datum == "msl"
    assert np.nanmin(g.heights_m) >= 147.0 and np.nanmax(g.heights_m) <= 298.0  # the file's range
    with rasterio.open(dem_path) as src:
        row, col = src.index(*DALLAS)
        raw = float(src.read(1)[row, col])
    e, n = frame.to_grid(*DALLAS)
    assert float(g.height_at(e, n)) == pytest.approx(raw, abs=5.0)


def test_ellipsoidal_dem_with_msl_cameras_needs_the_undulation(dem_path: Path) -> None:
    frame = UtmFrame.for_point(*DALLAS)
    bounds = around(frame, 300.0)
    with pytest.raises(VerticalDatumError, match="geoid undulation"):
        load_dem(dem_path, frame, bounds, 10.0, vertical_datum="ellipsoid")
    msl = load_dem(dem_path, frame, bounds, 10.0, vertical_datum="msl")
    # N = -28 m around Dallas: ellipsoidal heights are 28 m below MSL heights there
    conv = load_dem(dem_path, frame, bounds, 10.0, vertical_datum="ellipsoid", geoid_offset_m=-28.0)
    assert np.allclose(conv.heights_m, msl.heights_m + 28.0)
    assert conv.geoid_offset_m == -28.0 and conv.source_datum == "ellipsoid"
    # and the other way round: an MSL DEM for ellipsoidal camera heights
    with pytest.raises(VerticalDatumError):
        load_dem(dem_path, frame, bounds, 10.0, vertical_datum="msl", heights_datum="ellipsoid")


def test_a_frame_over_the_real_dem(dem_path: Path) -> None:
    frame = UtmFrame.for_point(*DALLAS)
    ground = load_dem(dem_path, frame, around(frame, 1500.0), 10.0, vertical_datum="msl")
    e, n = frame.to_grid(*DALLAS)
    h0 = float(ground.height_at(e, n))
    pose = Pose(1.7e9, DALLAS[1], DALLAS[0], h0 + 120.0, 120.0, 0.0, 0.0, 0.3, 0.0,
                np.radians(-65.0), 0.3)
    gf = geoframe("dallas", pose, small_camera((-0.1, 0.0, 0.0, 0.0, 0.0)), frame,
                  ground=ground, height_ref="msl")
    assert gf.ground.heights_m.size < ground.heights_m.size  # cropped to the footprint
    u, v = np.meshgrid(np.linspace(0, 159, 6), np.linspace(0, 127, 5))
    p = gf.pixels_to_map(u, v)
    assert np.allclose(p[..., 2], ground.height_at(p[..., 0], p[..., 1]), atol=0.05)
    u2, v2, _ = gf.map_to_pixels(p[..., 0], p[..., 1])
    assert np.nanmax(np.hypot(u2 - u, v2 - v)) < 0.01


def write_dem(path: Path, data: np.ndarray, crs: str = "EPSG:4326") -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="int16", crs=crs, nodata=-32768,
                       transform=from_origin(7.76, 49.45, 0.0005, 0.0005)) as dst:
        dst.write(data[None])
    return path


def test_nodata_becomes_nan_and_an_uncovered_area_is_an_error(tmp_path: Path) -> None:
    data = np.full((40, 40), 250, np.int16)
    data[:, :20] = -32768  # the west half has no heights
    path = write_dem(tmp_path / "holes.tif", data)
    frame = UtmFrame.for_point(7.77, 49.44)
    e, n = frame.to_grid(7.77, 49.44)
    g = load_dem(path, frame, (float(e) - 300, float(n) - 300, float(e) + 300, float(n) + 300), 5.0,
                 vertical_datum="msl")
    west = g.height_at(float(e) - 250, float(n))
    east = g.height_at(float(e) + 250, float(n))
    assert np.isnan(west) and float(east) == pytest.approx(250.0)
    with pytest.raises(DronepipeError, match="does not cover"):
        far_e, far_n = frame.to_grid(9.0, 50.5)
        load_dem(path, frame, (float(far_e), float(far_n), float(far_e) + 100, float(far_n) + 100), 5.0)


def test_vertical_datum_from_the_file_crs() -> None:
    assert datum_of_file(CRS.from_epsg(4979)) == "ellipsoid"
    assert datum_of_file(CRS.from_user_input("EPSG:4326+5773")) == "msl"  # EGM96 geoid heights
    assert datum_of_file(CRS.from_epsg(4326)) is None
    assert datum_of_file(None) is None
