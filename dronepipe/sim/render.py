"""Rendering camera frames from the world, through the pipeline's own geometry.

Every pixel is traced as ``dronepipe.stitching.georef.pixels_to_ground`` traces it:
the camera model's viewing rays (``CameraModel.rays``, with lens distortion) are turned
into the grid by the camera pose (``camera_pose``) and met with the ground
(``intersect_ground``, flat or a DEM). The rays depend only on the camera, so they are
computed once per camera (``RayGrid``) and reused for every frame; the ground points
index the world rasters with ``cv2.remap``.

Anti-aliasing: each pixel is ``supersample`` x ``supersample`` rays averaged
(``INTER_AREA``), sampling the world pyramid level that matches the ground footprint
of one ray. Thermal frames are traced in band radiance (see ``radiometry.py``); optics
(Gaussian PSF), vignetting and noise are applied in the image afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.config import SimCamera
from dronepipe.sim.world import World
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import CameraPose, Ground, intersect_ground

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
KELVIN = 273.15
TLINEAR_MAX_C = 65535 / 100.0 - KELVIN  # 382.2 C: where a centi-kelvin uint16 saturates
BAND_ROWS = 256  # rows traced at a time (bounds the temporaries of a large image)
# Fixed-point steps of the ray/DEM intersection: on gentle terrain (slope x tan(view
# angle) < 0.1) each step shrinks the error tenfold, so 4 leave well under a millimetre.
TERRAIN_ITERATIONS = 4


@dataclass(frozen=True)
class RayGrid:
    """Viewing rays (camera axes, z = 1) of every sub-pixel of a camera.

    Sub-pixel centres are at ``(i + 0.5) / s - 0.5`` for ``i`` in ``0 .. s * size - 1``,
    so the mean of an ``s`` x ``s`` block is the pixel centre.
    """

    camera: CameraModel
    supersample: int
    rays: F64 = field(repr=False)

    @classmethod
    def of(cls, camera: CameraModel, supersample: int) -> RayGrid:
        """The rays of every sub-pixel (undistorted in bands of rows, bounding memory)."""
        s = supersample
        u = (np.arange(camera.width * s) + 0.5) / s - 0.5
        v = (np.arange(camera.height * s) + 0.5) / s - 0.5
        rays = np.empty((len(v), len(u), 3))
        for r0 in range(0, len(v), BAND_ROWS):
            rays[r0:r0 + BAND_ROWS] = camera.rays(u[None, :], v[r0:r0 + BAND_ROWS, None])
        return cls(camera, s, rays)


def _radius2(width: int, height: int) -> F32:
    """Squared distance from the image centre, 1.0 at the corners."""
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / ((width - 1) / 2)
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / ((height - 1) / 2)
    return (x[None, :] ** 2 + y[:, None] ** 2) / 2.0


def _footprint_level(world: World, pose: CameraPose, rays: RayGrid, ground: Ground) -> int:
    """Pyramid level for one image: the ground step between rays along the centre row."""
    h, w = rays.rays.shape[:2]
    mid = intersect_ground(pose, rays.rays[h // 2, w // 4: 3 * w // 4], ground)
    step = np.linalg.norm(np.diff(mid[:, :2], axis=0), axis=1)
    return world.level_for(float(np.nanmedian(step)) if np.isfinite(step).any() else 1.0)


def sample_world(world: World, pose: CameraPose, rays: RayGrid, ground: Ground,
                 channel: str) -> NDArray:
    """World raster ``channel`` ("rgb" or "radiance") as seen by every pixel (before optics).

    Returns (H, W, 3) float32 colour or (H, W) float32 radiance. Traced in bands of
    ``BAND_ROWS`` output rows.
    """
    level = _footprint_level(world, pose, rays, ground)
    src = world.rgb_levels[level] if channel == "rgb" else world.radiance_levels[level]
    g, s = world.grid, rays.supersample
    h, w = rays.rays.shape[0] // s, rays.rays.shape[1] // s
    out = np.empty((h, w, 3) if channel == "rgb" else (h, w), np.float32)
    for r0 in range(0, h, BAND_ROWS):
        r1 = min(h, r0 + BAND_ROWS)
        pts = intersect_ground(pose, rays.rays[r0 * s:r1 * s], ground, TERRAIN_ITERATIONS)
        mx = ((pts[..., 0] - g.west_m) / g.cell_m - 0.5) / 2 ** level
        my = ((g.north_m - pts[..., 1]) / g.cell_m - 0.5) / 2 ** level
        bad = ~(np.isfinite(mx) & np.isfinite(my))
        mx[bad] = my[bad] = -1e6
        band = cv2.remap(src, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        if s > 1:
            band = cv2.resize(band, (w, r1 - r0), interpolation=cv2.INTER_AREA)
        out[r0:r1] = band
    return out


@dataclass(frozen=True)
class Sensor:
    """What a camera adds after the optics, fixed per flight: vignetting (per pixel),
    fixed column offsets (thermal, kelvin) and a bank of temporal noise from which every
    frame takes a randomly offset window (a fresh draw per frame would cost more than
    the rendering)."""

    spec: SimCamera
    vignette: F32 = field(repr=False)
    columns_k: F32 = field(repr=False)
    noise_bank: F32 = field(repr=False)

    @classmethod
    def of(cls, spec: SimCamera, rng: np.random.Generator) -> Sensor:
        r2 = _radius2(spec.width, spec.height)
        vig = (-spec.vignetting * r2 if spec.kind == "thermal"
               else 1.0 - spec.vignetting * r2).astype(np.float32)
        cols = (rng.standard_normal(spec.width, dtype=np.float32) * np.float32(spec.column_noise))
        chans = (3,) if spec.kind == "rgb" else ()
        bank = rng.standard_normal((spec.height + 61, spec.width + 67, *chans), dtype=np.float32)
        return cls(spec, vig, cols, bank * np.float32(spec.noise))

    def noise(self, rng: np.random.Generator) -> F32:
        """A window of the noise bank at a random offset."""
        dy = int(rng.integers(0, self.noise_bank.shape[0] - self.spec.height + 1))
        dx = int(rng.integers(0, self.noise_bank.shape[1] - self.spec.width + 1))
        return self.noise_bank[dy:dy + self.spec.height, dx:dx + self.spec.width]


def render_thermal(world: World, pose: CameraPose, rays: RayGrid, ground: Ground,
                   sensor: Sensor, rng: np.random.Generator) -> tuple[NDArray[np.uint16], F32]:
    """A radiometric frame: TLinear centi-kelvin counts (saturating at 382.2 C) and the
    noise-free temperature (degrees C) the optics delivered, for tests."""
    spec = sensor.spec
    rad = sample_world(world, pose, rays, ground, "radiance")
    if spec.blur_px > 0:
        rad = cv2.GaussianBlur(rad, (0, 0), spec.blur_px, borderType=cv2.BORDER_REFLECT)
    clean = world.table.temperature(rad)
    temp = clean + sensor.vignette + sensor.columns_k[None, :] + sensor.noise(rng)
    counts = np.clip(np.round((temp.astype(np.float64) + KELVIN) * 100.0), 0, 65535)
    return counts.astype(np.uint16), clean


def render_rgb(world: World, pose: CameraPose, rays: RayGrid, ground: Ground,
               sensor: Sensor, rng: np.random.Generator) -> NDArray[np.uint8]:
    """A colour frame (H, W, 3) uint8 RGB with blur, vignetting, exposure and noise."""
    spec = sensor.spec
    img = sample_world(world, pose, rays, ground, "rgb")
    if spec.blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), spec.blur_px, borderType=cv2.BORDER_REFLECT)
    exposure = np.float32(1.0 + spec.exposure_jitter * float(rng.standard_normal()))
    img *= (sensor.vignette * exposure)[..., None]
    img += sensor.noise(rng)
    return cv2.convertScaleAbs(img)


def grey_video_frame(counts: NDArray[np.uint16], span_c: tuple[float, float]) -> NDArray[np.uint8]:
    """8-bit grey of a TLinear frame: 0 at ``span_c[0]``, 255 at ``span_c[1]``, clipped."""
    t = counts.astype(np.float32) / 100.0 - KELVIN
    g = (t - span_c[0]) / (span_c[1] - span_c[0]) * 255.0
    return np.clip(np.round(g), 0, 255).astype(np.uint8)
