"""The ground from a DEM GeoTIFF: resampled to the flight's UTM grid, vertical datum explicit.

Camera heights with a DEM are above mean sea level (``height_ref="msl"``). DEMs come in
either datum: SRTM and most national DEMs are above the geoid (MSL), while GNSS-derived
surfaces and some global products are above the WGS84 ellipsoid. The two differ by the
geoid undulation N (tens of metres: +47 m in Germany, -28 m in Texas), so mixing them
silently would put every frame tens of metres off. ``load_dem`` therefore needs to know
the DEM's datum (from the caller or from a vertical CRS in the file) and converts with
a caller-given undulation ``geoid_offset_m`` (N = ellipsoidal height - MSL height) or
refuses with ``VerticalDatumError``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.transform import from_origin
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from dronepipe.errors import DronepipeError, VerticalDatumError
from dronepipe.geodesy import UtmFrame
from dronepipe.stitching.georef import GridGround

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
VerticalDatum = Literal["msl", "ellipsoid"]
Bounds = tuple[float, float, float, float]  # west, south, east, north in grid metres


@dataclass(frozen=True)
class DemGround(GridGround):
    """A ``GridGround`` read from a DEM file, heights in ``vertical_datum`` (metres).

    ``source_datum`` is the datum of the file; ``geoid_offset_m`` the undulation used to
    convert (``None`` where no conversion was needed); ``path`` the file read.
    """

    vertical_datum: VerticalDatum
    source_datum: VerticalDatum
    geoid_offset_m: float | None
    path: str


def datum_of_file(crs: rasterio.crs.CRS | None) -> VerticalDatum | None:
    """The vertical datum a raster's CRS states, or ``None`` where it states none.

    A compound CRS with a gravity-related (geoid) vertical part gives ``"msl"``; a 3D
    geographic CRS (EPSG:4979 and kin) gives ``"ellipsoid"``.
    """
    if crs is None:
        return None
    try:
        from pyproj import CRS

        pcrs = CRS.from_wkt(crs.to_wkt())
    except Exception:
        return None
    if pcrs.is_compound:
        for sub in pcrs.sub_crs_list:
            if sub.is_vertical:
                return "msl"
    axes = pcrs.axis_info
    if len(axes) == 3 and any("ellipsoidal height" in a.name.lower() for a in axes):
        return "ellipsoid"
    return None


def convert_datum(heights_m: F64, source: VerticalDatum, target: VerticalDatum,
                  geoid_offset_m: float | None, path: str) -> F64:
    """Heights from ``source`` to ``target`` datum; ``geoid_offset_m`` = N (ellipsoid - MSL, metres)."""
    if source == target:
        return heights_m
    if geoid_offset_m is None:
        raise VerticalDatumError(
            f"{path}: the DEM heights are above the {_name(source)} but the camera heights are "
            f"above the {_name(target)}; they differ by the geoid undulation (tens of metres). "
            "Give the undulation N (ellipsoidal minus MSL height, metres) for the area "
            "(geoid_offset_m / --geoid-offset), or a DEM in the camera's datum.")
    sign = -1.0 if source == "ellipsoid" else 1.0
    return heights_m + sign * geoid_offset_m


def _name(datum: VerticalDatum) -> str:
    return "WGS84 ellipsoid" if datum == "ellipsoid" else "mean sea level (geoid)"


def load_dem(path: str | Path, frame: UtmFrame, bounds: Bounds, cell_m: float,
             vertical_datum: VerticalDatum | None = None,
             geoid_offset_m: float | None = None,
             heights_datum: VerticalDatum = "msl") -> DemGround:
    """Read a DEM GeoTIFF into a north-up ``GridGround`` on the flight's UTM grid.

    ``bounds`` = (west, south, east, north) in grid metres (pad it: rays of oblique
    frames reach beyond the flight track); ``cell_m`` the cell size of the result.
    ``vertical_datum`` is the DEM's datum (``None``: as the file's CRS states, else MSL
    with a logged warning, as SRTM and most national DEMs are). ``heights_datum`` is the
    datum of the camera heights the ground will be used with (MSL for ``height_ref="msl"``).
    Cells with the file's nodata or outside the file are NaN (rays there see no ground).
    """
    path = Path(path)
    w, s, e, n = bounds
    if not (e > w and n > s and cell_m > 0):
        raise ValueError(f"empty DEM bounds {bounds} or cell {cell_m}")
    width, height = math.ceil((e - w) / cell_m), math.ceil((n - s) / cell_m)
    dst_transform = from_origin(w, n, cell_m, cell_m)
    dst = np.full((height, width), np.nan, dtype=np.float32)
    try:
        with rasterio.open(path) as src:
            source = vertical_datum or datum_of_file(src.crs)
            if source is None:
                log.warning("%s states no vertical datum; taking its heights as above mean sea "
                            "level (as SRTM's are)", path)
                source = "msl"
            band = _read_source_window(src, frame, bounds)
            if band is None:
                raise DronepipeError(f"{path}: the DEM does not cover the flight area {bounds} "
                                     f"(EPSG:{frame.epsg})")
            data, src_transform = band
            reproject(data, dst, src_transform=src_transform, src_crs=src.crs,
                      src_nodata=src.nodata, dst_transform=dst_transform, dst_crs=frame.crs,
                      dst_nodata=np.nan, resampling=Resampling.bilinear)
    except RasterioError as exc:
        raise DronepipeError(f"{path}: cannot read the DEM: {exc}") from exc
    heights = convert_datum(dst.astype(np.float64), source, heights_datum, geoid_offset_m, str(path))
    _report_holes(heights, path)
    return DemGround(heights, (w, n), cell_m, heights_datum, source, geoid_offset_m
                     if source != heights_datum else None, str(path))


def _read_source_window(src: rasterio.io.DatasetReader, frame: UtmFrame,
                        bounds: Bounds) -> tuple[NDArray[np.floating], object] | None:
    """The part of the DEM covering ``bounds`` (plus two source cells), as float32 with
    the file's nodata turned to NaN, and its transform; ``None`` where nothing overlaps."""
    left, bottom, right, top = transform_bounds(frame.crs, src.crs, *bounds, densify_pts=21)
    rx, ry = abs(src.transform.a), abs(src.transform.e)
    f = from_bounds(left - 2 * rx, bottom - 2 * ry, right + 2 * rx, top + 2 * ry, src.transform)
    c0, r0 = max(0, math.floor(f.col_off)), max(0, math.floor(f.row_off))
    c1 = min(src.width, math.ceil(f.col_off + f.width))
    r1 = min(src.height, math.ceil(f.row_off + f.height))
    if c1 <= c0 or r1 <= r0:
        return None
    win = Window(c0, r0, c1 - c0, r1 - r0)
    data = src.read(1, window=win, masked=True).astype(np.float32)
    arr = data.filled(np.nan)
    return arr, src.window_transform(win)


def _report_holes(heights: F64, path: Path) -> None:
    holes = int(np.count_nonzero(~np.isfinite(heights)))
    if holes == heights.size:
        raise DronepipeError(f"{path}: no valid DEM height in the flight area (all nodata)")
    if holes:
        log.warning("%s: %d of %d DEM cells in the flight area have no height; rays "
                    "meeting them see no ground", path, holes, heights.size)


def crop_grid(ground: GridGround, bounds: Bounds, margin_cells: int = 2) -> GridGround:
    """The part of a grid ground covering ``bounds`` (grid metres) plus a margin.

    A ``GeoFrame`` keeps only the DEM patch under its footprint, so that frames sent
    to dask workers do not each carry the whole DEM.
    """
    w, s, e, n = bounds
    c = ground.cell_m
    rows, cols = ground.heights_m.shape
    c0 = max(0, math.floor((w - ground.origin_m[0]) / c) - margin_cells)
    c1 = min(cols, math.ceil((e - ground.origin_m[0]) / c) + margin_cells)
    r0 = max(0, math.floor((ground.origin_m[1] - n) / c) - margin_cells)
    r1 = min(rows, math.ceil((ground.origin_m[1] - s) / c) + margin_cells)
    if c1 <= c0 or r1 <= r0:
        return replace(ground, heights_m=np.full((1, 1), np.nan), origin_m=(w, n),
                       cell_m=max(e - w, n - s, c))
    heights = np.ascontiguousarray(ground.heights_m[r0:r1, c0:c1])
    origin = (ground.origin_m[0] + c0 * c, ground.origin_m[1] - r0 * c)
    return replace(ground, heights_m=heights, origin_m=origin)
