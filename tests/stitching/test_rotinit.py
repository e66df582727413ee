"""Starting rotations from the pair graph: headings wrong by up to 180 degrees undone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronepipe.stitching.rotinit import circular_median, initial_rotations


def wrap(a: np.ndarray) -> np.ndarray:
    return (a + math.pi) % (2 * math.pi) - math.pi


def test_most_headings_right_a_few_turned_around() -> None:
    """Corrections needed: about 0 for most frames, 170 and -120 degrees for two whose
    track heading was wrong; pairs measure relative rotations, one pair is weak."""
    truth = np.radians([1.0, -2.0, 0.5, 170.0, 0.0, -120.0, 2.0, -1.0])
    a = np.array([0, 1, 2, 3, 4, 5, 6, 0, 2])
    b = np.array([1, 2, 3, 4, 5, 6, 7, 2, 4])
    rel = wrap(truth[a] - truth[b])
    inliers = np.array([100, 100, 80, 90, 100, 70, 100, 5, 60])
    rel[7] += 1.0  # a weak, wrong pair is left out of the spanning tree
    n = len(truth)
    got = initial_rotations(np.zeros(n), a, b, rel, inliers, np.zeros(n, bool), np.zeros(n),
                            np.full(n, math.pi))
    err = wrap(got - truth)
    assert np.abs(err - np.median(err)).max() < 1e-9  # consistent up to one block rotation
    assert abs(np.median(err)) < math.radians(2.5)  # which the frames' agreement sets


def test_fixed_frames_anchor_their_component_and_others_keep_their_start() -> None:
    theta0 = np.array([0.3, 0.0, 0.0, 0.7])
    fixed = np.array([True, False, False, False])
    got = initial_rotations(theta0, np.array([0, 1]), np.array([1, 2]), np.array([0.1, -0.2]),
                            np.array([50, 50]), fixed, np.zeros(4), np.full(4, 0.05))
    assert got.tolist() == pytest.approx([0.3, 0.2, 0.4, 0.7])  # frame 3 has no pair


def test_circular_median_ignores_outliers_and_wraps() -> None:
    a = np.radians([179.0, -179.0, 178.0, 10.0])
    assert math.degrees(circular_median(a, np.ones(4))) == pytest.approx(179.0)
