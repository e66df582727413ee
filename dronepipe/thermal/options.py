"""How to decode: ``DecodeOptions`` (parameter overrides), TIFF count scales and their presets.

Every override left as ``None`` keeps the value the file holds. Temperatures are
degrees Celsius, distances metres, humidity percent (0-100).

TIFF scales (``T_K = counts * scale_k_per_count + offset_k``):

============== ================ ======================================================
preset          K per count      cameras
============== ================ ======================================================
centikelvin     0.01             FLIR TLinear 0.01 K (Duo R, Vue Pro R, Boson/Lepton
                                 high resolution), DJI "temp_ck" exports; the default
decikelvin      0.1              FLIR Boson/Lepton TLinear low resolution
decicelsius     0.1 (+273.15 K)  tenths of a degree C: DJI Thermal SDK ``dirp_measure``
                                 maps saved as 16-bit TIFF
duo-pro-r-high  0.04             FLIR Duo Pro R TIFF, temperature range High (-25..135 C)
duo-pro-r-low   0.40             FLIR Duo Pro R TIFF, temperature range Low (-40..550 C)
============== ================ ======================================================

The Duo Pro R figures are those of its user guide (rev. 1.0, section 6.2.2:
``counts * 0.04 - 273.15`` at High resolution, ``counts * 0.40 - 273.15`` at Low).
"""

from __future__ import annotations

from dataclasses import dataclass

from dronepipe.errors import DronepipeError

KELVIN_OFFSET = 273.15
"""Degrees Celsius of 0 K, negated: T_C = T_K - 273.15."""


@dataclass(frozen=True)
class TiffScale:
    """Linear count scale of a 16-bit TIFF: T_K = counts * scale_k_per_count + offset_k."""

    scale_k_per_count: float = 0.01
    offset_k: float = 0.0
    name: str = "centikelvin"

    def __post_init__(self) -> None:
        if not self.scale_k_per_count > 0:
            raise DronepipeError(f"TIFF scale must be positive, not {self.scale_k_per_count} K per count")


TIFF_SCALE_PRESETS: dict[str, TiffScale] = {
    "centikelvin": TiffScale(0.01, 0.0, "centikelvin"),
    "decikelvin": TiffScale(0.1, 0.0, "decikelvin"),
    "decicelsius": TiffScale(0.1, KELVIN_OFFSET, "decicelsius"),
    "duo-pro-r-high": TiffScale(0.04, 0.0, "duo-pro-r-high"),
    "duo-pro-r-low": TiffScale(0.40, 0.0, "duo-pro-r-low"),
}


def tiff_scale(spec: str | float | TiffScale) -> TiffScale:
    """A TIFF scale from a preset name, a number of K per count, or a ``TiffScale``.

    Text may also be ``"SCALE"`` or ``"SCALE:OFFSET_K"`` (e.g. ``"0.04"``, ``"0.01:-10"``).
    """
    if isinstance(spec, TiffScale):
        return spec
    if isinstance(spec, (int, float)):
        return TiffScale(float(spec), 0.0, f"{float(spec):g} K/count")
    text = str(spec).strip().lower()
    if text in TIFF_SCALE_PRESETS:
        return TIFF_SCALE_PRESETS[text]
    try:
        scale, _, offset = text.partition(":")
        return TiffScale(float(scale), float(offset or 0.0), f"{text} K/count")
    except ValueError:
        names = ", ".join(TIFF_SCALE_PRESETS)
        raise DronepipeError(f"unknown TIFF scale {spec!r}: use one of {names}, "
                             "or K per count as a number (optionally SCALE:OFFSET_K)") from None


@dataclass(frozen=True)
class DecodeOptions:
    """Overrides and choices for decoding; ``None`` keeps what the file holds.

    ``relative_span_c`` is the span a non-radiometric (palette or 8-bit) image is
    mapped onto: the darkest display level becomes the first value and the brightest
    the second. The default ``(0.0, 100.0)`` makes the values read as percent of the
    display range, so they cannot pass for temperatures by accident.
    ``tiff_float_unit`` says whether float TIFFs hold degrees Celsius ("C") or
    kelvin ("K"). ``tiff_scale`` also accepts what ``tiff_scale()`` does (a preset
    name or K per count) and is normalised to a ``TiffScale``.
    """

    emissivity: float | None = None
    object_distance_m: float | None = None
    reflected_temp_c: float | None = None
    atmospheric_temp_c: float | None = None
    relative_humidity_pct: float | None = None
    ir_window_temp_c: float | None = None
    ir_window_transmission: float | None = None
    tiff_scale: TiffScale = TiffScale()
    tiff_float_unit: str = "C"
    relative_span_c: tuple[float, float] = (0.0, 100.0)

    def __post_init__(self) -> None:
        if self.emissivity is not None and not 0.0 < self.emissivity <= 1.0:
            raise DronepipeError(f"emissivity must be in (0, 1], not {self.emissivity}")
        if self.object_distance_m is not None and self.object_distance_m < 0:
            raise DronepipeError(f"object distance must not be negative, not {self.object_distance_m} m")
        if self.relative_humidity_pct is not None and not 0.0 <= self.relative_humidity_pct <= 100.0:
            raise DronepipeError(f"relative humidity must be 0-100 %, not {self.relative_humidity_pct}")
        if self.ir_window_transmission is not None and not 0.0 < self.ir_window_transmission <= 1.0:
            raise DronepipeError(f"IR window transmission must be in (0, 1], not {self.ir_window_transmission}")
        if self.tiff_float_unit.upper() not in ("C", "K"):
            raise DronepipeError(f"tiff_float_unit must be 'C' or 'K', not {self.tiff_float_unit!r}")
        low, high = self.relative_span_c
        if not high > low:
            raise DronepipeError(f"relative span must rise, not {low}..{high}")
        object.__setattr__(self, "tiff_scale", tiff_scale(self.tiff_scale))  # a name or number given at run time
        object.__setattr__(self, "tiff_float_unit", self.tiff_float_unit.upper())
