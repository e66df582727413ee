"""``ProcessConfig``: every option of ``dronepipe process``, in one frozen record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dronepipe.errors import DronepipeError
from dronepipe.pipeline.framecache import DEFAULT_MAX_MB
from dronepipe.thermal import DecodeOptions
from dronepipe.thermal.detection import DetectionConfig

Kind = Literal["thermal", "rgb"]
VideoContent = Literal["thermal", "thermal-gray", "rgb"]


@dataclass(frozen=True)
class VideoOptions:
    """How videos are used (``dronepipe.pipeline.video_frames``).

    ``paths``: videos given explicitly (``--video``, or video files among ``--frames``);
    they are used even where stills of their kind exist (the stills then only set the
    camera clock). ``content``: what every video shows (None: its sidecar, folder name,
    else its frame size decides): ``"thermal"`` a display palette with automatic gain
    (relative values), ``"thermal-gray"`` grey levels mapped linearly onto ``span_c``
    (degrees C of grey 0 and 255; None: the sidecar's ``span_c``), ``"rgb"``.
    ``forward_overlap``: overlap (0..1) of consecutive sampled frames' footprints.
    ``camera``: the videos' camera, a camera-file entry name or a known camera model
    (None: the camera file's entry of the video's kind). ``candidate_hz``: frames per
    second looked at when sampling.
    """

    paths: tuple[Path, ...] = ()
    content: VideoContent | None = None
    span_c: tuple[float, float] | None = None
    forward_overlap: float = 0.8
    camera: str | None = None
    candidate_hz: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.forward_overlap < 1.0:
            raise DronepipeError(f"video forward overlap must be in [0, 1), not {self.forward_overlap}")
        if self.span_c is not None and not self.span_c[0] < self.span_c[1]:
            raise DronepipeError(f"video span must be MIN:MAX with MIN < MAX, not {self.span_c}")
        if not self.candidate_hz > 0.0:
            raise DronepipeError(f"video candidate rate must be positive, not {self.candidate_hz}")


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
    ``video``: how videos are found, timed and sampled (``VideoOptions``).
    ``frame_cache_mb``: megabytes of decoded frames shared by the stages
    (``pipeline.framecache``); ``cache_tiles``: mosaic tiles held in memory (the rest
    spill to disk); ``spill_frames``: frames the frame cache drops are kept on disk
    in the output folder while the job runs (``pipeline.spill``) rather than decoded
    again. None of these changes a product, only how often a frame is decoded.
    ``malloc_arenas``: at most this many glibc malloc arenas for the run (None: as the
    C library decides; see ``pipeline.arenas``). ``opencv_threads``: threads each
    OpenCV call may use during the run (None: OpenCV's own setting; see
    ``pipeline.cvthreads``).
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
    cache_tiles: int = 16
    frame_cache_mb: float = DEFAULT_MAX_MB
    spill_frames: bool = True
    malloc_arenas: int | None = 2
    opencv_threads: int | None = 1
    decode: DecodeOptions = DecodeOptions()
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    position_sigma_m: float = 1.0
    video: VideoOptions = VideoOptions()
