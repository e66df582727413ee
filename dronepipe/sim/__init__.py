"""A drone flight simulator with ground truth, and the evaluation against that truth.

``simulate(SimConfig(...), out_dir)`` writes a flight folder as real equipment writes
it (MAVLink tlog, DataFlash log, radiometric thermal TIFFs, RGB JPEGs, a thermal video
with its own telemetry, ``cameras.toml``) plus the truth (``truth/``) that
``dronepipe evaluate`` compares a processed result with. Everything is rendered
through the pipeline's own geometry (``dronepipe.stitching.georef``), so the simulator
and the pipeline share one definition of where a pixel lands.
"""

from __future__ import annotations

from dronepipe.sim.config import (
    ErrorConfig,
    HotspotCounts,
    SimCamera,
    SimConfig,
    TelemetryRates,
    default_rgb,
    default_thermal,
)
from dronepipe.sim.simulator import SimResult, simulate

__all__ = ["ErrorConfig", "HotspotCounts", "SimCamera", "SimConfig", "SimResult", "TelemetryRates",
           "default_rgb", "default_thermal", "simulate"]
