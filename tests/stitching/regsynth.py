"""Synthetic blocks for the registration tests: a textured ground seen by cameras whose
true poses are known and whose reported poses are perturbed.

The ground is an image in the map (``Texture``): fractal value noise plus scattered
bright and dark shapes (roofs, trees, paths), so that features exist at several
scales. A frame's pixels are the texture at the ground points of the TRUE pose; the
registration sees the PERTURBED pose. ``block`` flies a lawn-mower pattern (columns
flown north, then south), so neighbouring lines see the ground turned by 180 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from dronepipe.flightlogs.records import Pose
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.georef import Mount
from tests.stitching.synthetic import FRAME, DictLoader, origin_en, pose_at, render


@dataclass(frozen=True)
class Texture:
    """Ground values on a north-up raster: ``image[row, col]`` at cell centres, the
    top-left corner at ``origin_m`` (easting, northing), ``cell_m`` metres per cell."""

    image: np.ndarray = field(repr=False)
    origin_m: tuple[float, float]
    cell_m: float

    def __call__(self, e: np.ndarray, n: np.ndarray) -> np.ndarray:
        col = (np.asarray(e) - self.origin_m[0]) / self.cell_m - 0.5
        row = (self.origin_m[1] - np.asarray(n)) / self.cell_m - 0.5
        return cv2.remap(self.image, col.astype(np.float32), row.astype(np.float32),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def fractal(shape: tuple[int, int], rng: np.random.Generator, scales: tuple[int, ...],
            slope: float = 0.7) -> np.ndarray:
    """Sum of value-noise octaves (cells of ``scales`` raster pixels), about unit spread."""
    out = np.zeros(shape, np.float32)
    for s in scales:
        coarse = rng.standard_normal((shape[0] // s + 3, shape[1] // s + 3)).astype(np.float32)
        big = cv2.resize(coarse, ((shape[1] // s + 3) * s, (shape[0] // s + 3) * s),
                         interpolation=cv2.INTER_CUBIC)
        out += (s ** slope) * big[s:s + shape[0], s:s + shape[1]]
    return out / out.std()


def texture(extent_m: tuple[float, float, float, float], cell_m: float = 0.1, seed: int = 1,
            shapes: int = 400, scales: tuple[int, ...] = (4, 16, 64, 256)) -> Texture:
    """A detailed ground (values 0..255) over (west, south, east, north) metres; noise
    octaves of ``scales`` cells."""
    w, s, e, n = extent_m
    shape = (int(np.ceil((n - s) / cell_m)), int(np.ceil((e - w) / cell_m)))
    rng = np.random.default_rng(seed)
    img = 128 + 30 * fractal(shape, rng, scales)
    for _ in range(shapes):
        c = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        size = (int(rng.integers(5, 60)), int(rng.integers(5, 60)))
        box = (c, size, float(rng.uniform(0, 180)))
        pts = cv2.boxPoints(box).astype(np.int32)
        cv2.fillConvexPoly(img, pts, float(rng.choice([40.0, 220.0]) + rng.normal(0, 10)))
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    return Texture(np.clip(img, 0, 255).astype(np.float32), (w, n), cell_m)


def smooth_field(extent_m: tuple[float, float, float, float], cell_m: float = 0.2, seed: int = 2,
                 detail: float = 0.15) -> Texture:
    """A thermal-like ground in degrees C: large smooth warm and cool areas, weak detail."""
    w, s, e, n = extent_m
    shape = (int(np.ceil((n - s) / cell_m)), int(np.ceil((e - w) / cell_m)))
    rng = np.random.default_rng(seed)
    big = fractal(shape, rng, (64, 256), slope=1.0)
    fine = fractal(shape, rng, (3, 10), slope=0.5)
    return Texture((18.0 + 3.0 * big + detail * fine).astype(np.float32), (w, n), cell_m)


@dataclass(frozen=True)
class Shot:
    """A frame: its id, true and reported poses."""

    frame_id: str
    true: Pose
    reported: Pose


def perturbed(p: Pose, rng: np.random.Generator, pos_m: float, yaw_deg: float,
              tilt_deg: float = 0.0) -> Pose:
    """A pose moved by normal errors: ``pos_m`` per horizontal axis (metres, applied in
    the UTM grid), ``yaw_deg`` heading and ``tilt_deg`` gimbal pitch (degrees; at the
    nadir the gimbal roll only turns the image like the yaw, so only pitch tilts)."""
    e, n = FRAME.to_grid(p.lon_deg, p.lat_deg)
    de, dn = rng.normal(0.0, pos_m, 2)
    lon, lat = FRAME.to_lonlat(float(e) + de, float(n) + dn)
    dyaw, dpitch = np.radians([rng.normal(0, yaw_deg), rng.normal(0, tilt_deg)])
    return replace(p, lat_deg=float(lat), lon_deg=float(lon), yaw_rad=p.yaw_rad + dyaw,
                   gimbal_yaw_rad=(p.gimbal_yaw_rad or 0.0) + dyaw,
                   gimbal_pitch_rad=(p.gimbal_pitch_rad or 0.0) + dpitch)


def block_shots(rows: int, cols: int, step_m: tuple[float, float], alt_m: float, seed: int,
                pos_m: float, yaw_deg: float, tilt_deg: float = 0.0) -> list[Shot]:
    """A lawn-mower block: ``cols`` lines ``step_m[0]`` apart (east), ``rows`` frames a line
    ``step_m[1]`` apart (north); odd lines flown south (heading 180 deg)."""
    rng = np.random.default_rng(seed)
    shots: list[Shot] = []
    for c in range(cols):
        order = range(rows) if c % 2 == 0 else range(rows - 1, -1, -1)
        for r in order:
            true = pose_at(c * step_m[0], r * step_m[1], alt=alt_m, yaw_deg=0.0 if c % 2 == 0 else 180.0,
                           t=1.7e9 + len(shots) * 3.0)
            shots.append(Shot(f"f{len(shots):03d}", true, perturbed(true, rng, pos_m, yaw_deg, tilt_deg)))
    return shots


@dataclass(frozen=True)
class Scene:
    """Rendered frames: ``truth`` and ``reported`` GeoFrames in the same order, and the
    ``loader`` of their pixels."""

    truth: list[GeoFrame]
    reported: list[GeoFrame]
    loader: DictLoader


def scene(shots: list[Shot], camera: CameraModel, ground: Texture, kind: str = "rgb",
          mount: Mount = Mount(), noise: float = 0.0, seed: int = 3, suffix: str = "",
          reported_mount: Mount | None = None) -> Scene:
    """Render each shot's frame from its true pose and mount; ``noise``: sensor noise
    sigma; ``reported_mount``: the mount the pipeline believes (default: the true one)."""
    rng = np.random.default_rng(seed)
    truth, reported, pixels = [], [], {}
    for s in shots:
        fid = s.frame_id + suffix
        t = geoframe(fid, s.true, camera, FRAME, mount, kind=kind)  # type: ignore[arg-type]
        img = render(t, ground) + rng.normal(0.0, noise, (camera.height, camera.width)).astype(np.float32)
        pixels[fid] = img if kind == "thermal" else rgb_of(img)
        truth.append(t)
        reported.append(geoframe(fid, s.reported, camera, FRAME, reported_mount or mount,
                                 kind=kind))  # type: ignore[arg-type]
    return Scene(truth, reported, DictLoader(pixels))


def extent_for(rows: int, cols: int, step_m: tuple[float, float],
               margin_m: float) -> tuple[float, float, float, float]:
    e0, n0 = origin_en()
    return (e0 - margin_m, n0 - margin_m, e0 + (cols - 1) * step_m[0] + margin_m,
            n0 + (rows - 1) * step_m[1] + margin_m)


def placement_error_m(truth: GeoFrame, got: GeoFrame, n: int = 9) -> np.ndarray:
    """Map distances (metres) between where ``got`` and ``truth`` put an n x n lattice of pixels."""
    u, v = np.meshgrid(np.linspace(0, truth.camera.width - 1, n), np.linspace(0, truth.camera.height - 1, n))
    a, b = truth.pixels_to_map(u, v)[..., :2], got.pixels_to_map(u, v)[..., :2]
    return np.hypot(*(a - b).reshape(-1, 2).T)


def mean_offset_m(truth: list[GeoFrame], got: list[GeoFrame]) -> np.ndarray:
    """The block's mean placement offset (east, north metres) at the frames' centres."""
    d = []
    for t, g in zip(truth, got, strict=True):
        u, v = t.camera.cx, t.camera.cy
        d.append(g.pixels_to_map(u, v)[:2] - t.pixels_to_map(u, v)[:2])
    return np.mean(d, axis=0)


def rgb_of(gray: np.ndarray) -> np.ndarray:
    """A uint8 RGB frame from rendered grey values."""
    g = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def moved(p: Pose, de: float, dn: float) -> Pose:
    """A pose moved ``de``/``dn`` metres east/north in the UTM grid (a GNSS bias)."""
    e, n = FRAME.to_grid(p.lon_deg, p.lat_deg)
    lon, lat = FRAME.to_lonlat(float(e) + de, float(n) + dn)
    return replace(p, lat_deg=float(lat), lon_deg=float(lon))


def internal_error_m(truth: list[GeoFrame], got: list[GeoFrame], n: int = 9) -> np.ndarray:
    """Placement errors (metres) left after the best similarity of the whole block to the
    truth: how well the frames agree with each other, whatever the block's placement."""
    a, b = [], []
    for t, g in zip(truth, got, strict=True):
        u, v = np.meshgrid(np.linspace(0, t.camera.width - 1, n), np.linspace(0, t.camera.height - 1, n))
        a.append(g.pixels_to_map(u, v)[..., :2].reshape(-1, 2))
        b.append(t.pixels_to_map(u, v)[..., :2].reshape(-1, 2))
    pa, pb = np.concatenate(a), np.concatenate(b)
    o = pb.mean(axis=0)
    x, y = (pa - o).T
    design = np.block([[x[:, None], -y[:, None], np.ones((len(x), 1)), np.zeros((len(x), 1))],
                       [y[:, None], x[:, None], np.zeros((len(x), 1)), np.ones((len(x), 1))]])
    coef, *_ = np.linalg.lstsq(design, np.concatenate([(pb - o)[:, 0], (pb - o)[:, 1]]), rcond=None)
    fit = design @ coef
    return np.hypot(fit[:len(x)] - (pb - o)[:, 0], fit[len(x):] - (pb - o)[:, 1])
