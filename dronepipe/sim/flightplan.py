"""The survey plan: a lawn-mower pattern sized by camera footprint and overlap.

Lines run along grid azimuth ``line_azimuth_deg`` and alternate direction; the camera
is triggered every ``trigger_dist_m`` along each line (as ArduPilot's
``DO_SET_CAM_TRIGG_DIST`` does), and each line has a run-in and run-out beyond the
first and last trigger so the vehicle is at survey speed and level when it shoots.
Footprints are those of the thermal camera (the narrower one) at the nominal height
above flat ground, with the image top pointing along the flight direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.camera import CameraModel

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class SurveyLine:
    """One survey line: first and last trigger point (grid easting, northing, metres)
    and the number of triggers on it."""

    start_m: tuple[float, float]
    end_m: tuple[float, float]
    triggers: int


@dataclass(frozen=True)
class FlightPlan:
    """Survey lines in flight order, the home (take-off) point, height and spacings."""

    lines: tuple[SurveyLine, ...]
    home_m: tuple[float, float]
    height_m: float
    trigger_dist_m: float
    line_spacing_m: float
    azimuth_rad: float
    run_in_m: float

    @property
    def frames(self) -> int:
        return sum(line.triggers for line in self.lines)


def footprint_m(camera: CameraModel, height_m: float) -> tuple[float, float]:
    """(across, along) ground size in metres of a nadir image at ``height_m`` (pinhole)."""
    across = camera.width / camera.fx * height_m
    along = camera.height / camera.fy * height_m
    return across, along


def plan_survey(centre_m: tuple[float, float], frames: int, height_m: float,
                camera: CameraModel, forward_overlap: float, side_overlap: float,
                azimuth_deg: float) -> FlightPlan:
    """A lawn-mower plan of exactly ``frames`` triggers centred on ``centre_m`` (grid).

    The number of lines is chosen so that the surveyed block is roughly square.
    """
    across, along = footprint_m(camera, height_m)
    d = max(along * (1.0 - forward_overlap), 0.5)
    spacing = max(across * (1.0 - side_overlap), 1.0)
    n_lines = max(1, round(math.sqrt(frames * d / spacing)))
    per_line = math.ceil(frames / n_lines)
    n_lines = math.ceil(frames / per_line)
    az = math.radians(azimuth_deg)
    u = np.array([math.sin(az), math.cos(az)])      # along the lines
    v = np.array([math.cos(az), -math.sin(az)])     # to their right
    c = np.asarray(centre_m, dtype=np.float64)
    length = (per_line - 1) * d
    lines = []
    left = frames
    for i in range(n_lines):
        k = min(per_line, left)
        left -= k
        base = c + (i - (n_lines - 1) / 2.0) * spacing * v - length / 2.0 * u
        a, b = base, base + (k - 1) * d * u
        if i % 2 == 1:  # odd lines fly back; they start at the far end
            a, b = base + length * u, base + length * u - (k - 1) * d * u
        lines.append(SurveyLine((float(a[0]), float(a[1])), (float(b[0]), float(b[1])), k))
    run_in = max(10.0, 2.0 * d)
    first = np.asarray(lines[0].start_m)
    home = first - (run_in + 15.0) * u - 10.0 * v
    return FlightPlan(tuple(lines), (float(home[0]), float(home[1])), height_m, d, spacing,
                      az, run_in)
