"""Frames: stills and video frames, what their files say, and poses from the files alone.

- ``discover_frames(folder or files) -> Discovery`` finds thermal and RGB frames.
- ``FrameRef`` / ``FrameMeta``: a frame and its EXIF/XMP metadata (radians inside).
- ``pose_from_exif`` / ``poses_from_exif``: a pose from the frame's own GPS and gimbal.
- ``Posed`` / ``Rejected``: every frame ends with a pose or a reason.
- ``sample_video``: the frames of a video that cover the ground with a forward overlap
  (``dronepipe.frames.video``; imports OpenCV and the flight-log tracks).
"""

from dronepipe.frames.discover import Discovery, discover_frames
from dronepipe.frames.exif_pose import (
           Heading,
           pose_from_exif,
           poses_from_exif,
           track_headings,
)
from dronepipe.frames.metadata import FrameMeta, read_frame_meta
from dronepipe.frames.refs import FrameKind, FrameRef, Posed, PoseResult, Rejected

__all__ = ["Discovery", "FrameKind", "FrameMeta", "FrameRef", "Heading", "PoseResult", "Posed",
           "Rejected", "discover_frames", "pose_from_exif", "poses_from_exif", "read_frame_meta",
           "track_headings"]
