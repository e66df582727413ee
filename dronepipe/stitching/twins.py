"""Thermal frames placed through their RGB twins.

A thermal/RGB twin camera (H20T, M30T, M2EA, XT2, Duo Pro R) takes both frames at the
same instant from the same gimbal: the GNSS, attitude and gimbal errors are common to
the two, and the cameras' known offset on the gimbal (``Mount.offset_gimbal_m``,
``boresight_rad``) is already in each frame's raw geometry. Their corrections are then
the same transform of the map, to first order; it is carried from the RGB frame (whose
texture registers well) to the thermal one about the thermal frame's own centre
(``correction_ops.recentred``).

The other path registers thermal frames among themselves on contrast-normalised
images (``register_and_adjust`` on the thermal frames). ``register_thermal`` does both,
which measured best (tests/stitching/test_twins.py): the twin's correction first (it
works however flat the thermal scene), then thermal-to-thermal registration with the
priors centred on it (``prior="input"``, sigma ``twin_uncertainty``: what the mount
calibration leaves, e.g. a 0.3 degree boresight error is 0.3 m at 60 m and shows as a
seam between opposite flight lines). Where thermal pairs do not register, frames keep
the transferred correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from dronepipe.stitching.correction_ops import recentred
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.priors import PoseUncertainty
from dronepipe.stitching.register import RegistrationConfig, register_and_adjust
from dronepipe.stitching.regreport import RegistrationReport
from dronepipe.stitching.tiepoints import Loader, Progress


def pair_twins(thermal: Sequence[GeoFrame], rgb: Sequence[GeoFrame],
               max_dt_s: float = 0.05) -> list[int | None]:
    """For each thermal frame, the index of the RGB frame taken within ``max_dt_s``
    seconds of it (the nearest), or None. Each RGB frame serves at most one thermal frame."""
    if not rgb:
        return [None] * len(thermal)
    t_rgb = np.array([g.t_utc_s for g in rgb])
    order = np.argsort(t_rgb)
    ts = t_rgb[order]
    out: list[int | None] = []
    used: set[int] = set()
    for g in thermal:
        k = int(np.searchsorted(ts, g.t_utc_s))
        near = [c for c in (k - 1, k) if 0 <= c < len(ts) and abs(ts[c] - g.t_utc_s) <= max_dt_s]
        best = min(near, key=lambda c: abs(ts[c] - g.t_utc_s), default=None)
        idx = int(order[best]) if best is not None and int(order[best]) not in used else None
        if idx is not None:
            used.add(idx)
        out.append(idx)
    return out


def transfer_from_twins(thermal: Sequence[GeoFrame], rgb_corrected: Sequence[GeoFrame],
                        max_dt_s: float = 0.05) -> tuple[list[GeoFrame], list[str]]:
    """Thermal frames with their RGB twins' corrections, and the ids of thermal frames
    without a twin (returned unchanged)."""
    twins = pair_twins(thermal, rgb_corrected, max_dt_s)
    out, lonely = [], []
    for g, k in zip(thermal, twins, strict=True):
        if k is None:
            out.append(g)
            lonely.append(g.frame_id)
        else:
            corr = recentred(rgb_corrected[k].correction, g.correction_centre_m)
            out.append(replace(g, correction=corr))
    return out, lonely


def register_thermal(thermal: Sequence[GeoFrame], rgb_corrected: Sequence[GeoFrame],
                     load_thermal: Loader, config: RegistrationConfig = RegistrationConfig(),
                     progress: Progress | None = None, *, max_dt_s: float = 0.05,
                     twin_uncertainty: PoseUncertainty = PoseUncertainty(0.5, 0.5, 0.005),
                     ) -> tuple[list[GeoFrame], RegistrationReport, list[str]]:
    """Thermal frames placed by their RGB twins, then refined among themselves (see
    module): corrected frames, the thermal registration's report, and the ids of
    thermal frames without a twin (registered against the GNSS priors only)."""
    transferred, lonely = transfer_from_twins(thermal, rgb_corrected, max_dt_s)
    alone = set(lonely)
    unc = {g.frame_id: config.uncertainty if g.frame_id in alone else twin_uncertainty
           for g in transferred}
    out, report = register_and_adjust(transferred, load_thermal, replace(config, prior="input"),
                                      progress, uncertainties=unc)
    return out, report, lonely
