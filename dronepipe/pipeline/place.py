"""Placing posed frames on the map: camera model, mount, ground, ``GeoFrame``.

Shared by the batch pipeline and the live mode. A frame that cannot be placed (no camera
model, no height for the ground model, its centre does not see the ground) is rejected
with the reason, never guessed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.frames.refs import FrameRef, Posed, Rejected
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.cameras import CameraEntry, ResolvedCamera, resolve_camera
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.georef import FlatGround, Ground, HeightRef, Mount
from dronepipe.pipeline.loader import frame_id, gives_temperatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """How every frame of a flight is placed: the grid ``frame`` (UTM zone), the
    ``ground`` and which height of the pose goes with it (``height_ref``: ``"takeoff"``
    with a flat ground at take-off height, ``"msl"`` with a DEM in MSL)."""

    frame: UtmFrame
    ground: Ground = field(default=FlatGround(), compare=False)
    height_ref: HeightRef = "takeoff"
    max_off_nadir_deg: float = 75.0


class CameraResolver:
    """Resolves and caches each frame's camera model (by make, model, size and kind)."""

    def __init__(self, user: Sequence[CameraEntry] = ()) -> None:
        self.user = tuple(user)
        self._cache: dict[tuple[object, ...], ResolvedCamera] = {}

    def __call__(self, frame: FrameRef) -> ResolvedCamera:
        key = self._key(frame)
        if key not in self._cache:
            self._cache[key] = resolve_camera(frame.meta, kind=frame.kind, user=self.user,
                                              where=str(frame.path))
            log.info("camera of %s: %s (%s)", frame.name, self._cache[key].camera.name,
                     self._cache[key].source)
        return self._cache[key]

    def pin(self, frame: FrameRef, resolved: ResolvedCamera) -> None:
        """Use ``resolved`` for ``frame`` and the frames that share its key (every frame
        of one video: video files carry no EXIF to resolve a camera from)."""
        self._cache[self._key(frame)] = resolved

    @staticmethod
    def _key(frame: FrameRef) -> tuple[object, ...]:
        m = frame.meta
        video = frame.path if frame.is_video else None
        return (m.make, m.model, frame.width, frame.height, frame.kind, m.focal_mm, video)


def utm_frame_of(posed: Sequence[Posed]) -> UtmFrame:
    """The UTM zone of the flight (at the median position of the posed frames)."""
    lon = float(np.median([p.pose.lon_deg for p in posed]))
    lat = float(np.median([p.pose.lat_deg for p in posed]))
    return UtmFrame.for_point(lon, lat)


def place_frame(posed: Posed, cameras: CameraResolver, placement: Placement) -> GeoFrame:
    """The frame on the map; raises ``DronepipeError`` (with the reason) where it cannot be."""
    frame, pose = posed.frame, posed.pose
    height = pose.alt_rel_m if placement.height_ref == "takeoff" else pose.alt_msl_m
    if not math.isfinite(height):
        what = "height above take-off" if placement.height_ref == "takeoff" else "altitude MSL"
        raise DronepipeError(f"no {what} in its pose ({pose.source})")
    cam = cameras(frame)
    return geoframe(frame_id(frame), pose, cam.camera, placement.frame, cam.mount or Mount(),
                    placement.ground, placement.height_ref, kind=frame.kind,
                    radiometric=gives_temperatures(frame),
                    max_off_nadir_deg=placement.max_off_nadir_deg)


def place_frames(posed: Sequence[Posed], cameras: CameraResolver,
                 placement: Placement) -> tuple[list[GeoFrame], list[Rejected]]:
    """Place every posed frame; those that cannot be placed come back as ``Rejected``."""
    placed: list[GeoFrame] = []
    rejected: list[Rejected] = []
    for p in posed:
        try:
            placed.append(place_frame(p, cameras, placement))
        except DronepipeError as exc:
            rejected.append(Rejected(p.frame, f"cannot be placed: {exc}"))
    return placed, rejected
