"""``VideoSource``: frames from a video stream or file through OpenCV/FFmpeg.

A stream (any URL OpenCV's FFmpeg backend opens: ``http://`` MJPEG, ``rtsp://``,
``udp://``, ``tcp://``) is read in a thread; when it fails to open or stops delivering,
it is reopened with exponential back-off (0.25 s doubling to ``reconnect_max_s``),
counted as ``video_reconnects``, until the source is closed. A file is read at its own
frame rate (as a camera would deliver it) and ends the source at its end. Frames are
handed on as grey uint8 (the thermal-gray mapping is applied in processing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from dronepipe.stream.arrivals import Arrival
from dronepipe.stream.counters import Counters

log = logging.getLogger(__name__)
_TIMEOUT_MS = 2000


def is_stream(url: str) -> bool:
    """A network URL (reconnected when it drops) rather than a file."""
    return "://" in url


def open_capture(url: str) -> cv2.VideoCapture:
    """An OpenCV capture of ``url`` through FFmpeg, with open/read time-outs (2 s)."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, _TIMEOUT_MS]
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)


def to_grey(frame: np.ndarray) -> np.ndarray:
    """A BGR or grey OpenCV frame as (H, W) uint8 grey."""
    if frame.ndim == 3 and frame.shape[2] >= 3:
        return cv2.cvtColor(frame[:, :, :3], cv2.COLOR_BGR2GRAY)
    return frame.reshape(frame.shape[0], frame.shape[1]) if frame.ndim == 3 else frame


class VideoSource:
    """Reads ``url`` in a thread and hands each frame to ``sink`` (see module)."""

    def __init__(self, url: str, sink: Callable[[Arrival], object], counters: Counters, *,
                 reconnect_max_s: float = 5.0, name: str = "video") -> None:
        self.url, self._sink, self.counters = url, sink, counters
        self._max_s, self._name = reconnect_max_s, name
        self._stop = threading.Event()
        self._ended = threading.Event()
        self.frames = 0
        self.last_arrival_s = -float("inf")
        self._thread = threading.Thread(target=self._run, name="live-video", daemon=True)
        self._thread.start()

    @property
    def ended(self) -> bool:
        """True after a video file was read to its end."""
        return self._ended.is_set()

    def _run(self) -> None:
        backoff, first = 0.25, True
        while not self._stop.is_set():
            if not first:
                self.counters.add("video_reconnects")
                log.info("video %s: reconnecting in %.2f s", self.url, backoff)
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2.0, self._max_s)
            first = False
            got = self._read_all()
            if got:
                backoff = 0.25
            if not is_stream(self.url):
                self._ended.set()
                return

    def _read_all(self) -> int:
        """Read until the capture fails or the source closes; returns frames read."""
        cap = open_capture(self.url)
        n = 0
        try:
            if not cap.isOpened():
                return 0
            period = 0.0 if is_stream(self.url) else 1.0 / (cap.get(cv2.CAP_PROP_FPS) or 30.0)
            t_next = time.monotonic()
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                if period:
                    t_next += period
                    self._stop.wait(max(0.0, t_next - time.monotonic()))
                self._hand_on(frame)
                n += 1
        finally:
            cap.release()
        return n

    def _hand_on(self, frame: np.ndarray) -> None:
        now = time.time()
        self.last_arrival_s = now
        self.counters.add("video_frames")
        self._sink(Arrival(f"{self._name}#{self.frames}", "thermal", now, pixels=to_grey(frame)))
        self.frames += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(_TIMEOUT_MS / 1000.0 + 3.0)
