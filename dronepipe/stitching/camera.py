"""Pinhole camera model with Brown-Conrady (OpenCV) lens distortion.

Pixel coordinates follow OpenCV: the centre of the top-left pixel is (0, 0), u grows
right and v grows down. Camera axes are OpenCV's (x right, y down, z forward).
Focal lengths and principal point are in pixels; distortion is OpenCV's
``(k1, k2, p1, p2, k3)`` acting on normalised image coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
_IDENTITY = np.eye(3)
_FIXED_POINT = (cv2.TERM_CRITERIA_COUNT, 20, 0.0)  # undistortPoints: 20 steps, no early stop


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics of one camera at one image size.

    ``name`` identifies the model (for provenance); ``width``/``height`` in pixels;
    ``fx``/``fy``/``cx``/``cy`` in pixels; ``dist`` = OpenCV ``(k1, k2, p1, p2, k3)``.
    """

    name: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_fov(cls, name: str, width: int, height: int, hfov_deg: float,
                 dist: tuple[float, float, float, float, float] = (0.0,) * 5) -> CameraModel:
        """A camera with square pixels, centred principal point and a horizontal field of view."""
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(name, width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0, dist)

    @classmethod
    def from_focal_mm(cls, name: str, width: int, height: int, focal_mm: float,
                      sensor_width_mm: float,
                      dist: tuple[float, float, float, float, float] = (0.0,) * 5) -> CameraModel:
        """A camera from the lens focal length and the sensor width (both millimetres)."""
        f = focal_mm / sensor_width_mm * width
        return cls(name, width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0, dist)

    @property
    def hfov_rad(self) -> float:
        """Horizontal field of view (radians), ignoring distortion."""
        return 2.0 * math.atan(self.width / 2.0 / self.fx)

    @property
    def K(self) -> F64:  # noqa: N802 - the conventional name
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def has_distortion(self) -> bool:
        return any(abs(d) > 0.0 for d in self.dist)

    def scaled(self, width: int, height: int) -> CameraModel:
        """The same camera for an image resampled to ``width`` x ``height`` pixels."""
        sx, sy = width / self.width, height / self.height
        return replace(self, width=width, height=height, fx=self.fx * sx, fy=self.fy * sy,
                       cx=(self.cx + 0.5) * sx - 0.5, cy=(self.cy + 0.5) * sy - 0.5)

    def distort(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """Normalised undistorted coordinates to normalised distorted coordinates."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        k1, k2, p1, p2, k3 = self.dist
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return xd, yd

    def project(self, points_cam: ArrayLike) -> tuple[F64, F64]:
        """Pixel coordinates ``(u, v)`` of points (..., 3) in camera axes.

        Points behind the camera (z <= 0) get NaN.
        """
        p = np.asarray(points_cam, dtype=np.float64)
        z = p[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(z > 0, p[..., 0] / z, np.nan)
            y = np.where(z > 0, p[..., 1] / z, np.nan)
        xd, yd = self.distort(x, y)
        return self.fx * xd + self.cx, self.fy * yd + self.cy

    def _undistort(self, xd: F64, yd: F64) -> tuple[F64, F64]:
        """Invert ``distort``: 20 fixed-point steps (OpenCV's ``undistortPoints``, the
        same iteration in C: 0.2 instead of 0.6 ms for 800 points, and without the GIL,
        which the dask threads share), then up to three Newton steps (numeric Jacobian),
        fewer once every point is within 1e-15 (NaN never is)."""
        pts = np.stack([xd, yd], axis=-1).reshape(-1, 1, 2)
        start = cv2.undistortPoints(pts, _IDENTITY, np.asarray(self.dist, np.float64),
                                    R=None, P=None, criteria=_FIXED_POINT).reshape(-1, 2)
        x, y = start[:, 0].copy(), start[:, 1].copy()
        h = 1e-7
        for _ in range(3):
            fx, fy = self.distort(x, y)
            ex, ey = fx - xd, fy - yd
            if max(float(np.max(np.abs(ex), initial=0.0)), float(np.max(np.abs(ey), initial=0.0))) < 1e-15:
                break  # converged to the last bits: another step changes nothing
            ax, ay = self.distort(x + h, y)
            bx, by = self.distort(x, y + h)
            j11, j21, j12, j22 = (ax - fx) / h, (ay - fy) / h, (bx - fx) / h, (by - fy) / h
            det = j11 * j22 - j12 * j21
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            x = x - (j22 * ex - j12 * ey) / det
            y = y - (-j21 * ex + j11 * ey) / det
        return x, y

    def rays(self, u: ArrayLike, v: ArrayLike) -> F64:
        """Viewing rays (..., 3) in camera axes (z = 1) through pixels ``(u, v)``."""
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        shape = np.broadcast(u, v).shape
        pts = np.stack(np.broadcast_arrays(u, v), axis=-1).reshape(-1, 1, 2)
        x = (pts[:, 0, 0] - self.cx) / self.fx
        y = (pts[:, 0, 1] - self.cy) / self.fy
        if self.has_distortion:
            x, y = self._undistort(x, y)
        out = np.stack([x, y, np.ones_like(x)], axis=-1)
        return out.reshape(shape + (3,))
