"""Frame pixels for the mosaic and the detector, loaded lazily by frame id.

``FrameLoader`` is a picklable callable, so dask workers (threads, processes or a
cluster) load frames themselves and no pixels travel through the scheduler. Thermal
frames come back as float32 degrees C (through the radiometric decoders), RGB frames as
uint8 RGB. Thermal video frames hold display levels: they come back as relative
values (``relative_image``) on their video's span (``video_spans``, else
``DecodeOptions.relative_span_c``) and are never radiometric (``gives_temperatures``).
Video frames decoded ahead (``pipeline.video_cache``) are read from their files.
With a ``FrameCache`` (``cache``), every frame is decoded once while it stays in the
cache, whichever stage asks, and comes back read-only.

A 16-bit thermal TIFF is cached as its counts (``PackedTemperature``: 2 bytes a pixel,
the degrees C 4) and made degrees C again on each hit through the decoder's own table
(``thermal.tiff.celsius_table``: the same values bit for bit, about 0.5 ms for 640 x
512), so the same megabytes hold twice the frames: 64 MB hold 97 frames instead of 48.
On the simulated 300-frame flight (``bench/memory.py``, with the table conversion of
``thermal.tiff``) the mosaic stage decodes a frame 1.3 times instead of 1.4, the job
takes 32.6 s CPU instead of 34.4, and the peak stays 410-414 MB (150 frames: 1.2 -> 0.9
decodes a frame in the mosaic).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.frames.refs import FrameRef
from dronepipe.frames.video import read_video_frames
from dronepipe.pipeline.framecache import FrameCache, read_only
from dronepipe.thermal import (
    CaptureMeta,
    DecodeOptions,
    LinearCounts,
    RadiometricParams,
    TemperatureImage,
    decode_thermal,
    relative_image,
)

T = TypeVar("T")


def frame_id(frame: FrameRef) -> str:
    """The id a frame goes by in the mosaic, the tracker and process.json."""
    return f"{frame.kind}/{frame.name}"


def gives_temperatures(frame: FrameRef) -> bool:
    """Whether the loader gives a frame's temperatures (a radiometric still) rather than
    relative values (a video frame: display levels) or colours (RGB)."""
    return frame.kind == "thermal" and not frame.is_video


@dataclass(frozen=True)
class FrameLoader:
    """``loader(frame_id) -> pixels``: float32 degrees C (thermal) or uint8 RGB (rgb).

    ``video_spans``: degrees C of grey 0 and 255 per grey thermal video (by its path as
    text); ``extracted``: frame id -> file of a video frame decoded ahead; ``cache``:
    decoded frames shared by the stages (None: decode on every call).
    """

    frames: Mapping[str, FrameRef] = field(compare=False)
    decode: DecodeOptions = DecodeOptions()
    video_spans: Mapping[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    extracted: Mapping[str, Path] = field(default_factory=dict, compare=False)
    cache: FrameCache | None = field(default=None, compare=False)

    def __call__(self, fid: str) -> np.ndarray:
        frame = self.frames[fid]
        if frame.kind == "thermal":
            return np.asarray(self.temperature(fid).celsius, dtype=np.float32)
        if frame.is_video:
            return self._cached(fid, "pixels", lambda: self._video_frame(fid))
        return self._cached(fid, "pixels", lambda: _rgb(frame))

    def temperature(self, fid: str) -> TemperatureImage:
        """The decoded thermal frame with its radiometric parameters (relative values,
        ``radiometric`` False, for a video frame). Cached as its counts where it has
        them (``PackedTemperature``)."""
        if self.cache is None:
            return self._temperature(fid)
        decoded: list[TemperatureImage] = []

        def load() -> TemperatureImage | PackedTemperature:
            decoded.append(self._temperature(fid))
            return _frozen(pack(decoded[0]))

        held = self.cache.get(self._key(fid, "temperature"), load, _nbytes)
        if decoded:
            return replace(decoded[0], linear=None)
        return held.unpack() if isinstance(held, PackedTemperature) else held

    def is_cached(self, fid: str, what: str = "temperature") -> bool:
        """Whether a frame's decoded pixels (``what``: ``"temperature"`` for a thermal
        frame, ``"pixels"`` otherwise) are in the cache now, so loading costs no decode."""
        return self.cache is not None and self._key(fid, what) in self.cache

    def _cached(self, fid: str, what: str, load: Callable[[], T]) -> T:
        """``load()``, or its value from the cache (arrays read-only)."""
        if self.cache is None:
            return load()
        return self.cache.get(self._key(fid, what), lambda: _frozen(load()), _nbytes)

    def _key(self, fid: str, what: str) -> Hashable:
        """What a decoded frame depends on: file (and its identity), index, options."""
        frame = self.frames[fid]
        st = frame.path.stat()
        done = self.extracted.get(fid)
        return (what, str(frame.path), st.st_mtime_ns, st.st_size, frame.frame_index,
                self.decode, self.video_spans.get(str(frame.path)), str(done))

    def _temperature(self, fid: str) -> TemperatureImage:
        frame = self.frames[fid]
        if frame.is_video:
            span = self.video_spans.get(str(frame.path))
            options = self.decode if span is None else replace(self.decode, relative_span_c=span)
            return relative_image(self._video_frame(fid), frame.path, options, decoder="video")
        return decode_thermal(frame.path, self.decode, keep_counts=self.cache is not None)

    def _video_frame(self, fid: str) -> np.ndarray:
        """A video frame's pixels: RGB (colour video) or grey, from its decoded file if any."""
        frame = self.frames[fid]
        done = self.extracted.get(fid)
        pixels = cv2.imread(str(done), cv2.IMREAD_UNCHANGED) if done is not None else None
        if pixels is None:
            pixels = _from_video(frame)
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB) if pixels.ndim == 3 else pixels


@dataclass(frozen=True, eq=False)
class PackedTemperature:
    """A decoded thermal frame as the cache holds it: its 16-bit counts (``linear``, 2
    bytes a pixel) instead of its degrees C (4 bytes), and the rest of the image.
    ``unpack`` gives the image back, its degrees the decoder's bit for bit."""

    linear: LinearCounts
    radiometric: bool
    source: Path
    decoder: str
    params: RadiometricParams
    meta: CaptureMeta
    notes: tuple[str, ...]

    def unpack(self) -> TemperatureImage:
        """The image (a new float32 array of degrees C, 0.5 ms for 640 x 512)."""
        return TemperatureImage(self.linear.celsius(), self.radiometric, self.source,
                                self.decoder, self.params, self.meta, self.notes)

    @property
    def nbytes(self) -> int:
        return self.linear.nbytes + 1024


def pack(image: TemperatureImage) -> TemperatureImage | PackedTemperature:
    """The form to cache ``image`` in: its counts where it has them, else itself."""
    if image.linear is None:
        return image
    return PackedTemperature(image.linear, image.radiometric, image.source, image.decoder,
                             image.params, image.meta, image.notes)


def _frozen(value: T) -> T:
    """A decoded frame made read-only (its pixels are shared through the cache)."""
    if isinstance(value, np.ndarray):
        read_only(value)
    elif isinstance(value, TemperatureImage):
        read_only(value.celsius)
    elif isinstance(value, PackedTemperature):
        read_only(value.linear.counts)
    return value


def _nbytes(value: object) -> int:
    if isinstance(value, TemperatureImage):
        return int(value.celsius.nbytes) + 1024
    if isinstance(value, PackedTemperature):
        return value.nbytes
    return int(getattr(value, "nbytes", 1024))


def _rgb(frame: FrameRef) -> np.ndarray:
    bgr = cv2.imread(str(frame.path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DronepipeError(f"{frame.path}: cannot be read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _from_video(frame: FrameRef) -> np.ndarray:
    assert frame.frame_index is not None
    for _, bgr in read_video_frames(frame.path, [frame.frame_index]):
        return bgr
    raise DronepipeError(f"{frame.name}: frame not found in the video")
