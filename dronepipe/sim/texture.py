"""Procedural texture: value-noise fractal fields, evaluated tile by tile.

A noise octave of scale ``s`` metres is a grid of independent normal values every
``s`` metres, interpolated bicubically (``cv2.remap``). The coarse grids are drawn
once from the seed; any block of rows of the world can then be evaluated alone,
giving identical values to a whole-world evaluation, so world generation runs in
bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.grid import RasterGrid

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class NoiseField:
    """A sum of value-noise octaves over a grid: ``sum(amp_i * octave(scale_i))``.

    ``scales_m`` and ``amplitudes`` pair up; the result has roughly unit standard
    deviation per unit of amplitude (the cubic interpolation shrinks it a little).
    """

    grid: RasterGrid
    scales_m: tuple[float, ...]
    amplitudes: tuple[float, ...]
    seed: int
    _coarse: tuple[F32, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        coarse = []
        for s in self.scales_m:
            ny = int(np.ceil(self.grid.height * self.grid.cell_m / s)) + 4
            nx = int(np.ceil(self.grid.width * self.grid.cell_m / s)) + 4
            coarse.append(rng.standard_normal((ny, nx)).astype(np.float32))
        object.__setattr__(self, "_coarse", tuple(coarse))

    def rows(self, r0: int, r1: int) -> F32:
        """The field on grid rows ``r0`` .. ``r1 - 1`` (all columns), float32."""
        g = self.grid
        out = np.zeros((r1 - r0, g.width), np.float32)
        cols = np.arange(g.width, dtype=np.float64)
        rows = np.arange(r0, r1, dtype=np.float64)
        for s, a, c in zip(self.scales_m, self.amplitudes, self._coarse, strict=True):
            if a == 0.0:
                continue
            k = g.cell_m / s
            mx = np.broadcast_to(((cols + 0.5) * k + 1.0).astype(np.float32), out.shape)
            my = np.broadcast_to(((rows + 0.5) * k + 1.0).astype(np.float32)[:, None], out.shape)
            out += a * cv2.remap(c, np.ascontiguousarray(mx), np.ascontiguousarray(my),
                                 cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        return out


def grain(shape: tuple[int, int], rng: np.random.Generator) -> F32:
    """Uncorrelated unit normal noise at the world cell (sand, gravel, crop leaves)."""
    return rng.standard_normal(shape, dtype=np.float32)
