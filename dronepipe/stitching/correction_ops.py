"""Corrections as adjustment parameters, and one map transform about another centre.

The adjustment's unknowns per frame are ``(dx, dy, dtheta, log scale)`` of a
``Correction2D`` about the frame's own centre (the raw footprint centroid, where the
four parameters are nearly uncorrelated). A correction is a transform of the map, so
it can be written about any centre: ``recentred`` gives the same transform about
another one (used to carry a correction from one frame to another, e.g. from an RGB
frame to its thermal twin, or from the last live frame to the next as a prediction).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.correction import Correction2D
from dronepipe.stitching.geoframe import GeoFrame

F64 = NDArray[np.float64]


def recentred(corr: Correction2D, centre_m: tuple[float, float]) -> Correction2D:
    """The same map transform as ``corr``, written about ``centre_m`` (metres)."""
    c0 = np.asarray(corr.centre_m, dtype=np.float64)
    c1 = np.asarray(centre_m, dtype=np.float64)
    co, si = math.cos(corr.dtheta_rad), math.sin(corr.dtheta_rad)
    rot = np.array([[co, -si], [si, co]])
    d = c0 + corr.scale * rot @ (c1 - c0) + np.array([corr.dx_m, corr.dy_m]) - c1
    return Correction2D(float(d[0]), float(d[1]), corr.dtheta_rad, corr.scale,
                        (float(c1[0]), float(c1[1])))


def params_of(gf: GeoFrame) -> F64:
    """A frame's current correction as ``(dx m, dy m, dtheta rad, log scale)`` about its centre."""
    c = gf.correction
    if c.is_identity:
        return np.zeros(4)
    c = recentred(c, gf.correction_centre_m)
    return np.array([c.dx_m, c.dy_m, c.dtheta_rad, math.log(c.scale)])


def with_params(gf: GeoFrame, x: F64) -> GeoFrame:
    """The frame with the correction ``x`` = ``(dx, dy, dtheta, log scale)`` about its centre."""
    return gf.with_correction(float(x[0]), float(x[1]), float(x[2]), math.exp(float(x[3])))
