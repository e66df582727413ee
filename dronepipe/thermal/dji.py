"""DJI R-JPEGs (H20T, H20N, M30T, M2EA, M3T, XT S ...) through the ``dji-thermal-cli`` package.

DJI's raw counts are not self-describing (no Planck constants in the file): only DJI's
Thermal SDK, or ``dji-thermal-cli``'s bit-exact pure-Python port of it, turns them into
temperatures. That package is the optional extra ``dronepipe[dji]`` (Python 3.12+)
and is imported only when a DJI file is decoded; without it decoding raises
``MissingDependencyError``, never an approximation.

We call its ``dji_thermal_cli.tsdk`` layer (the SDK's dirp API: ``open``,
``get/set_measurement_params``, ``measure_temperature_c``), documented in the package's
docstring, rather than its ``measure()`` helper, which always re-sets the parameters
(half a second per H20T frame for colour tables we do not use) and prefers the
rangefinder distance.

The object distance defaults to the one embedded in the file (the SDK's own default),
not the laser-rangefinder distance that dji-thermal-cli prefers, so results match
the temperature maps DJI's SDK writes. Temperatures are the SDK's float output
(``dirp_measure_ex``); its int16 output (``dirp_measure``, what SDK sample programs save
as tenths of a degree) truncates them towards zero, so such maps read up to 0.1 C
nearer zero than these values.
"""

from __future__ import annotations

import logging
import warnings
from types import ModuleType

import numpy as np

from dronepipe.errors import DronepipeWarning, MissingDependencyError, ThermalDecodeError
from dronepipe.thermal import jpeg, metadata
from dronepipe.thermal.options import DecodeOptions
from dronepipe.thermal.records import RadiometricParams, TemperatureImage
from dronepipe.thermal.registry import Sniff

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'dronepipe[dji]' (needs Python 3.12 or newer)"
_DJI_APP4_HEADERS = (b"\xff\xd2\xd1\xff", b"\xaa\x55\x12\x06")   # plugin-tag header; dirp header
_NO_DATA_C = -273.0


def load_dji_thermal_cli() -> ModuleType:
    """The ``dji_thermal_cli`` module, or ``MissingDependencyError`` saying how to install it."""
    try:
        import dji_thermal_cli
    except ImportError as exc:
        raise MissingDependencyError(f"DJI R-JPEGs need the dji-thermal-cli package: {INSTALL_HINT}") from exc
    return dji_thermal_cli


def looks_like_dji_rjpeg(data: bytes, layout: jpeg.JpegLayout) -> bool:
    """Raw counts in APP3 (or APP4) filling the frame, or a DJI thermal header in APP4."""
    frame_bytes = 2 * layout.width * layout.height
    if frame_bytes and frame_bytes in (layout.total_length(jpeg.APP3), layout.total_length(jpeg.APP4)):
        return True
    app4 = layout.payloads(data, jpeg.APP4)
    return bool(app4) and app4[0][:4] in _DJI_APP4_HEADERS


_OVERRIDES = (("distance", "object_distance_m"), ("humidity", "relative_humidity_pct"),
              ("emissivity", "emissivity"), ("reflection", "reflected_temp_c"),
              ("ambient_temp", "atmospheric_temp_c"))


def _measure(tsdk: ModuleType, data: bytes, options: DecodeOptions) -> tuple[np.ndarray, dict[str, float]]:
    """(float32 degrees C from dirp_measure_ex, the parameters used) with the options applied.

    Parameters are set only when an option overrides one: setting them makes the SDK
    rebuild its colour tables, which costs the H20T's plugin about half a second.
    """
    if options.ir_window_temp_c is not None or options.ir_window_transmission is not None:
        warnings.warn("IR window parameters do not apply to DJI R-JPEGs; ignored", DronepipeWarning, stacklevel=4)
    rj = tsdk.open(data)
    params = rj.get_measurement_params()
    overrides = {sdk: getattr(options, ours) for sdk, ours in _OVERRIDES if getattr(options, ours) is not None}
    if overrides:
        for name, value in overrides.items():
            setattr(params, name, float(value))
        rj.set_measurement_params(params)
        params = rj.get_measurement_params()
    ranges = rj.get_measurement_params_range()
    used = {k: v for k, v in params.as_dict().items() if tuple(ranges.get(k, (1, 1))) != (0.0, 0.0)}
    return np.asarray(rj.measure_temperature_c(), dtype=np.float32), used


def _params(used: dict[str, float]) -> RadiometricParams:
    """Our record of the parameters the SDK measured with (its names: distance, reflection ...)."""
    def get(key: str) -> float | None:
        return round(float(used[key]), 6) if key in used else None

    return RadiometricParams(emissivity=get("emissivity"), object_distance_m=get("distance"),
                             reflected_temp_c=get("reflection"), atmospheric_temp_c=get("ambient_temp"),
                             relative_humidity_pct=get("humidity"))


class DjiRJpegDecoder:
    """DJI R-JPEG, measured by dji-thermal-cli's port of DJI's Thermal SDK."""

    name = "dji-rjpeg"

    def probe(self, sniff: Sniff) -> bool:
        """A JPEG carrying DJI raw thermal segments (whether or not the package is installed)."""
        layout = sniff.jpeg_layout
        return layout is not None and looks_like_dji_rjpeg(sniff.data, layout)

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """Measure with the SDK port; ``MissingDependencyError`` without it."""
        dtc = load_dji_thermal_cli()
        try:
            celsius, used = _measure(dtc.tsdk, sniff.data, options)
        except dtc.tsdk.TsdkError as exc:
            raise ThermalDecodeError(f"{sniff.path}: DJI thermal SDK cannot measure it: {exc}") from exc
        celsius = celsius.copy()
        celsius[~(celsius > _NO_DATA_C)] = np.nan           # NaN or absolute zero: no value
        layout = sniff.jpeg_layout
        assert layout is not None
        meta = metadata.jpeg_meta(sniff.data, layout)
        source = "option" if options.object_distance_m is not None else "the file (embedded)"
        notes = (f"DJI Thermal SDK port dji-thermal-cli {dtc.__version__}; distance from {source}",)
        return TemperatureImage(celsius, True, sniff.path, self.name, _params(used), meta, notes)
