"""Our least-cost assignment returns what scipy's ``linear_sum_assignment`` returns,
rows and columns alike, on random, rectangular and tied matrices; bad input raises."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from dronepipe.thermal.assignment import min_cost_assignment


def _same_as_scipy(cost: np.ndarray) -> None:
    rows, cols = min_cost_assignment(cost)
    want_rows, want_cols = linear_sum_assignment(cost)
    assert rows.tolist() == want_rows.tolist() and cols.tolist() == want_cols.tolist()


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 3), (5, 8), (8, 5), (12, 12),
                                   (30, 17)])
def test_random_costs_give_scipys_assignment(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(40):
        _same_as_scipy(rng.random(shape) * 10.0)


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (7, 7)])
def test_tied_costs_give_scipys_choice_among_equals(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(7 * shape[0] + shape[1])
    for _ in range(60):
        _same_as_scipy(rng.integers(0, 3, shape).astype(float))
    _same_as_scipy(np.zeros(shape))


def test_the_trackers_gated_costs() -> None:
    """Normalised distances with 1e6 where a track cannot take the detection."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        cost = rng.random((rng.integers(1, 6), rng.integers(1, 6))) * 2.0
        cost[rng.random(cost.shape) < 0.3] = 1e6
        _same_as_scipy(cost)


def test_the_total_is_least() -> None:
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = min_cost_assignment(cost)
    assert cost[rows, cols].sum() == 5.0 and cols.tolist() == [1, 0, 2]


def test_empty_and_bad_matrices() -> None:
    for shape in ((0, 0), (0, 3), (3, 0)):
        rows, cols = min_cost_assignment(np.zeros(shape))
        assert rows.size == cols.size == 0
    with pytest.raises(ValueError, match="2-D"):
        min_cost_assignment(np.zeros(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        min_cost_assignment(np.array([[1.0, np.inf]]))
