"""Temperature error of a thermal mosaic against the true temperature map.

Both maps are averaged onto cells of ``cell_m`` (0.5 m by default, so that the
camera's blur and fine texture do not count as radiometric error), after undoing the
mosaic's median displacement (geometry is measured separately). Cells are compared
only where the mosaic covers them fully, away from hot objects (``exclusion_m`` beyond
their radius) and away from edges of the true map (any truth pixel with a gradient
above ``edge_k_per_m`` within the cell). Reported: the median absolute difference and
the median signed difference (bias), degrees C.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.evaluation.rasters import EvalGrid, read_band

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class TemperatureError:
    """Median absolute and signed error (C) over ``cells`` compared cells."""

    mae_c: float | None
    bias_c: float | None
    cells: int


def edge_mask(truth_fine: F32, cell_m: float, edge_k_per_m: float) -> NDArray[np.bool_]:
    """Pixels of the fine truth near a strong temperature gradient."""
    t = np.where(np.isfinite(truth_fine), truth_fine, np.nanmedian(truth_fine)).astype(np.float32)
    t = cv2.GaussianBlur(np.clip(t, -50, 100), (0, 0), max(0.3 / cell_m, 0.5))
    gx = cv2.Sobel(t, cv2.CV_32F, 1, 0, ksize=3) / (8.0 * cell_m)
    gy = cv2.Sobel(t, cv2.CV_32F, 0, 1, ksize=3) / (8.0 * cell_m)
    return np.hypot(gx, gy) > edge_k_per_m


def hotspot_mask(grid: EvalGrid, centres_m: Sequence[tuple[float, float, float]],
                 exclusion_m: float) -> NDArray[np.bool_]:
    """Cells within ``radius + exclusion_m`` of hot objects (centre e, n and area m2)."""
    cols = grid.west_m + (np.arange(grid.width) + 0.5) * grid.cell_m
    rows = grid.north_m - (np.arange(grid.height) + 0.5) * grid.cell_m
    mask = np.zeros((grid.height, grid.width), dtype=bool)
    for e, n, area in centres_m:
        r = math.sqrt(max(area, 0.0) / math.pi) + exclusion_m
        mask |= ((cols[None, :] - e) ** 2 + (rows[:, None] - n) ** 2) <= r * r
    return mask


def temperature_error(mosaic: Path, truth: Path, grid_fine: EvalGrid, cell_m: float,
                      hot: Sequence[tuple[float, float, float]], shift_m: tuple[float, float],
                      exclusion_m: float = 3.0, edge_k_per_m: float = 4.0) -> TemperatureError:
    """The mosaic's temperature error (see the module docstring); ``grid_fine`` is the
    common grid at the truth's resolution, ``shift_m`` the mosaic displacement to undo."""
    f = max(1, int(round(cell_m / grid_fine.cell_m)))
    w, h = grid_fine.width // f, grid_fine.height // f
    if w < 1 or h < 1:
        return TemperatureError(None, None, 0)
    fine = EvalGrid(grid_fine.west_m, grid_fine.north_m, grid_fine.cell_m, w * f, h * f, grid_fine.crs)
    coarse = EvalGrid(fine.west_m, fine.north_m, fine.cell_m * f, w, h, fine.crs)
    t_fine = read_band(truth, 1, fine)
    m_fine = read_band(mosaic, 1, fine, offset_m=shift_m)
    edges = edge_mask(t_fine, fine.cell_m, edge_k_per_m)
    bad = edges | ~np.isfinite(t_fine) | ~np.isfinite(m_fine)
    bad_cell = bad.reshape(h, f, w, f).any(axis=(1, 3)) | hotspot_mask(coarse, hot, exclusion_m)
    t_cell = t_fine.reshape(h, f, w, f).mean(axis=(1, 3))
    m_cell = m_fine.reshape(h, f, w, f).mean(axis=(1, 3))
    d = (m_cell - t_cell)[~bad_cell]
    d = d[np.isfinite(d)]
    if d.size == 0:
        return TemperatureError(None, None, 0)
    return TemperatureError(float(np.median(np.abs(d))), float(np.median(d)), int(d.size))
