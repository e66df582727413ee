"""Synthetic temperature frames for the hotspot tests and the detection bench.

Backgrounds are a linear gradient across the frame, a smooth random texture (Gaussian
blurred white noise, correlation length in metres) and white sensor noise (NETD).
Objects are painted with exact pixel coverage (supersampled), so edge pixels mix
object and ground temperatures as a real sensor's pixels do.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]


def background(shape: tuple[int, int], gsd_m: float, rng: np.random.Generator,
               lo_c: float = 5.0, hi_c: float = 35.0, texture_c: float = 1.0,
               corr_m: float = 1.0) -> F32:
    """A textured ground without sensor noise: gradient lo..hi in a random direction,
    texture of standard deviation ``texture_c`` and correlation length ``corr_m``."""
    h, w = shape
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.cos(ang) * xx / w + np.sin(ang) * yy / h
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    t = lo_c + (hi_c - lo_c) * ramp
    if texture_c > 0:
        s = max(corr_m / gsd_m, 0.5)
        pad = int(np.ceil(4 * s))  # blur a larger field: no mirrored texture at the edges
        big = rng.standard_normal((h + 2 * pad, w + 2 * pad)).astype(np.float32)
        tex = cv2.GaussianBlur(big, (0, 0), s)[pad:pad + h, pad:pad + w]
        t += texture_c * tex / max(float(tex.std()), 1e-6)
    return t.astype(np.float32)


def add_noise(t: F32, rng: np.random.Generator, noise_c: float = 0.05) -> F32:
    """White sensor noise (NETD ``noise_c``, default 50 mK) over the whole frame."""
    return (t + rng.normal(0.0, noise_c, t.shape)).astype(np.float32)


def coverage_disc(shape: tuple[int, int], centre_px: tuple[float, float], radius_px: float,
                  supersample: int = 8) -> F32:
    """Fraction (0..1) of each pixel inside a disc; ``centre_px`` = (u, v), pixel centres
    at integers."""
    h, w = shape
    u0, v0 = centre_px
    r = radius_px + 1
    c0, c1 = max(0, int(np.floor(u0 - r))), min(w, int(np.ceil(u0 + r)) + 1)
    r0, r1 = max(0, int(np.floor(v0 - r))), min(h, int(np.ceil(v0 + r)) + 1)
    cov = np.zeros(shape, np.float32)
    off = (np.arange(supersample) + 0.5) / supersample - 0.5
    vv, uu = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    acc = np.zeros(vv.shape, np.float32)
    for dy in off:
        for dx in off:
            acc += ((uu + dx - u0) ** 2 + (vv + dy - v0) ** 2 <= radius_px ** 2)
    cov[r0:r1, c0:c1] = acc / supersample ** 2
    return cov


def coverage_rect(shape: tuple[int, int], centre_px: tuple[float, float], w_px: float,
                  h_px: float, angle_rad: float = 0.0, supersample: int = 8) -> F32:
    """Fraction (0..1) of each pixel inside a rotated rectangle (sizes in pixels)."""
    h, w = shape
    u0, v0 = centre_px
    r = 0.5 * np.hypot(w_px, h_px) + 1
    c0, c1 = max(0, int(np.floor(u0 - r))), min(w, int(np.ceil(u0 + r)) + 1)
    r0, r1 = max(0, int(np.floor(v0 - r))), min(h, int(np.ceil(v0 + r)) + 1)
    off = (np.arange(supersample) + 0.5) / supersample - 0.5
    vv, uu = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    ca, sa = np.cos(angle_rad), np.sin(angle_rad)
    acc = np.zeros(vv.shape, np.float32)
    for dy in off:
        for dx in off:
            x, y = uu + dx - u0, vv + dy - v0
            a, b = ca * x + sa * y, -sa * x + ca * y
            acc += (np.abs(a) <= w_px / 2) & (np.abs(b) <= h_px / 2)
    cov = np.zeros(shape, np.float32)
    cov[r0:r1, c0:c1] = acc / supersample ** 2
    return cov


def paint(t: F32, coverage: F32, temp_c: float) -> F32:
    """The frame with an object of uniform temperature mixed in by pixel coverage."""
    return (t * (1.0 - coverage) + temp_c * coverage).astype(np.float32)


def add_disc(t: F32, centre_px: tuple[float, float], area_m2: float, temp_c: float,
             gsd_m: float) -> F32:
    """A uniform disc of ``area_m2`` at ``temp_c`` painted into the frame."""
    radius_px = np.sqrt(area_m2 / np.pi) / gsd_m
    return paint(t, coverage_disc(t.shape, centre_px, radius_px), temp_c)
