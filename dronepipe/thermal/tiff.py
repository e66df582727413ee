"""Thermal TIFFs: 16-bit linear counts (TLinear), float temperatures, and 8-bit pictures.

* integer samples of 16 bits or more: ``T_K = counts * scale + offset`` with the
  ``DecodeOptions.tiff_scale`` (centi-kelvin by default; presets in
  ``dronepipe.thermal.options``); a count of 0 with no offset is "no data" (0 K);
* float samples: degrees Celsius as they are (or kelvin with ``tiff_float_unit="K"``),
  including the ``*_temp_c.tif`` files dronepipe writes, whose radiometric flag and
  decode parameters are read back from their description;
* 8-bit grey or RGB: a picture, decoded as relative values (``relative``).

EXIF time, make/model and the GPS sub-IFD are read where the TIFF has them.
A result outside -100..2000 C is almost always a wrong scale: it is decoded as asked
and a ``DronepipeWarning`` says so.

16-bit counts become degrees C through a table of all 65536 counts made once per scale
with the float64 formula (``celsius_table``), so the values are those of the float64
arithmetic bit for bit: on the 640 x 512 frames of the simulated flight the conversion
took 3.7 ms in float64 and takes 0.56 ms (a whole ``decode_thermal`` 8.2 -> 5.2 ms,
measured side by side on the loaded 2-core machine). The compressed strips themselves
(zlib, LZW, the differencing predictor) are decoded by tifffile through the imagecodecs
dependency, in C and without the GIL, so that frames decode in parallel on the dask
threads: 2.4 ms CPU a 640 x 512 zlib frame, against 4.4 ms through tifffile's Python
fallback (idle machine, the simulated flight's frames).
"""

from __future__ import annotations

import functools
import json
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import tifffile
from tifffile import TIFF

from dronepipe.errors import DronepipeWarning, ThermalDecodeError
from dronepipe.thermal import metadata
from dronepipe.thermal.options import KELVIN_OFFSET, DecodeOptions, TiffScale
from dronepipe.thermal.records import (
    CaptureMeta,
    LinearCounts,
    RadiometricParams,
    TemperatureImage,
    shared_table,
)
from dronepipe.thermal.registry import Sniff
from dronepipe.thermal.relative import relative_image

log = logging.getLogger(__name__)

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
PLAUSIBLE_C = (-100.0, 2000.0)
DESCRIPTION_KEY = "dronepipe"
"""Key of the JSON object dronepipe writes into ImageDescription of its temperature TIFFs."""


def tiff_meta(tags: tifffile.TiffTags) -> CaptureMeta:
    """Make, model, time and GPS from a TIFF page's tags (EXIF and GPS sub-IFDs included)."""
    def value(name: str) -> Any:
        tag = tags.get(name)
        return None if tag is None else tag.value

    ifd0 = {tag.code: tag.value for tag in tags.values()}
    sub = _by_code(value("ExifTag") or {}, TIFF.EXIF_TAGS)
    gps = {code: _rationals(val) for code, val in _by_code(value("GPSTag") or {}, TIFF.GPS_TAGS).items()}
    return metadata.capture_meta(ifd0, sub, gps, {})


def _by_code(values: Mapping[str, Any], names: Any) -> dict[int, Any]:
    """tifffile's sub-IFD dict (by tag name) by tag number."""
    return {names[name]: val for name, val in values.items() if name in names}


def _rationals(val: Any) -> Any:
    """tifffile gives RATIONAL[3] as 6 integers (num, den, ...): back to 3 numbers."""
    if isinstance(val, tuple) and len(val) == 6 and all(isinstance(v, int) for v in val):
        return tuple(val[i] / val[i + 1] if val[i + 1] else float("nan") for i in range(0, 6, 2))
    if isinstance(val, tuple) and len(val) == 2 and all(isinstance(v, int) for v in val):
        return val[0] / val[1] if val[1] else None
    return val


def _own_description(tags: tifffile.TiffTags) -> Mapping[str, Any] | None:
    tag = tags.get("ImageDescription")
    if tag is None or not str(tag.value).lstrip().startswith("{"):
        return None
    try:
        doc = json.loads(tag.value)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and DESCRIPTION_KEY in doc else None


class TiffDecoder:
    """TIFF files: linear counts, float temperatures, or 8-bit pictures (relative)."""

    name = "tiff"

    def probe(self, sniff: Sniff) -> bool:
        """TIFF or BigTIFF magic in either byte order."""
        return sniff.head[:4] in _TIFF_MAGIC

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """Temperatures from the first page (see the module docstring for the sample types)."""
        try:
            with tifffile.TiffFile(sniff.path) as tif:
                page = tif.pages.first
                pixels = page.asarray()
                meta, own = tiff_meta(page.tags), _own_description(page.tags)
                spp = int(page.samplesperpixel)
        except (tifffile.TiffFileError, ValueError, OSError, EOFError, IndexError) as exc:
            raise ThermalDecodeError(f"{sniff.path}: corrupt or truncated TIFF ({exc})") from exc
        if pixels.dtype == np.uint8:
            return relative_image(pixels, sniff.path, options, meta, decoder=self.name)
        if spp != 1 or pixels.ndim != 2:
            raise ThermalDecodeError(f"{sniff.path}: TIFF with {spp} samples of {pixels.dtype} per pixel "
                                     f"and shape {pixels.shape} is not a thermal frame")
        if pixels.dtype.kind == "f":
            return self._floats(pixels, sniff, options, meta, own)
        if pixels.dtype.kind in "ui":
            return self._counts(pixels, sniff, options, meta)
        raise ThermalDecodeError(f"{sniff.path}: TIFF samples of type {pixels.dtype} are not supported")

    def _counts(self, counts: np.ndarray, sniff: Sniff, options: DecodeOptions, meta: CaptureMeta) -> TemperatureImage:
        scale = options.tiff_scale
        celsius = counts_to_celsius(counts, scale)
        note = (f"TIFF linear counts: T = counts * {scale.scale_k_per_count:g} K + {scale.offset_k:g} K "
                f"({scale.name})")
        notes = (note, *_plausibility(celsius, sniff, f"TIFF scale {scale.name!r}"))
        linear = _linear(counts, scale)
        return TemperatureImage(celsius, True, sniff.path, self.name, meta=meta, notes=notes,
                                linear=linear)

    def _floats(self, values: np.ndarray, sniff: Sniff, options: DecodeOptions, meta: CaptureMeta,
                own: Mapping[str, Any] | None) -> TemperatureImage:
        doc = own[DESCRIPTION_KEY] if own else {}
        unit = str(doc.get("units", "C")) if own else options.tiff_float_unit
        celsius = values.astype(np.float32)
        if unit.upper() == "K":
            celsius = celsius - np.float32(KELVIN_OFFSET)
        radiometric = bool(doc.get("radiometric", True))
        params = RadiometricParams(**{k: v for k, v in (doc.get("params") or {}).items()
                                      if k in RadiometricParams.__dataclass_fields__})
        notes = (f"float TIFF in {'kelvin' if unit.upper() == 'K' else 'degrees C'}"
                 + (" written by dronepipe" if own else ""),
                 *(doc.get("notes") or ()))
        if radiometric:
            notes = (*notes, *_plausibility(celsius, sniff, "float unit (C or K)"))
        return TemperatureImage(celsius, radiometric, sniff.path, self.name, params, meta, tuple(notes))


def counts_to_celsius(counts: np.ndarray, scale: TiffScale) -> np.ndarray:
    """Degrees C (float32, a new array) of integer ``counts`` on ``scale``: the float64
    ``counts * scale + offset - 273.15`` rounded to float32, NaN where a count is 0 and the
    offset is 0 (0 K: no data). 16-bit counts go through ``celsius_table``: one lookup a
    pixel, the same values bit for bit (see the module for the time it saves)."""
    if counts.dtype == np.uint16:
        return np.take(celsius_table(scale), counts)
    celsius = _celsius(counts, scale)
    if scale.offset_k == 0.0:
        celsius[counts == 0] = np.nan
    return celsius


@functools.lru_cache(maxsize=8)
def celsius_table(scale: TiffScale) -> np.ndarray:
    """Degrees C (float32, read-only) of every 16-bit count 0..65535 on ``scale``,
    computed as ``counts_to_celsius`` computes them (256 kB, made once per scale)."""
    table = _celsius(np.arange(2**16, dtype=np.uint16), scale)
    if scale.offset_k == 0.0:
        table[0] = np.nan
    table.flags.writeable = False
    return shared_table(table, celsius_table, scale)


def _linear(counts: np.ndarray, scale: TiffScale) -> LinearCounts | None:
    """The counts and their table, where the temperatures came through the table."""
    if counts.dtype != np.uint16:
        return None
    counts.flags.writeable = False
    return LinearCounts(counts, celsius_table(scale))


def _celsius(counts: np.ndarray, scale: TiffScale) -> np.ndarray:
    kelvin = counts.astype(np.float64) * scale.scale_k_per_count + scale.offset_k
    return (kelvin - KELVIN_OFFSET).astype(np.float32)


def _plausibility(celsius: np.ndarray, sniff: Sniff, what: str) -> tuple[str, ...]:
    """A warning (and a note) when the median temperature is outside ``PLAUSIBLE_C``."""
    sample = celsius[::4, ::4]                   # a median of every 16th pixel is plenty here
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return ()
    median = float(np.median(finite))
    if PLAUSIBLE_C[0] <= median <= PLAUSIBLE_C[1]:
        return ()
    message = f"{sniff.path}: median {median:.1f} C is implausible; wrong {what}?"
    warnings.warn(message, DronepipeWarning, stacklevel=2)
    return (message,)
