"""``FrameRef``: one frame to process (a still file, or one frame of a video), and the
per-frame outcome of pose finding: ``Posed`` or ``Rejected`` (never a guessed pose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dronepipe.flightlogs.records import Pose
from dronepipe.frames.metadata import FrameMeta

FrameKind = Literal["thermal", "rgb"]


@dataclass(frozen=True)
class FrameRef:
    """A frame and what its file says about it.

    ``path``: the image file, or the video file for a video frame (then
    ``frame_index`` is its 0-based frame number and ``video_time_s`` its time in the
    video, seconds from the first frame). ``t_camera_s``: capture time on the camera's
    clock in UTC seconds (see ``FrameMeta``), None where the file has none.
    ``width``/``height``: pixels. ``meta``: everything else the file says.
    """

    path: Path
    kind: FrameKind
    t_camera_s: float | None
    width: int
    height: int
    meta: FrameMeta = field(default_factory=FrameMeta, compare=False, repr=False)
    frame_index: int | None = None
    video_time_s: float | None = None

    @property
    def is_video(self) -> bool:
        return self.frame_index is not None

    @property
    def name(self) -> str:
        """A short unique label: the file name, with ``#frame`` for a video frame."""
        return self.path.name if self.frame_index is None else f"{self.path.name}#{self.frame_index}"


@dataclass(frozen=True)
class Posed:
    """A frame with its pose; ``pose.source`` says how it was found (for provenance)."""

    frame: FrameRef
    pose: Pose

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class Rejected:
    """A frame that gets no pose, and why (one line, for the report and process.json)."""

    frame: FrameRef
    reason: str

    @property
    def ok(self) -> bool:
        return False


PoseResult = Posed | Rejected
