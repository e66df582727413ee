"""The GNSS walk in the block adjustment: position priors correlated in time.

An uncorrected receiver's position error wanders (``priors.GnssWalk``). Modelled as a
first-order Gauss-Markov process ``g`` plus a white part per frame, the prior of a free
frame's shift ``(dx, dy)_k`` is ``((dx, dy)_k - mean_k - g_k) / white_k`` and the walk
is linked between frames consecutive in time,

    (h_k - phi_k h_prev) / sqrt(1 - phi_k^2),   h = g / walk sigma,  phi_k = exp(-dt / tau),

(``h_k`` alone at a chain start): the inverse of the process's covariance is
tridiagonal, so the adjustment stays sparse (two unknowns and two rows more per frame).

The walk tells the block's shape (rotation and scale) better than independent priors,
which fit it to the walk's excursions as if each frame were an independent
measurement. It leans on the assumed split between walk and white error, though: with
errors that are in fact independent from frame to frame, a walk of 60 s with 0.5 m of
white error would take most of them for the walk and misplace a 12-frame test block
by 0.7 m. The ties see the GNSS error's steps between consecutive frames (the relative
placement of tied frames is exact to centimetres), so ``WalkChain.white_from_steps``
measures the white part from them, and the adjustment raises it where they show more
(``adjust._adapt_walk``); a smooth walk leaves the assumed white part as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MAX_WHITE = 0.95   # the white part's largest share of a frame's position sigma


@dataclass(frozen=True)
class WalkChain:
    """The GNSS walk over the free frames (indexed in the order of the free frames):
    ``prev`` the free frame before each in time (-1: a chain start), ``phi`` the walk's
    correlation with it, ``walk_m`` and ``white_m`` each frame's walk and white sigmas."""

    prev: I64 = field(repr=False)
    phi: F64 = field(repr=False)
    walk_m: F64 = field(repr=False)
    white_m: F64 = field(repr=False)

    @classmethod
    def of(cls, times_s: F64, sigma_pos_m: F64, tau_s: float, white_m: float) -> WalkChain:
        """The chain of frames with capture times ``times_s`` (seconds; NaN: not linked)
        and position sigmas ``sigma_pos_m`` (metres), for a walk of correlation time
        ``tau_s`` and a white part of ``white_m`` (at most ``MAX_WHITE`` of a frame's
        sigma)."""
        t = np.asarray(times_s, dtype=np.float64)
        sig = np.asarray(sigma_pos_m, dtype=np.float64)
        white = np.minimum(white_m, MAX_WHITE * sig)
        prev = np.full(len(t), -1, np.int64)
        phi = np.zeros(len(t))
        known = np.flatnonzero(np.isfinite(t))
        order = known[np.argsort(t[known], kind="stable")]
        prev[order[1:]] = order[:-1]
        phi[order[1:]] = np.exp(-np.diff(t[order]) / tau_s)
        return cls(prev, phi, np.sqrt(sig ** 2 - white ** 2), white)

    def residuals(self, h: F64) -> F64:
        """The links (n, 2) of the walk in its own sigmas ``h = g / walk_m``, raveled."""
        hp = np.where(self.prev[:, None] >= 0, h[np.maximum(self.prev, 0)], 0.0)
        return ((h - self.phi[:, None] * hp) / self._norm[:, None]).ravel()

    def jacobian(self) -> sp.csr_matrix:
        """d(links)/dh, (2n, 2n)."""
        n = len(self.prev)
        k = np.arange(n)
        linked = np.flatnonzero(self.prev >= 0)
        rows = np.concatenate([2 * k, 2 * k + 1, 2 * linked, 2 * linked + 1])
        cols = np.concatenate([2 * k, 2 * k + 1, 2 * self.prev[linked], 2 * self.prev[linked] + 1])
        off = -self.phi[linked] / self._norm[linked]
        vals = np.concatenate([1.0 / self._norm, 1.0 / self._norm, off, off])
        return sp.csr_matrix((vals, (rows, cols)), shape=(2 * n, 2 * n))

    def with_white(self, white_m: float) -> WalkChain:
        """The same chain with another white part (metres; the walk takes the rest)."""
        sig = np.sqrt(self.walk_m ** 2 + self.white_m ** 2)
        white = np.minimum(white_m, MAX_WHITE * sig)
        return WalkChain(self.prev, self.phi, np.sqrt(sig ** 2 - white ** 2), white)

    def white_from_steps(self, d: F64, group: I64) -> float:
        """The white sigma (metres, per axis) the frames' steps show: ``d`` (n, 2) the
        solved shifts minus the GNSS positions' (the GNSS error as the ties see it, up
        to the block's similarity, which hardly shows between neighbours), ``group``
        (n,) the tied group of each frame. A step between consecutive frames of one
        group has the per-axis variance ``2 white^2 + 2 walk^2 (1 - phi)``; from the
        median step (``|step|^2 / (2 ln 2)`` for a 2D normal). NaN without steps."""
        k = np.flatnonzero((self.prev >= 0) & (self.phi > 0))
        k = k[group[k] == group[self.prev[k]]]
        if len(k) == 0:
            return float("nan")
        step = d[k] - d[self.prev[k]]
        var = float(np.median(np.sum(step ** 2, axis=1))) / (2.0 * math.log(2.0))
        walk = np.median(self.walk_m[k] ** 2 * (1.0 - self.phi[k]))
        return math.sqrt(max(0.5 * var - float(walk), 0.0))

    @property
    def _norm(self) -> F64:
        return np.sqrt(np.maximum(1.0 - self.phi ** 2, 1e-6))


def tied_groups(n: int, a: I64, b: I64) -> I64:
    """The connected group (label) of each of ``n`` frames by ties between ``a`` and ``b``."""
    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1], dtype=np.int64)
