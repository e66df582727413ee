"""``Arrival``: one frame as it reached the live mode, before it has a time or a pose.

A still arrives as a file (``path``), a video frame as pixels (``pixels``, grey uint8).
``arrival_s`` is the local wall clock (``time.time()``) when it was taken in; the
alert latency is measured from it. ``t_capture_utc_s`` is the capture time on the
telemetry's clock where the source knows it (an in-process feeder); else the live mode
works it out (``frametime``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronepipe.frames.refs import FrameKind


@dataclass(frozen=True, eq=False)
class Arrival:
    """A frame that arrived: ``name`` (unique in the run), ``kind`` (None: from the
    file's content), the wall time
    ``arrival_s``, and either a still ``path`` or video ``pixels`` (H, W) uint8 grey."""

    name: str
    kind: FrameKind | None
    arrival_s: float
    path: Path | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)
    t_capture_utc_s: float | None = None

    @property
    def is_video(self) -> bool:
        return self.pixels is not None
