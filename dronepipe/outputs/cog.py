"""Cloud-Optimized GeoTIFFs, written tile by tile and atomically.

Tiles go into a tiled staging GeoTIFF (never the whole raster in memory), which GDAL's
COG driver then copies into the final layout (tiled, internal overviews, header and
overview IFDs first). Both files live in a temporary folder beside the target, and the
finished COG is moved onto the target name with ``os.replace``, so an interrupted write
leaves no half file under the product's name (and an earlier product stays intact).

Overviews of thermal rasters are NEAREST: each overview pixel is a real measurement of
one frame rather than an average that would dilute small hot spots; RGB overviews
are AVERAGE.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import ColorInterp
from rasterio.windows import Window

from dronepipe import __version__

log = logging.getLogger(__name__)
Tile = tuple[int, int, np.ndarray]  # row0, col0 (pixels), data (bands, h, w)


@dataclass(frozen=True)
class RasterSpec:
    """What a raster is: ``epsg`` of its CRS, ``transform`` (pixel corner -> metres),
    ``width``/``height`` in pixels, band ``count`` and ``dtype``, ``nodata`` (NaN for
    thermal; ``None`` for RGB, which carries an alpha band), ``colorinterp`` per band,
    ``units`` per band (``"degC"``) and the tile ``blocksize`` in pixels."""

    epsg: int
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None = None
    colorinterp: tuple[str, ...] | None = None
    units: str | None = None
    description: str | None = None
    blocksize: int = 512


def iso_utc(t_utc_s: float) -> str:
    """UTC seconds since the epoch as ISO 8601 (``2024-05-01T10:00:00.250Z``)."""
    text = datetime.fromtimestamp(t_utc_s, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def product_tags(*, kind: str, gsd_m: float, t_start_utc_s: float | None,
                 t_end_utc_s: float | None, n_frames: int, radiometric: bool,
                 units: str | None) -> dict[str, str]:
    """The dataset metadata every orthomosaic carries (GDAL metadata, default domain)."""
    tags = {
        "DRONEPIPE_KIND": kind,
        "GSD_M": f"{gsd_m:.6g}",
        "N_FRAMES": str(n_frames),
        "RADIOMETRIC": "true" if radiometric else "false",
        "SOFTWARE": f"dronepipe {__version__}",
        "TIFFTAG_SOFTWARE": f"dronepipe {__version__}",
    }
    if units:
        tags["UNITS"] = units
    if t_start_utc_s is not None and t_end_utc_s is not None:
        tags["TIME_START_UTC"] = iso_utc(t_start_utc_s)
        tags["TIME_END_UTC"] = iso_utc(t_end_utc_s)
        tags["TIFFTAG_DATETIME"] = datetime.fromtimestamp(t_end_utc_s, UTC).strftime(
            "%Y:%m:%d %H:%M:%S")
    return tags


def write_cog(path: str | Path, spec: RasterSpec, tiles: Iterable[Tile],
              tags: Mapping[str, str], *, overview_resampling: str | None = None,
              compress: str = "DEFLATE", threads: int = 1, cache_mb: int = 32) -> Path:
    """Write tiles into a COG at ``path``, atomically (see the module docstring).

    ``tiles`` yields (row0, col0, data (bands, h, w)) blocks; missing blocks read as
    nodata (or alpha 0). ``overview_resampling`` defaults to NEAREST for float rasters
    and AVERAGE otherwise. GDAL's block cache is held to ``cache_mb`` so that memory does
    not grow with the raster. ``threads``: GDAL's threads compressing the COG's tiles
    (the file is the same byte for byte; 2 threads wrote the 3559 x 3696 float32 mosaic
    of the simulated 300-frame flight in 0.76-0.84 s instead of 1.25-1.42 s). Returns
    ``path``.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    resampling = overview_resampling or ("NEAREST" if spec.dtype.startswith("float")
                                        else "AVERAGE")
    try:
        with rasterio.Env(GDAL_CACHEMAX=int(cache_mb) * 1024 * 1024):
            stage = tmp / "stage.tif"
            _write_stage(stage, spec, tiles, tags)
            cog = tmp / "cog.tif"
            rasterio.shutil.copy(stage, cog, driver="COG", BLOCKSIZE=spec.blocksize,
                                 COMPRESS=compress, PREDICTOR="YES", RESAMPLING=resampling,
                                 OVERVIEWS="AUTO", BIGTIFF="IF_SAFER", NUM_THREADS=threads)
        os.replace(cog, path)
        log.info("wrote %s (%d x %d, %d bands)", path, spec.width, spec.height, spec.count)
        return path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_stage(stage: Path, spec: RasterSpec, tiles: Iterable[Tile],
                 tags: Mapping[str, str]) -> None:
    """The staging GeoTIFF: tiled like the COG, compressed fast, blocks never written stay sparse."""
    profile = dict(driver="GTiff", width=spec.width, height=spec.height, count=spec.count,
                   dtype=spec.dtype, crs=f"EPSG:{spec.epsg}", transform=spec.transform,
                   nodata=spec.nodata, tiled=True, blockxsize=spec.blocksize,
                   blockysize=spec.blocksize, compress="ZSTD", zstd_level=1,
                   interleave="pixel", sparse_ok=True, bigtiff="IF_SAFER")
    if spec.count >= 3 and spec.dtype == "uint8":
        profile["photometric"] = "RGB"
    with rasterio.open(stage, "w", **profile) as dst:
        if spec.colorinterp:
            dst.colorinterp = [ColorInterp[c] for c in spec.colorinterp]
        if spec.units:
            dst.units = [spec.units] * spec.count
        if spec.description:
            dst.descriptions = [spec.description] * spec.count
        dst.update_tags(**tags)
        for row0, col0, data in tiles:
            bands, h, w = data.shape
            if bands != spec.count:
                raise ValueError(f"tile at ({row0}, {col0}) has {bands} bands, raster {spec.count}")
            dst.write(data.astype(spec.dtype, copy=False), window=Window(col0, row0, w, h))


def cog_problems(path: str | Path) -> list[str]:
    """What keeps a file from being a valid COG (empty list: none): tiling, internal
    overviews where the raster is larger than a block, and GDAL's ``LAYOUT=COG``."""
    problems = []
    with rasterio.open(path) as src:
        if not src.profile.get("tiled", False):
            problems.append("not tiled")
        if src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG":
            problems.append("GDAL does not report LAYOUT=COG")
        block = src.block_shapes[0]
        if max(src.width / block[1], src.height / block[0]) > 1 and not src.overviews(1):
            problems.append("no overviews")
        if src.driver != "GTiff":
            problems.append(f"a {src.driver} file, not a GeoTIFF")
    return problems


def nodata_tile(spec: RasterSpec, h: int, w: int) -> np.ndarray:
    """A block with nothing in it (NaN for float rasters, zeros otherwise)."""
    fill = np.nan if spec.dtype.startswith("float") else 0
    return np.full((spec.count, h, w), fill, dtype=spec.dtype)
