"""The picked video frames decoded once, for the stages that load them many times.

Registration and every mosaic block that a frame overlaps load the frame again, and
a video can only be read sequentially (``frames.video.read_video_frames``: seeking is
unreliable), so loading frame ``n`` from the video costs ``n`` decodes each time. The
picked frames are therefore decoded in one sequential pass per video into lossless PNG
files (the decoded pixels exactly, grey or BGR as OpenCV returns them) in a working
folder, which ``FrameLoader`` reads by frame id; the batch job removes the folder at
the end. The folder must be visible to the workers (the output folder is, for a
cluster that writes there too).
"""

from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import cv2

from dronepipe.errors import DronepipeError
from dronepipe.frames.refs import FrameRef
from dronepipe.frames.video import read_video_frames
from dronepipe.pipeline.loader import frame_id

log = logging.getLogger(__name__)
CACHE_DIR = ".video-frames"


def extract_frames(frames: Iterable[FrameRef], folder: Path) -> dict[str, Path]:
    """Decode the video frames among ``frames`` into ``folder``: frame id -> PNG file."""
    by_video: dict[Path, list[FrameRef]] = defaultdict(list)
    for f in frames:
        if f.is_video:
            by_video[f.path].append(f)
    out: dict[str, Path] = {}
    for k, (video, refs) in enumerate(by_video.items()):
        sub = folder / f"{k:03d}-{video.stem}"
        sub.mkdir(parents=True, exist_ok=True)
        wanted = {f.frame_index: f for f in refs}
        for n, pixels in read_video_frames(video, sorted(i for i in wanted if i is not None)):
            path = sub / f"{n:07d}.png"
            if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                raise DronepipeError(f"{path}: cannot write the decoded video frame")
            out[frame_id(wanted[n])] = path
        log.info("%s: %d picked frames decoded into %s", video, len(refs), sub)
    return out


def remove_cache(folder: Path) -> None:
    """Remove the working folder of decoded frames (nothing else lives there)."""
    if folder.name == CACHE_DIR and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
