"""``GeoFrame``: one frame placed on the map, and the mapping between its pixels and the grid.

A GeoFrame holds what places a frame (camera model, ``CameraPose``, ground) and what the
mosaic needs to know without touching pixels (footprint polygon, ground sample distance,
capture time). It carries a ``Correction2D`` that registration and adjustment solve per
frame; every mapping below goes through it, so a corrected frame lands corrected in the
mosaic and its hotspots land corrected on the map.

Map coordinates are the flight's UTM grid (easting, northing, metres); heights are in
the ground's datum. A grid point maps to pixels through the raw geometry:
``(E, N) -> correction.invert -> (e, n, ground height at (e, n)) -> ground_to_pixels``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronepipe.errors import GeoreferenceError
from dronepipe.flightlogs.records import Pose
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.dem import crop_grid
from dronepipe.stitching.georef import (
    CameraPose,
    FlatGround,
    GridGround,
    Ground,
    HeightRef,
    Mount,
    camera_pose,
    intersect_ground,
    pixels_to_ground,
)

F64 = NDArray[np.float64]
Kind = Literal["thermal", "rgb"]
Bounds = tuple[float, float, float, float]  # west, south, east, north (grid metres)


@dataclass(frozen=True)
class GeoFrame:
    """A frame on the map.

    ``frame_id`` names the frame (the batch loader is called with it); ``kind`` is
    ``"thermal"`` (pixels float32 degrees C) or ``"rgb"`` (uint8 RGB); ``t_utc_s`` the
    capture time (UTC seconds); ``epsg`` the grid's UTM zone; ``footprint_raw_m`` the
    ground points of the image border (N, 2) before correction; ``gsd_m`` the ground
    sample distance at the image centre (metres per pixel); ``max_off_nadir_rad`` the
    steepest viewing angle from the vertical that is mapped; ``norm_limits`` the range
    (x0, x1, y0, y1) of undistorted normalised image coordinates inside the image (points
    outside it are not mapped, however the distortion polynomial folds); ``radiometric``
    whether the pixels are measured temperatures.
    """

    frame_id: str
    kind: Kind
    t_utc_s: float
    epsg: int
    camera: CameraModel
    pose: CameraPose
    ground: Ground = field(compare=False)
    footprint_raw_m: F64 = field(compare=False, repr=False)
    gsd_m: float
    max_off_nadir_rad: float
    norm_limits: tuple[float, float, float, float]
    radiometric: bool
    correction: Correction2D = Correction2D()

    @functools.cached_property
    def correction_centre_m(self) -> tuple[float, float]:
        """The centre the correction turns and scales about: the raw footprint centroid
        (computed once a frame: registration asks for it twice a pair)."""
        return polygon_centroid(self.footprint_raw_m)

    def with_correction(self, dx_m: float = 0.0, dy_m: float = 0.0, dtheta_rad: float = 0.0,
                        scale: float = 1.0) -> GeoFrame:
        """This frame with the (absolute, replacing) correction ``dx_m, dy_m`` (metres east,
        north), ``dtheta_rad`` (counter-clockwise) and ``scale`` about the footprint centroid."""
        corr = Correction2D(dx_m, dy_m, dtheta_rad, scale, self.correction_centre_m)
        return replace(self, correction=corr)

    @property
    def footprint_m(self) -> F64:
        """The corrected footprint polygon (N, 2) in grid metres."""
        e, n = self.correction.apply(self.footprint_raw_m[:, 0], self.footprint_raw_m[:, 1])
        return np.stack([e, n], axis=-1)

    @property
    def bounds_m(self) -> Bounds:
        """(west, south, east, north) of the corrected footprint, grid metres."""
        fp = self.footprint_m
        return (float(fp[:, 0].min()), float(fp[:, 1].min()),
                float(fp[:, 0].max()), float(fp[:, 1].max()))

    def map_to_pixels(self, easting_m: ArrayLike,
                      northing_m: ArrayLike) -> tuple[F64, F64, F64]:
        """Pixel ``(u, v)`` seeing grid points, and the cosine of the viewing ray's angle
        from the vertical there (1 = straight down). NaN where the frame does not see the
        point (outside its field of view, behind it, off the ground model, too oblique)."""
        u, v, cos_view, ok = self.project_points(easting_m, northing_m)
        return (np.where(ok, u, np.nan), np.where(ok, v, np.nan),
                np.where(ok, cos_view, np.nan))

    def project_points(self, easting_m: ArrayLike,
                       northing_m: ArrayLike) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
        """``map_to_pixels`` before masking: the projection ``u, v`` and viewing cosine of
        grid points (NaN only behind the camera or off the ground model), and ``ok``,
        whether the frame sees them (in front, inside the undistorted image limits, not
        too oblique). A mosaic interpolates the smooth unmasked values between lattice
        nodes and tests visibility per pixel."""
        er, nr = self.correction.invert(easting_m, northing_m)
        h = self.ground.height_at(er, nr)
        pts = np.stack(np.broadcast_arrays(er, nr, h), axis=-1)
        pc = self.pose.to_camera(pts)
        z = pc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = pc[..., 0] / z, pc[..., 1] / z
            d = self.pose.centre_m - pts
            cos_view = d[..., 2] / np.linalg.norm(d, axis=-1)
            x0, x1, y0, y1 = self.norm_limits
            front = z > 0
            ok = (front & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
                  & (cos_view >= math.cos(self.max_off_nadir_rad)))
        u, v = self.camera.project(pc)
        return (np.where(front, u, np.nan), np.where(front, v, np.nan),
                np.where(front, cos_view, np.nan), ok)

    def pixels_to_map(self, u: ArrayLike, v: ArrayLike) -> F64:
        """Corrected grid points (..., 3) seen at pixels ``(u, v)``: easting, northing (metres)
        and the ground height there (metres, the ground's datum); NaN where no ground."""
        pts = pixels_to_ground(self.pose, self.camera, u, v, self.ground)
        e, n = self.correction.apply(pts[..., 0], pts[..., 1])
        return np.stack([e, n, pts[..., 2]], axis=-1)


def geoframe(frame_id: str, pose: Pose, camera: CameraModel, frame: UtmFrame,
             mount: Mount = Mount(), ground: Ground = FlatGround(),
             height_ref: HeightRef = "takeoff", *, kind: Kind = "thermal",
             radiometric: bool | None = None, max_off_nadir_deg: float = 75.0,
             border_points: int = 16) -> GeoFrame:
    """Place a frame: its camera pose, footprint (the image border on the ground,
    ``border_points`` per side, clipped to ``max_off_nadir_deg`` from the nadir) and GSD.

    ``radiometric`` defaults to ``kind == "thermal"``. A grid ground is cropped to the
    footprint. Raises ``GeoreferenceError`` where the image centre does not see the ground.
    """
    cp = camera_pose(pose, frame, mount, height_ref)
    max_off = math.radians(max_off_nadir_deg)
    uu, vv = image_border(camera, border_points)
    rays = camera.rays(uu, vv)
    footprint = _footprint(cp, rays, ground, max_off, frame_id)
    gsd = _centre_gsd(cp, camera, ground, frame_id)
    bounds = (float(footprint[:, 0].min()), float(footprint[:, 1].min()),
              float(footprint[:, 0].max()), float(footprint[:, 1].max()))
    if isinstance(ground, GridGround):
        ground = crop_grid(ground, bounds)
    return GeoFrame(frame_id, kind, pose.t_utc_s, frame.epsg, camera, cp, ground, footprint,
                    gsd, max_off, _norm_limits(rays),
                    kind == "thermal" if radiometric is None else radiometric)


def image_border(camera: CameraModel, per_side: int) -> tuple[F64, F64]:
    """Pixel coordinates of the image's outer border, clockwise from the top-left corner."""
    w, h = camera.width - 0.5, camera.height - 0.5
    t = np.linspace(0.0, 1.0, per_side, endpoint=False)
    u = np.concatenate([-0.5 + t * (w + 0.5), np.full_like(t, w), w - t * (w + 0.5), np.full_like(t, -0.5)])
    v = np.concatenate([np.full_like(t, -0.5), -0.5 + t * (h + 0.5), np.full_like(t, h), h - t * (h + 0.5)])
    return u, v


def _footprint(cp: CameraPose, rays: F64, ground: Ground, max_off: float, frame_id: str) -> F64:
    """Ground points of border rays, pulled in to the disc the off-nadir limit allows."""
    pts = intersect_ground(cp, rays, ground)
    nadir = cp.centre_m[:2]
    h0 = float(ground.height_at(nadir[0], nadir[1]))
    if not math.isfinite(h0):
        h0 = float(np.nanmedian(pts[:, 2])) if np.isfinite(pts[:, 2]).any() else math.nan
    above = cp.centre_m[2] - h0
    if not (above > 0):
        raise GeoreferenceError(f"frame {frame_id}: the camera is not above the ground "
                                f"(height above ground {above:.1f} m)")
    radius = above * math.tan(max_off)
    d = pts[:, :2] - nadir
    far = ~np.isfinite(d).all(axis=1) | (np.hypot(d[:, 0], d[:, 1]) > radius)
    dg = (rays @ cp.R_grid_from_cam.T)[:, :2]
    norm = np.hypot(dg[:, 0], dg[:, 1])
    norm = np.where(norm > 0, norm, 1.0)
    clipped = nadir + radius * dg / norm[:, None]
    return np.where(far[:, None], clipped, pts[:, :2])


def _centre_gsd(cp: CameraPose, camera: CameraModel, ground: Ground, frame_id: str) -> float:
    """Metres per pixel at the image centre (geometric mean of the two image directions)."""
    cx, cy = camera.cx, camera.cy
    p = pixels_to_ground(cp, camera, np.array([cx - 0.5, cx + 0.5, cx, cx]),
                         np.array([cy, cy, cy - 0.5, cy + 0.5]), ground)
    if not np.isfinite(p).all():
        raise GeoreferenceError(f"frame {frame_id}: the image centre does not see the ground "
                                "(camera above the horizon, or off the DEM)")
    du = float(np.linalg.norm(p[1] - p[0]))
    dv = float(np.linalg.norm(p[3] - p[2]))
    return math.sqrt(du * dv)


def _norm_limits(rays: F64, pad: float = 0.02) -> tuple[float, float, float, float]:
    """Padded range of the border rays' normalised coordinates (the image in undistorted terms)."""
    x0, x1 = float(rays[:, 0].min()), float(rays[:, 0].max())
    y0, y1 = float(rays[:, 1].min()), float(rays[:, 1].max())
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    return x0 - px, x1 + px, y0 - py, y1 + py


def polygon_centroid(poly: ArrayLike) -> tuple[float, float]:
    """Area centroid of a simple polygon (N, 2); the vertex mean where the area vanishes."""
    p = np.asarray(poly, dtype=np.float64)
    ref = p.mean(axis=0)
    x, y = p[:, 0] - ref[0], p[:, 1] - ref[1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-12:
        return float(ref[0]), float(ref[1])
    cx = ((x + xn) * cross).sum() / (6.0 * area)
    cy = ((y + yn) * cross).sum() / (6.0 * area)
    return float(ref[0] + cx), float(ref[1] + cy)
