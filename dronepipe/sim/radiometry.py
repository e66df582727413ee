"""Long-wave infrared radiometry: temperature <-> band radiance of a black body.

A thermal camera integrates radiance over its band (8-14 um for uncooled
microbolometers), not temperature: a pixel that is 10 % fire at 800 C and 90 % grass
at 20 C reads far hotter than the area-weighted mean temperature. The simulator
therefore averages (pre-filters, resamples, blurs) in band radiance and converts back
to temperature only at the end, through the lookup table built here.

Radiance is relative (1.0 at 300 K), emissivity 1 (TLinear cameras report the
temperature of a black body that would give the same signal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

F32 = NDArray[np.float32]
KELVIN = 273.15
_H, _C, _KB = 6.62607015e-34, 2.99792458e8, 1.380649e-23


def band_radiance(t_k: ArrayLike, band_um: tuple[float, float] = (8.0, 14.0),
                  steps: int = 241) -> NDArray[np.float64]:
    """Black-body radiance integrated over ``band_um`` (W m^-2 sr^-1) at temperatures in K."""
    t = np.asarray(t_k, dtype=np.float64)[..., None]
    lam = np.linspace(band_um[0], band_um[1], steps) * 1e-6
    spectral = 2.0 * _H * _C ** 2 / lam ** 5 / np.expm1(_H * _C / (lam * _KB * t))
    return np.sum((spectral[..., 1:] + spectral[..., :-1]) * 0.5 * np.diff(lam), axis=-1)


@dataclass(frozen=True)
class RadianceTable:
    """Monotonic lookup between temperature (C) and relative band radiance.

    Covers ``t_min_c`` .. ``t_max_c`` in steps of ``step_k`` kelvin; values outside are
    clamped. Linear interpolation on a 0.1 K table is exact to about 1e-4 K.
    """

    t_min_c: float = -60.0
    t_max_c: float = 1300.0
    step_k: float = 0.1
    band_um: tuple[float, float] = (8.0, 14.0)
    _t_c: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _l: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        t_c = np.arange(self.t_min_c, self.t_max_c + self.step_k / 2, self.step_k)
        l300 = float(band_radiance(300.0, self.band_um))
        object.__setattr__(self, "_t_c", t_c)
        object.__setattr__(self, "_l", band_radiance(t_c + KELVIN, self.band_um) / l300)

    def radiance(self, t_c: ArrayLike) -> F32:
        """Relative band radiance (1.0 at 300 K) of temperatures in degrees C, float32."""
        t = np.asarray(t_c, dtype=np.float32)
        return np.interp(t, self._t_c, self._l).astype(np.float32)

    def temperature(self, radiance: ArrayLike) -> F32:
        """Temperature in degrees C of relative band radiance, float32 (NaN stays NaN)."""
        r = np.asarray(radiance, dtype=np.float32)
        return np.interp(r, self._l, self._t_c).astype(np.float32)
