"""The realised errors of one flight, drawn from ``ErrorConfig`` and the seed.

GNSS: a first-order Gauss-Markov process per axis (east, north, up) on a 10 Hz time
base, ``x[k+1] = phi x[k] + sigma sqrt(1 - phi^2) w``, ``phi = exp(-dt / tau)``: a
random walk that wanders with the configured standard deviation but stays bounded,
as an uncorrected receiver's error does. Attitude and gimbal noise are white per
reported sample; the gimbal bias is constant over the flight. All angles radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.config import ErrorConfig

F64 = NDArray[np.float64]
GNSS_DT_S = 0.1


@dataclass(frozen=True)
class ErrorModel:
    """Errors over UTC times ``t_utc_s`` (GNSS walk ``gnss_enu_m``, (N, 3) metres)."""

    config: ErrorConfig
    t_utc_s: F64 = field(repr=False)
    gnss_enu_m: F64 = field(repr=False)
    seed: int

    @classmethod
    def draw(cls, config: ErrorConfig, t0_utc_s: float, t1_utc_s: float, seed: int) -> ErrorModel:
        """Draw a flight's GNSS walk between two UTC times."""
        rng = np.random.default_rng([seed, 10])
        t = np.arange(t0_utc_s, t1_utc_s + GNSS_DT_S, GNSS_DT_S)
        sig = np.array([config.gnss_sigma_m, config.gnss_sigma_m, config.gnss_vertical_sigma_m])
        phi = math.exp(-GNSS_DT_S / max(config.gnss_tau_s, 1e-6))
        w = rng.standard_normal((len(t), 3))
        x = np.empty((len(t), 3))
        x[0] = sig * w[0]
        k = sig * math.sqrt(1.0 - phi * phi)
        for i in range(1, len(t)):
            x[i] = phi * x[i - 1] + k * w[i]
        return cls(config, t, x, seed)

    def gnss_at(self, t_utc_s: F64) -> F64:
        """GNSS error (east, north, up), metres, at UTC times (N, 3)."""
        t = np.asarray(t_utc_s, dtype=np.float64)
        return np.stack([np.interp(t, self.t_utc_s, self.gnss_enu_m[:, i]) for i in range(3)], -1)

    @property
    def gimbal_bias_rad(self) -> F64:
        return np.radians(np.asarray(self.config.gimbal_bias_deg, dtype=np.float64))

    def rng(self, stream: int) -> np.random.Generator:
        """An independent generator for one telemetry stream's white noise and drops."""
        return np.random.default_rng([self.seed, 20, stream])
