"""Surface materials of the simulated world: colour, texture and temperature.

Temperatures are those of a clear June midday in the Palatinate (5-35 C): sun-warmed
asphalt and dark roofs warmest, water and tree crowns coolest, shadows a few kelvin
below the lit surface. Texture amplitudes are relative brightness modulations; the
temperature of a material also follows its brightness (darker absorbs more sun), so
the thermal image carries part of the visible texture, but weaker, as in real scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Material:
    """``rgb`` sRGB base colour; ``large``/``fine``/``grain``: relative brightness
    modulation by metre-scale noise, decimetre-scale noise and per-cell grain;
    ``stripe``/``period_m``: amplitude and period of rows or furrows (0: none);
    ``temp_c``: mean temperature; ``moisture_k``: amplitude of independent thermal
    texture; ``coupling_k``: kelvin per unit of brightness modulation (negative:
    darker is warmer); ``shaded``: whether shadows fall on it."""

    name: str
    rgb: tuple[int, int, int]
    large: float
    fine: float
    grain: float
    stripe: float
    period_m: float
    temp_c: float
    moisture_k: float
    coupling_k: float
    shaded: bool = True


MATERIALS: tuple[Material, ...] = (
    Material("none", (0, 0, 0), 0, 0, 0, 0, 1, 20, 0, 0),
    Material("meadow", (100, 124, 66), 0.10, 0.10, 0.10, 0.0, 1.0, 21.0, 1.0, -6.0),
    Material("wheat", (176, 160, 96), 0.06, 0.06, 0.08, 0.05, 0.25, 25.0, 0.8, -8.0),
    Material("maize", (70, 112, 46), 0.06, 0.06, 0.10, 0.35, 0.75, 20.5, 0.6, -8.0),
    Material("ploughed", (122, 96, 72), 0.10, 0.10, 0.12, 0.20, 0.40, 28.5, 1.2, -10.0),
    Material("fallow", (142, 132, 92), 0.12, 0.10, 0.12, 0.0, 1.0, 26.0, 1.0, -8.0),
    Material("asphalt", (72, 72, 75), 0.06, 0.05, 0.10, 0.0, 1.0, 33.0, 0.6, -6.0),
    Material("gravel", (152, 146, 134), 0.08, 0.08, 0.18, 0.0, 1.0, 29.5, 0.6, -6.0),
    Material("paving", (128, 122, 116), 0.05, 0.04, 0.08, 0.08, 0.22, 30.0, 0.5, -6.0),
    Material("roof_red_lit", (176, 84, 62), 0.04, 0.05, 0.06, 0.15, 0.33, 33.5, 0.5, -4.0, False),
    Material("roof_red_shade", (128, 60, 46), 0.04, 0.05, 0.06, 0.15, 0.33, 29.0, 0.5, -4.0, False),
    Material("roof_grey_lit", (134, 134, 140), 0.04, 0.05, 0.06, 0.12, 0.30, 32.5, 0.5, -4.0, False),
    Material("roof_grey_shade", (96, 96, 102), 0.04, 0.05, 0.06, 0.12, 0.30, 28.5, 0.5, -4.0, False),
    Material("roof_flat", (62, 62, 64), 0.05, 0.06, 0.12, 0.0, 1.0, 35.0, 0.4, -4.0, False),
    Material("tree", (46, 76, 36), 0.18, 0.22, 0.12, 0.0, 1.0, 18.0, 0.8, -4.0, False),
    Material("water", (44, 62, 58), 0.03, 0.02, 0.01, 0.0, 1.0, 15.0, 0.3, 0.0),
    Material("reed", (92, 112, 62), 0.10, 0.14, 0.12, 0.0, 1.0, 19.5, 0.6, -4.0),
    Material("marking", (222, 222, 214), 0.02, 0.02, 0.04, 0.0, 1.0, 28.0, 0.2, 0.0),
    Material("hay", (192, 170, 112), 0.04, 0.08, 0.10, 0.0, 1.0, 30.0, 0.5, -4.0, False),
    Material("stone", (142, 136, 128), 0.05, 0.08, 0.10, 0.0, 1.0, 27.0, 0.5, -4.0),
    Material("bush", (56, 86, 40), 0.12, 0.18, 0.12, 0.0, 1.0, 19.5, 0.6, -4.0, False),
    Material("rut", (108, 94, 74), 0.08, 0.08, 0.14, 0.0, 1.0, 28.0, 0.8, -6.0),
    Material("manhole", (48, 48, 50), 0.02, 0.03, 0.05, 0.0, 1.0, 31.0, 0.2, 0.0),
)

MATERIAL_ID: dict[str, int] = {m.name: i for i, m in enumerate(MATERIALS)}
CROPS: tuple[str, ...] = ("meadow", "wheat", "maize", "ploughed", "fallow")
CROP_WEIGHTS: tuple[float, ...] = (0.30, 0.25, 0.20, 0.15, 0.10)


@dataclass(frozen=True)
class MaterialTables:
    """Per-material lookup arrays (indexed by material id), float32."""

    rgb: NDArray[np.float32]
    large: NDArray[np.float32]
    fine: NDArray[np.float32]
    grain: NDArray[np.float32]
    stripe: NDArray[np.float32]
    period_m: NDArray[np.float32]
    temp_c: NDArray[np.float32]
    moisture_k: NDArray[np.float32]
    coupling_k: NDArray[np.float32]
    shaded: NDArray[np.float32]


def material_tables() -> MaterialTables:
    """Lookup arrays of ``MATERIALS`` (256 entries, so any uint8 map indexes them)."""
    def col(get: object) -> NDArray[np.float32]:
        out = np.zeros(256, np.float32)
        out[:len(MATERIALS)] = [get(m) for m in MATERIALS]  # type: ignore[operator]
        return out
    rgb = np.zeros((256, 3), np.float32)
    rgb[:len(MATERIALS)] = [m.rgb for m in MATERIALS]
    period = col(lambda m: m.period_m)
    period[period == 0] = 1.0
    return MaterialTables(rgb, col(lambda m: m.large), col(lambda m: m.fine),
                          col(lambda m: m.grain), col(lambda m: m.stripe), period,
                          col(lambda m: m.temp_c), col(lambda m: m.moisture_k),
                          col(lambda m: m.coupling_k), col(lambda m: float(m.shaded)))
