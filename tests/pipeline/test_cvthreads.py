"""OpenCV's thread count for the duration of a run, and back afterwards."""

from __future__ import annotations

import cv2
import pytest

from dronepipe.pipeline.cvthreads import opencv_threads


def test_opencv_threads_for_the_block_then_as_before() -> None:
    before = cv2.getNumThreads()
    with opencv_threads(1):
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
    with opencv_threads(None):
        assert cv2.getNumThreads() == before
    with pytest.raises(RuntimeError), opencv_threads(1):
        raise RuntimeError("a stage failed")
    assert cv2.getNumThreads() == before

