"""Float32 degrees-C TIFFs of single thermal frames (``<stem>_temp_c.tif``), written atomically.

What a reader gets back:

* pixels: float32 degrees Celsius, NaN = no value (also declared as GDAL nodata);
* ImageDescription: JSON ``{"dronepipe": {"units": "C", "radiometric": ..., "decoder",
  "source", "params": {emissivity, object_distance_m, ...}, "notes": [...]}}``; a file
  with ``"radiometric": false`` holds relative values, not temperatures;
* GDAL_METADATA: the same facts as ``key=value`` items (``rasterio``'s ``tags()``);
* Make, Model, DateTime, and standard EXIF (DateTimeOriginal, SubSecTimeOriginal,
  OffsetTimeOriginal) and GPS (latitude, longitude, altitude) sub-IFDs copied from
  the source frame where it had them.

The file is written to a temporary name in the target folder and renamed into place,
so an interrupted run never leaves a half-written product.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np

from dronepipe import __version__
from dronepipe.outputs.tiff_ifd import ASCII, BYTE, RATIONAL, Tag, tiff_bytes

if TYPE_CHECKING:  # annotations only: dronepipe.thermal imports this module
    from dronepipe.thermal.records import CaptureMeta, TemperatureImage


def temperature_tiff_name(source: Path) -> str:
    """``<stem>_temp_c.tif`` for a source frame."""
    return f"{source.stem}_temp_c.tif"


def description(image: TemperatureImage) -> dict[str, Any]:
    """The JSON object stored in ImageDescription (see the module docstring)."""
    return {"dronepipe": {
        "version": __version__, "units": "C", "radiometric": image.radiometric,
        "decoder": image.decoder, "source": image.source.name,
        "params": image.params.as_dict(), "notes": list(image.notes)}}


def _gdal_metadata(image: TemperatureImage) -> str:
    items = {"units": "degC", "radiometric": str(image.radiometric).lower(),
             "decoder": image.decoder, "source": image.source.name,
             **{k: f"{v:.6g}" for k, v in image.params.as_dict().items()}}
    body = "".join(f'<Item name="{escape(k)}">{escape(str(v))}</Item>' for k, v in items.items())
    return f"<GDALMetadata>{body}</GDALMetadata>"


def _time_tags(meta: CaptureMeta) -> tuple[list[Tag], list[Tag]]:
    """(IFD0 DateTime, EXIF time tags) from the capture time."""
    if meta.capture_time is None:
        return [], []
    when = meta.capture_time
    text = when.strftime("%Y:%m:%d %H:%M:%S")
    exif = [Tag(36867, ASCII, text)]
    if when.microsecond:
        exif.append(Tag(37521, ASCII, f"{when.microsecond // 1000:03d}"))
    offset = when.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        exif.append(Tag(36881, ASCII, f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"))
    return [Tag(306, ASCII, text)], exif


def _dms(deg: float) -> list[float]:
    deg = abs(deg)
    whole = int(deg)
    minutes = int((deg - whole) * 60)
    seconds = round(((deg - whole) * 60 - minutes) * 60, 4)
    return [whole, minutes, seconds]


def _gps_tags(meta: CaptureMeta) -> list[Tag]:
    if meta.lat_deg is None or meta.lon_deg is None:
        return []
    tags = [Tag(0, BYTE, [2, 3, 0, 0]), Tag(1, ASCII, "N" if meta.lat_deg >= 0 else "S"),
            Tag(2, RATIONAL, _dms(meta.lat_deg)), Tag(3, ASCII, "E" if meta.lon_deg >= 0 else "W"),
            Tag(4, RATIONAL, _dms(meta.lon_deg))]
    if meta.gps_alt_exif_m is not None:
        tags += [Tag(5, BYTE, [1 if meta.gps_alt_exif_m < 0 else 0]),
                 Tag(6, RATIONAL, [round(abs(meta.gps_alt_exif_m), 3)])]
    return tags


def write_temperature_tiff(path: Path, image: TemperatureImage, compress: bool = True) -> Path:
    """Write ``image`` as a float32 degrees-C TIFF at ``path`` (atomically); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = image.meta
    time0, exif = _time_tags(meta)
    tags = [Tag(270, ASCII, json.dumps(description(image))), Tag(305, ASCII, f"dronepipe {__version__}"),
            Tag(42112, ASCII, _gdal_metadata(image)), Tag(42113, ASCII, "nan"), *time0]
    tags += [Tag(t, ASCII, v) for t, v in ((271, meta.make), (272, meta.model)) if v]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(tiff_bytes(np.asarray(image.celsius, dtype=np.float32), tags, exif,
                                _gps_tags(meta), "deflate" if compress else "none"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)             # mkstemp creates 0600; products are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
