"""``ProcessConfig``: every option of ``dronepipe process``, in one frozen record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dronepipe.thermal import DecodeOptions
from dronepipe.thermal.detection import DetectionConfig

Kind = Literal["thermal", "rgb"]


@dataclass(frozen=True)
class ProcessConfig:
    """What to process and how.

    ``flight``: a flight folder (or a single frame file/folder); ``log``, ``frames``,
    ``cameras`` override what the folder holds. ``time_offset_s``: seconds to add to the
    camera clock to get the autopilot's UTC (negative when the camera runs ahead), given
    by hand, the last resort of time sync.
    ``dem``: a DEM GeoTIFF (heights ``dem_datum``: "msl" or "ellipsoid", None = as the
    file states); with it, camera heights are altitudes MSL. ``gsd_m``: mosaic ground
    sample distance (None: native). ``scheduler``: dask scheduler ("threads",
    "processes", "synchronous" or a ``tcp://host:port`` cluster address).
    ``position_sigma_m``: one-sigma horizontal error of the frames on the map after
    adjustment (metres), the floor of each hotspot's stated uncertainty.
    """

    flight: Path | None
    out_dir: Path
    log: Path | None = None
    frames: tuple[Path, ...] = ()
    cameras: Path | None = None
    kinds: tuple[Kind, ...] = ("thermal", "rgb")
    time_offset_s: float | None = None
    dem: Path | None = None
    dem_datum: Literal["msl", "ellipsoid"] | None = None
    geoid_offset_m: float | None = None
    dem_cell_m: float = 1.0
    dem_pad_m: float = 50.0
    gsd_m: float | None = None
    register: bool = True
    scheduler: Any = "threads"
    cache_tiles: int = 64
    decode: DecodeOptions = DecodeOptions()
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    position_sigma_m: float = 1.0
