"""An RGB mosaic of a real texture: frames made from the reference orthophoto (WebODM
fixture, 0.5 m, EPSG:32615) through oblique, distorted cameras must give the orthophoto back
at the right map position."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio

from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.grid import MosaicGrid, PixelWindow
from dronepipe.stitching.mosaic import Mosaic


class Ortho:
    """The orthophoto as a ground texture: RGB at any grid point (bilinear), NaN outside."""

    def __init__(self, path: Path) -> None:
        with rasterio.open(path) as src:
            self.rgba = src.read().astype(np.float32)
            self.transform = src.transform
            self.epsg = src.crs.to_epsg()

    def sample(self, e: np.ndarray, n: np.ndarray) -> np.ndarray:
        inv = ~self.transform
        col, row = inv @ (e, n)
        mx, my = (np.asarray(col) - 0.5).astype(np.float32), (np.asarray(row) - 0.5).astype(np.float32)
        img = np.moveaxis(self.rgba, 0, -1)
        out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return np.where(out[..., 3:] > 254.0, out[..., :3], np.nan)


@pytest.fixture(scope="module")
def ortho(realdata: Path) -> Ortho:
    path = realdata / "mapping" / "webodm_fixtures" / "orthophoto.tif"
    if not path.exists():
        pytest.skip("the reference orthophoto is absent")
    return Ortho(path)


def frames(ortho: Ortho) -> list[tuple[GeoFrame, np.ndarray]]:
    frame = UtmFrame(ortho.epsg)
    cx = ortho.transform.c + 53.0
    cy = ortho.transform.f - 53.0
    cam = CameraModel.from_fov("rt", 200, 160, 50.0, (-0.15, 0.03, 0.0005, -0.0005, 0.0))
    out = []
    for i, (de, dn, yaw, pitch) in enumerate([(-12, 12, 10, -80), (12, 12, 100, -75),
                                              (-12, -12, -80, -85), (12, -12, 190, -78)]):
        lon, lat = frame.to_lonlat(cx + de, cy + dn)
        pose = Pose(1.7e9 + i, float(lat), float(lon), 400.0, 45.0, 0.0, 0.0, np.radians(yaw),
                    0.0, np.radians(pitch), np.radians(yaw))
        gf = geoframe(f"r{i}", pose, cam, frame, kind="rgb")
        u, v = np.meshgrid(np.arange(cam.width, dtype=float), np.arange(cam.height, dtype=float))
        p = gf.pixels_to_map(u, v)
        rgb = ortho.sample(p[..., 0], p[..., 1])
        assert np.isfinite(rgb).all(), "the test frames must stay inside the orthophoto"
        out.append((gf, np.clip(np.rint(rgb), 0, 255).astype(np.uint8)))
    return out


def test_real_texture_mosaic_matches_the_orthophoto(ortho: Ortho) -> None:
    data = frames(ortho)
    gsd = 0.5
    e0, n0 = ortho.transform.c + 20.0, ortho.transform.f - 20.0
    grid = MosaicGrid(ortho.epsg, (e0, n0), gsd, 132, 132, tile=64)
    with Mosaic(grid, "rgb") as m:
        for gf, pixels in data:
            m.feed(gf, pixels)
        out = m.read_window(PixelWindow(0, 0, grid.height, grid.width))
    e, n = grid.cell_centres(PixelWindow(0, 0, grid.height, grid.width))
    truth = ortho.sample(*np.broadcast_arrays(e, n))
    seen = (out[3] == 255) & np.isfinite(truth).all(axis=-1)
    assert seen.mean() > 0.8
    mosaic = np.moveaxis(out[:3], 0, -1).astype(np.float64)
    # the frames were finer than the grid and were area-averaged (within each frame):
    # compare with the orthophoto blurred by as much
    blurred = cv2.GaussianBlur(np.nan_to_num(truth).astype(np.float32), (0, 0), 0.5)
    diff = np.abs(mosaic - blurred)[seen]
    assert np.median(diff) < 3.0 and np.mean(diff) < 5.0  # grey levels
    # position: the mosaic and the orthophoto line up to a small part of a pixel
    a = cv2.GaussianBlur(mosaic.mean(axis=-1), (0, 0), 0.7)
    b = cv2.GaussianBlur(np.nan_to_num(truth.mean(axis=-1)).astype(np.float64), (0, 0), 0.7)
    assert np.hypot(*shift_px(a, b, seen)) < 0.05
    shifted = ortho.sample(*np.broadcast_arrays(e + 0.3 * gsd, n))  # the measure sees 0.3 px
    b2 = cv2.GaussianBlur(np.nan_to_num(shifted.mean(axis=-1)).astype(np.float64), (0, 0), 0.7)
    assert shift_px(b2, b, seen) == pytest.approx([0.3, 0.0], abs=0.06)


def shift_px(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(dx, dy) in pixels with a(x) ~ b(x + d), by one least-squares gradient step."""
    gy, gx = np.gradient(b)
    m = mask.copy()
    m[:2] = m[-2:] = False
    m[:, :2] = m[:, -2:] = False
    g = np.stack([gx[m], gy[m]], axis=-1)
    return np.linalg.lstsq(g, (a - b)[m], rcond=None)[0]
