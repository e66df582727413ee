"""Frame pixels for the mosaic and the detector, loaded lazily by frame id.

``FrameLoader`` is a picklable callable, so dask workers (threads, processes or a
cluster) load frames themselves and no pixels travel through the scheduler. Thermal
frames come back as float32 degrees C (through the radiometric decoders), RGB frames as
uint8 RGB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.frames.refs import FrameRef
from dronepipe.frames.video import read_video_frames
from dronepipe.thermal import DecodeOptions, TemperatureImage, decode_thermal, relative_image


def frame_id(frame: FrameRef) -> str:
    """The id a frame goes by in the mosaic, the tracker and process.json."""
    return f"{frame.kind}/{frame.name}"


@dataclass(frozen=True)
class FrameLoader:
    """``loader(frame_id) -> pixels``: float32 degrees C (thermal) or uint8 RGB (rgb)."""

    frames: Mapping[str, FrameRef] = field(compare=False)
    decode: DecodeOptions = DecodeOptions()

    def __call__(self, fid: str) -> np.ndarray:
        frame = self.frames[fid]
        if frame.kind == "thermal":
            return np.asarray(self.temperature(fid).celsius, dtype=np.float32)
        return _rgb(frame)

    def temperature(self, fid: str) -> TemperatureImage:
        """The decoded thermal frame with its radiometric parameters."""
        frame = self.frames[fid]
        if frame.is_video:
            return relative_image(_video_frame(frame), str(frame.path), self.decode)
        return decode_thermal(frame.path, self.decode)


def _rgb(frame: FrameRef) -> np.ndarray:
    if frame.is_video:
        return _video_frame(frame)
    bgr = cv2.imread(str(frame.path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DronepipeError(f"{frame.path}: cannot be read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _video_frame(frame: FrameRef) -> np.ndarray:
    assert frame.frame_index is not None
    for _, bgr in read_video_frames(frame.path, [frame.frame_index]):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else bgr
    raise DronepipeError(f"{frame.name}: frame not found in the video")
