"""Non-radiometric thermal pictures: 8-bit greyscale or palette images and colourised video frames.

Such pictures hold display levels, not temperatures: the camera's automatic gain
stretched each frame differently. They are decoded with ``radiometric=False`` and
their levels mapped linearly onto a span (``DecodeOptions.relative_span_c``, by default
0..100, i.e. percent of the display range) so they order pixels from cold to hot and
nothing more. Colour pictures are reduced to a level by the palette they were drawn
with where one is given (nearest palette entry, entries ordered cold to hot), else by
their luminance, which orders the common iron, white-hot and grey palettes but not
rainbow ones (the notes say which was used).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from dronepipe.errors import ThermalDecodeError
from dronepipe.thermal import metadata
from dronepipe.thermal.options import DecodeOptions
from dronepipe.thermal.records import CaptureMeta, TemperatureImage
from dronepipe.thermal.registry import Sniff

log = logging.getLogger(__name__)

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF8")
_GREY_TOLERANCE = 3          # display levels: channels this close count as grey


def relative_levels(pixels: np.ndarray, palette: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Display level in [0, 1] of every pixel, and how it was obtained.

    ``pixels``: (H, W) grey (any unsigned integer type: its full range is 0..1) or
    (H, W, 3|4) RGB(A) uint8. ``palette``: optional (N, 3) RGB entries, coldest first.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        top = float(np.iinfo(pixels.dtype).max) if pixels.dtype.kind in "ui" else 1.0
        return (pixels.astype(np.float32) / top), "grey level"
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected a grey or RGB(A) image, got shape {pixels.shape}")
    rgb = pixels[:, :, :3].astype(np.int16)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    if np.percentile(spread, 99) <= _GREY_TOLERANCE:
        return (rgb.mean(axis=2) / 255.0).astype(np.float32), "grey level"
    if palette is not None:
        return _palette_levels(rgb, np.asarray(palette, dtype=np.float32)), "palette index"
    luma = rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
    return (luma / 255.0).astype(np.float32), "luminance of a colour palette (approximate ordering)"


def _palette_levels(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette entry, over (entries - 1), per pixel."""
    packed = (rgb[:, :, 0].astype(np.int32) << 16) | (rgb[:, :, 1].astype(np.int32) << 8) | rgb[:, :, 2]
    colours, inverse = np.unique(packed.ravel(), return_inverse=True)
    cols = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.float32)
    dist = ((cols[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    index = dist.argmin(axis=1).astype(np.float32) / max(len(palette) - 1, 1)
    return index[inverse].reshape(packed.shape)


def relative_image(pixels: np.ndarray, source: str | Path, options: DecodeOptions | None = None,
                   meta: CaptureMeta | None = None, palette: np.ndarray | None = None,
                   decoder: str = "relative") -> TemperatureImage:
    """A non-radiometric ``TemperatureImage`` from display pixels (grey or RGB, e.g. a video frame)."""
    options = options or DecodeOptions()
    levels, how = relative_levels(pixels, palette)
    low, high = options.relative_span_c
    values = (low + levels * (high - low)).astype(np.float32)
    note = (f"NOT RADIOMETRIC: relative values only ({how} mapped linearly onto {low:g}..{high:g}); "
            "these are not temperatures")
    return TemperatureImage(values, False, Path(source), decoder, meta=meta or CaptureMeta(), notes=(note,))


class RelativeImageDecoder:
    """Plain JPEG, PNG, BMP or GIF pictures without radiometric data (the last resort)."""

    name = "relative-image"

    def probe(self, sniff: Sniff) -> bool:
        """A picture format Pillow reads."""
        return sniff.head.startswith(_MAGIC)

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """Display levels onto the relative span; truncated pictures are errors."""
        try:
            with Image.open(io.BytesIO(sniff.data)) as img:
                img.load()
                pixels = _as_array(img)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ThermalDecodeError(f"{sniff.path}: corrupt or truncated image ({exc})") from exc
        layout = sniff.jpeg_layout
        meta = metadata.jpeg_meta(sniff.data, layout) if layout is not None else CaptureMeta()
        log.info("%s: no radiometric data; decoded as relative values", sniff.path)
        return relative_image(pixels, sniff.path, options, meta, decoder=self.name)


def _as_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("L", "I;16", "I;16B", "I;16L"):
        return np.asarray(img)
    if img.mode == "I":                  # 16-bit PNGs may open as 32-bit integers
        return np.asarray(img).clip(0, 65535).astype(np.uint16)
    return np.asarray(img.convert("RGB"))
