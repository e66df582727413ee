"""FLIR's raw-signal-to-temperature conversion, with atmosphere, IR window and reflection.

The model is the one FLIR cameras use and ExifTool's FLIR documentation, Glenn
Tattersall's Thermimage (``raw2temp``) and thermal_parser reproduce. The camera's
calibration maps object temperature T (kelvin) to a raw signal by a Planck curve

    S(T) = R1 / (R2 * (exp(B / T) - F)) - O

and the signal it measured mixes the object with the atmosphere and a reflected
background. The path is split at an (optional) external IR window: half the distance
on each side, each half with the same atmospheric transmission

    h2o = RH/100 * exp(1.5587 + 0.06939 t - 0.00027816 t^2 + 0.00000068455 t^3)  (t in C)
    tau = X exp(-sqrt(d/2) (a1 + b1 sqrt(h2o))) + (1 - X) exp(-sqrt(d/2) (a2 + b2 sqrt(h2o)))

so that, with emissivity E, window transmission W (emitting 1 - W at its own
temperature, reflecting nothing):

    S_obj = S / (E tau1 W tau2) - (1 - E)/E S(T_refl) - (1 - tau1)/(E tau1) S(T_atm)
            - (1 - W)/(E tau1 W) S(T_win) - (1 - tau2)/(E tau1 W tau2) S(T_atm)

and the object temperature is the inverse Planck curve of S_obj:
T = B / ln(R1 / (R2 (S_obj + O)) + F). Signals without a temperature (S_obj + O <= 0,
far below the camera's range) become NaN.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from dronepipe.thermal.options import KELVIN_OFFSET
from dronepipe.thermal.records import RadiometricParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanckConstants:
    """A FLIR camera's calibration: R1, R2, B (kelvin), F, O (raw counts)."""

    r1: float
    r2: float
    b: float
    f: float
    o: float

    def signal(self, temp_c: float) -> float:
        """Raw signal of a black body at ``temp_c`` degrees C."""
        return self.r1 / (self.r2 * (math.exp(self.b / (temp_c + KELVIN_OFFSET)) - self.f)) - self.o


@dataclass(frozen=True)
class AtmosphereConstants:
    """FLIR's atmospheric transmission constants (alpha1/2, beta1/2 per sqrt(m), X)."""

    alpha1: float = 0.006569
    alpha2: float = 0.012620
    beta1: float = -0.002276
    beta2: float = -0.006670
    x: float = 1.9


def transmission(distance_m: float, atm_temp_c: float, humidity_pct: float,
                 atm: AtmosphereConstants) -> float:
    """Atmospheric transmission (0-1) over ``distance_m`` metres."""
    t = atm_temp_c
    h2o = humidity_pct / 100.0 * math.exp(1.5587 + 0.06939 * t - 0.00027816 * t * t + 0.00000068455 * t ** 3)
    root_d, root_h = math.sqrt(distance_m), math.sqrt(h2o)
    return (atm.x * math.exp(-root_d * (atm.alpha1 + atm.beta1 * root_h))
            + (1.0 - atm.x) * math.exp(-root_d * (atm.alpha2 + atm.beta2 * root_h)))


def _linear_terms(planck: PlanckConstants, atm: AtmosphereConstants,
                  p: RadiometricParams) -> tuple[float, float]:
    """(gain, offset) such that S_obj = S * gain - offset (see the module docstring)."""
    e = _required(p.emissivity, "emissivity")
    dist = _required(p.object_distance_m, "object_distance_m")
    t_refl = _required(p.reflected_temp_c, "reflected_temp_c")
    t_atm = _required(p.atmospheric_temp_c, "atmospheric_temp_c")
    rh = _required(p.relative_humidity_pct, "relative_humidity_pct")
    window = 1.0 if p.ir_window_transmission is None else p.ir_window_transmission
    t_win = t_refl if p.ir_window_temp_c is None else p.ir_window_temp_c
    tau = transmission(dist / 2.0, t_atm, rh, atm)
    s_refl, s_atm, s_win = planck.signal(t_refl), planck.signal(t_atm), planck.signal(t_win)
    offset = ((1.0 - e) / e * s_refl
              + (1.0 - tau) / (e * tau) * s_atm
              + (1.0 - window) / (e * tau * window) * s_win
              + (1.0 - tau) / (e * tau * window * tau) * s_atm)
    return 1.0 / (e * tau * window * tau), offset


def _required(value: float | None, name: str) -> float:
    if value is None:
        raise ValueError(f"FLIR conversion needs {name}")
    return float(value)


def raw_to_celsius(raw: np.ndarray, planck: PlanckConstants, atm: AtmosphereConstants,
                   params: RadiometricParams) -> np.ndarray:
    """Object temperatures (float32 degrees C, NaN where undefined) of raw FLIR signals.

    Integer input is converted through a lookup table over its value range.
    """
    gain, offset = _linear_terms(planck, atm, params)
    raw = np.asarray(raw)
    if raw.dtype.kind in "ui" and raw.size > 4096:
        low, high = int(raw.min()), int(raw.max())
        table = _invert(np.arange(low, high + 1, dtype=np.float64) * gain - offset, planck)
        return table[raw.astype(np.int64) - low]
    return _invert(raw.astype(np.float64) * gain - offset, planck)


def _invert(s_obj: np.ndarray, planck: PlanckConstants) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = planck.r1 / (planck.r2 * (s_obj + planck.o)) + planck.f
        kelvin = planck.b / np.log(inner)
    kelvin = np.where((s_obj + planck.o > 0) & (inner > 1.0), kelvin, np.nan)
    return (kelvin - KELVIN_OFFSET).astype(np.float32)


def celsius_to_raw(temp_c: np.ndarray, planck: PlanckConstants, atm: AtmosphereConstants,
                   params: RadiometricParams) -> np.ndarray:
    """The raw signal (float64) a FLIR camera would record for objects at ``temp_c``.

    The inverse of ``raw_to_celsius``; used to make synthetic FLIR frames.
    """
    gain, offset = _linear_terms(planck, atm, params)
    kelvin = np.asarray(temp_c, dtype=np.float64) + KELVIN_OFFSET
    s_obj = planck.r1 / (planck.r2 * (np.exp(planck.b / kelvin) - planck.f)) - planck.o
    return (s_obj + offset) / gain
