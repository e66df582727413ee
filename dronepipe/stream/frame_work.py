"""One live frame's stage work: its ``FrameRef``, its pixels, its placement.

These are the batch stages called on one frame: metadata (``frames.metadata``),
decoding (``thermal.decode_thermal``, ``relative_image`` for grey video), placement
(``pipeline.place.place_frame``). Video frames have no EXIF: they get the make and
model of the camera file's thermal entry, so the camera file describes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.flightlogs.records import Pose
from dronepipe.frames.discover import content_kind
from dronepipe.frames.metadata import FrameMeta, read_frame_meta
from dronepipe.frames.refs import FrameKind, FrameRef, Posed
from dronepipe.pipeline.place import CameraResolver, Placement, place_frame
from dronepipe.stitching.cameras import CameraEntry
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stream.arrivals import Arrival
from dronepipe.thermal import (
    DecodeOptions,
    TemperatureImage,
    decode_thermal,
    relative_image,
)


def frame_ref(arrival: Arrival, entries: Sequence[CameraEntry] = ()) -> FrameRef:
    """The ``FrameRef`` of an arrival (a still's metadata is read from its file);
    ``DronepipeError`` where the file cannot be read."""
    if arrival.pixels is not None:
        h, w = arrival.pixels.shape[:2]
        kind: FrameKind = arrival.kind or "thermal"
        meta = video_meta(entries, kind, w, h)
        return FrameRef(Path(arrival.name), kind, None, w, h, meta)
    assert arrival.path is not None
    meta = read_frame_meta(arrival.path)
    kind = arrival.kind or content_kind(meta)
    return FrameRef(arrival.path, kind, meta.t_camera_s, meta.width or 0, meta.height or 0, meta)


def video_meta(entries: Sequence[CameraEntry], kind: FrameKind, width: int,
               height: int) -> FrameMeta:
    """Metadata for a video frame: its size, and the make/model of the camera file's
    first entry of its kind (so ``resolve_camera`` finds that entry)."""
    for e in entries:
        if e.kind in (kind, None):
            return FrameMeta(make=e.make, model=e.model, width=width, height=height)
    return FrameMeta(width=width, height=height)


def decode(arrival: Arrival, ref: FrameRef, options: DecodeOptions,
           span_c: tuple[float, float]) -> TemperatureImage | np.ndarray:
    """Thermal: a ``TemperatureImage`` (video grey levels mapped onto ``span_c``,
    non-radiometric); RGB: uint8 (H, W, 3). ``DronepipeError`` for a corrupt frame."""
    if ref.kind == "thermal":
        if arrival.pixels is not None:
            opts = dataclasses.replace(options, relative_span_c=span_c)
            return relative_image(arrival.pixels, arrival.name, opts, decoder="live-video")
        return decode_thermal(ref.path, options)
    if arrival.pixels is not None:
        px = arrival.pixels
        return cv2.cvtColor(px, cv2.COLOR_BGR2RGB) if px.ndim == 3 else np.dstack([px] * 3)
    bgr = cv2.imread(str(ref.path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DronepipeError(f"{ref.path}: cannot be read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def place(ref: FrameRef, pose: Pose, cameras: CameraResolver, placement: Placement,
          radiometric: bool) -> GeoFrame:
    """The frame on the map (``DronepipeError`` with the reason where it cannot be)."""
    gf = place_frame(Posed(ref, pose), cameras, placement)
    return gf if gf.radiometric == radiometric else dataclasses.replace(gf, radiometric=radiometric)
