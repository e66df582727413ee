"""What to simulate: ``SimConfig`` and its parts (cameras, errors, hotspots).

Units are in the field names (``_m`` metres, ``_deg`` degrees, ``_s`` seconds, ``_hz``
hertz, ``_c`` degrees Celsius, ``_k`` kelvin). Defaults describe a survey over fields
and a hamlet near Kaiserslautern (EPSG:32632) with a thermal/RGB twin camera on a
stabilised gimbal, and errors of the size a consumer multirotor without RTK has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import Mount

Dist5 = tuple[float, float, float, float, float]
Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class SimCamera:
    """One simulated camera: geometry, optics, sensor, mounting and file metadata.

    ``dist``: OpenCV Brown-Conrady ``(k1, k2, p1, p2, k3)``. ``blur_px``: Gaussian PSF
    sigma in output pixels. ``noise``: temporal sensor noise, kelvin (thermal, the NETD)
    or 8-bit digital numbers (RGB). ``column_noise``: fixed per-column offsets (thermal,
    kelvin). ``vignetting``: thermal: degrees C lost at the image corners (the residual
    of the camera's flat-field correction); RGB: fraction of light lost at the corners.
    ``supersample``: rays per pixel along each axis (anti-aliasing). ``offset_gimbal_m``
    and ``boresight_deg`` (roll, pitch, yaw) place the camera on the gimbal (see
    ``dronepipe.stitching.georef.Mount``); they are known and written to cameras.toml.
    ``pixel_pitch_um`` turns the focal length in pixels into the EXIF FocalLength (mm).
    """

    kind: Literal["thermal", "rgb"]
    name: str
    width: int
    height: int
    hfov_deg: float
    dist: Dist5
    blur_px: float
    noise: float
    vignetting: float
    supersample: int
    make: str
    model: str
    pixel_pitch_um: float
    offset_gimbal_m: Vec3
    boresight_deg: Vec3
    column_noise: float = 0.0
    exposure_jitter: float = 0.0
    jpeg_quality: int = 90

    @property
    def camera_model(self) -> CameraModel:
        """The pipeline's camera model of this camera."""
        return CameraModel.from_fov(self.name, self.width, self.height, self.hfov_deg, self.dist)

    @property
    def focal_length_mm(self) -> float:
        return self.camera_model.fx * self.pixel_pitch_um / 1000.0

    def mount(self, lever_arm_body_m: Vec3) -> Mount:
        """The pipeline's mount of this camera on a gimbal at ``lever_arm_body_m``."""
        return Mount(lever_arm_body_m=lever_arm_body_m, offset_gimbal_m=self.offset_gimbal_m,
                     boresight_rad=tuple(math.radians(a) for a in self.boresight_deg))  # type: ignore[arg-type]

    def resized(self, width: int, height: int) -> SimCamera:
        """The same camera with another image size (same field of view)."""
        return replace(self, width=width, height=height)


def default_thermal() -> SimCamera:
    """A 640x512 uncooled radiometric core, 12 um pixels, about 40 degrees wide."""
    return SimCamera(kind="thermal", name="sim-thermal-640", width=640, height=512,
                      hfov_deg=40.0, dist=(-0.11, 0.05, 0.0004, -0.0003, 0.0), blur_px=0.7,
                      noise=0.05, vignetting=0.3, supersample=2, make="dronepipe-sim",
                      model="SimTherm 640 TLinear", pixel_pitch_um=12.0,
                      offset_gimbal_m=(0.0, -0.035, 0.0), boresight_deg=(0.10, -0.15, 0.20),
                      column_noise=0.02)


def default_rgb(width: int = 2000, height: int = 1500) -> SimCamera:
    """A visible camera of about 70 degrees, beside the thermal core on the gimbal."""
    return SimCamera(kind="rgb", name=f"sim-rgb-{width}", width=width, height=height,
                      hfov_deg=70.0, dist=(-0.06, 0.02, 0.0, 0.0, 0.0), blur_px=0.5,
                      noise=1.5, vignetting=0.25, supersample=1, make="dronepipe-sim",
                      model=f"SimRGB {width}x{height}", pixel_pitch_um=3.3 * 2000 / width,
                      offset_gimbal_m=(0.0, 0.035, 0.0), boresight_deg=(-0.10, 0.10, -0.15),
                      exposure_jitter=0.03, jpeg_quality=90)


@dataclass(frozen=True)
class ErrorConfig:
    """The errors real flights have; ``ErrorConfig.none()`` zeroes every one.

    GNSS: a first-order Gauss-Markov random walk per axis (standard deviations
    ``gnss_sigma_m`` horizontal and ``gnss_vertical_sigma_m`` vertical, correlation time
    ``gnss_tau_s``) on every reported position, plus ``gnss_white_m`` white noise on the
    raw receiver messages (GPS_RAW_INT, DataFlash GPS). Attitude: white noise on the
    vehicle attitude; white noise on the gimbal attitude, and a constant bias (roll,
    pitch, yaw): the gimbal truly points at its reported attitude minus the bias (a
    nadir gimbal with pitch bias -0.4 reports -90 but looks 0.4 degrees off nadir). ``camera_clock_offset_s``: the camera clock (EXIF times, video start) runs
    this far ahead of the autopilot's UTC. ``trigger_latency_s``: exposure happens this
    long after the autopilot logs the trigger. ``drop_rate``: fraction of tlog messages
    lost on the radio link (the onboard DataFlash log loses none).
    ``link_latency_s``: (min, max) of the ground station's receive delay.
    """

    gnss_sigma_m: float = 1.0
    gnss_vertical_sigma_m: float = 0.5
    gnss_tau_s: float = 20.0
    gnss_white_m: float = 0.15
    attitude_noise_deg: float = 0.15
    gimbal_noise_deg: float = 0.1
    gimbal_bias_deg: Vec3 = (0.2, -0.4, 0.8)
    camera_clock_offset_s: float = 0.85
    trigger_latency_s: float = 0.02
    drop_rate: float = 0.02
    link_latency_s: tuple[float, float] = (0.02, 0.08)

    @classmethod
    def none(cls) -> ErrorConfig:
        """No errors at all: the written telemetry and times are exact."""
        return cls(gnss_sigma_m=0.0, gnss_vertical_sigma_m=0.0, gnss_white_m=0.0,
                   attitude_noise_deg=0.0, gimbal_noise_deg=0.0, gimbal_bias_deg=(0.0, 0.0, 0.0),
                   camera_clock_offset_s=0.0, trigger_latency_s=0.0, drop_rate=0.0,
                   link_latency_s=(0.0, 0.0))


@dataclass(frozen=True)
class HotspotCounts:
    """How many hot objects to place in the surveyed area."""

    fires: int = 1
    ember_nests: int = 4
    persons: int = 2
    vehicles: int = 2


@dataclass(frozen=True)
class TelemetryRates:
    """Message rates in hertz, as an ArduPilot copter streams and logs them."""

    position_hz: float = 10.0   # GLOBAL_POSITION_INT
    gps_hz: float = 5.0         # GPS_RAW_INT, DataFlash GPS
    attitude_hz: float = 20.0   # ATTITUDE, DataFlash ATT
    gimbal_hz: float = 10.0     # GIMBAL_DEVICE_ATTITUDE_STATUS, DataFlash MNT


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class SimConfig:
    """A simulated survey flight.

    The survey is a lawn-mower pattern of ``frames`` camera triggers at ``height_m``
    above take-off, with the thermal camera's footprint overlapping by
    ``forward_overlap`` along and ``side_overlap`` across the lines, flown at
    ``speed_m_s`` along lines of grid azimuth ``line_azimuth_deg``, centred on
    (``lat_deg``, ``lon_deg``). The take-off point's ground is ``takeoff_msl_m`` above
    mean sea level; ``geoid_undulation_m`` is the ellipsoid height of mean sea level
    there (for GPS_RAW_INT.alt_ellipsoid). ``oblique_deg`` tilts the gimbal forward from
    nadir (0 to 45). ``terrain`` adds gentle relief of about ``terrain_relief_m``.
    World rasters have ``world_cell_m`` cells (default: see ``world_cell``), the truth
    orthophoto and temperature map ``truth_cell_m`` (a whole multiple of it). The video is ``video_s`` seconds at ``video_fps``, its grey levels spanning
    ``video_span_c``. ``start_utc`` is the take-off time; EXIF times are local
    (``camera_utc_offset_h``) with OffsetTimeOriginal. ``tiff_compression``: Deflate
    (every TIFF reader) or LZMA (about 15 % smaller; libtiff with liblzma).
    """

    seed: int = 1
    frames: int = 100
    height_m: float = 80.0
    forward_overlap: float = 0.8
    side_overlap: float = 0.7
    speed_m_s: float = 6.0
    line_azimuth_deg: float = 20.0
    lat_deg: float = 49.4447
    lon_deg: float = 7.7689
    takeoff_msl_m: float = 235.0
    geoid_undulation_m: float = 48.0
    oblique_deg: float = 0.0
    terrain: bool = False
    terrain_relief_m: float = 6.0
    thermal: SimCamera = field(default_factory=default_thermal)
    rgb: SimCamera | None = field(default_factory=default_rgb)
    lever_arm_body_m: Vec3 = (0.08, 0.0, 0.12)
    errors: ErrorConfig = field(default_factory=ErrorConfig)
    hotspots: HotspotCounts = field(default_factory=HotspotCounts)
    rates: TelemetryRates = field(default_factory=TelemetryRates)
    world_cell_m: float | None = None
    truth_cell_m: float = 0.10
    video_s: float = 4.0
    video_fps: float = 30.0
    video_span_c: tuple[float, float] = (0.0, 150.0)
    start_utc: str = "2024-06-15T10:30:00+00:00"
    camera_utc_offset_h: int = 2
    write_dataflash: bool = True
    tiff_compression: Literal["deflate", "lzma"] = "deflate"

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError("frames must be at least 1")
        if not (0.0 <= self.forward_overlap < 1.0 and 0.0 <= self.side_overlap < 1.0):
            raise ValueError("overlaps must be in [0, 1)")
        if not 0.0 <= self.oblique_deg <= 45.0:
            raise ValueError("oblique_deg must be within 0..45 degrees from nadir")
        if self.height_m <= 5.0:
            raise ValueError("height_m must be above 5 m")
        ratio = self.truth_cell_m / self.world_cell
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ValueError("truth_cell_m must be a whole multiple of world_cell_m")
        _utc(self.start_utc)

    @property
    def start_utc_s(self) -> float:
        """Take-off time, UTC seconds since the Unix epoch."""
        return _utc(self.start_utc).timestamp()

    @property
    def world_cell(self) -> float:
        """The world raster cell (m): ``world_cell_m``, or by default the finest nominal
        ground sample distance (nadir, over the lowest terrain) capped to 2-5 cm, made a
        whole fraction of ``truth_cell_m``."""
        if self.world_cell_m is not None:
            return self.world_cell_m
        low = self.height_m - (self.terrain_relief_m if self.terrain else 0.0)
        gsd = min(c.width / c.camera_model.fx * low / c.width for c in self.cameras)
        target = min(max(gsd, 0.02), 0.05)
        return self.truth_cell_m / math.ceil(self.truth_cell_m / target - 1e-9)

    @property
    def cameras(self) -> tuple[SimCamera, ...]:
        """The cameras on the gimbal, thermal first."""
        return (self.thermal,) if self.rgb is None else (self.thermal, self.rgb)
