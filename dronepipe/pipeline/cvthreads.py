"""OpenCV's own threads during a batch run: one per call, as dask already runs the
frames and tiles on every core.

OpenCV splits a call such as SIFT's scale space over its own thread pool. A batch run
already keeps every core busy with dask tasks (one frame or block each), so that pool
adds threads that wait for each other, not speed: on the idle 2-core machine, SIFT on
the thermal working images took 29 ms CPU a frame on one thread and 40 ms with two
dask threads each calling a two-thread OpenCV (35 ms with one-thread OpenCV). The
300-frame simulated thermal job: 19.2-20.3 s wall and 32-34 s CPU with OpenCV's
default, 18.0-18.5 s and 29.5-30.5 s with one thread (two runs each, alternating).

``opencv_threads`` sets it for the duration of the run and puts the previous setting
back, as the job shares its process with whoever called ``process``. It is this
process's setting: the dask threads share it, worker processes (``--scheduler
processes`` or a cluster) keep their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import cv2


@contextmanager
def opencv_threads(n: int | None) -> Iterator[None]:
    """OpenCV calls use at most ``n`` threads inside the block (None: unchanged)."""
    if n is None:
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(max(1, int(n)))
    try:
        yield
    finally:
        cv2.setNumThreads(before)
