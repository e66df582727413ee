"""The one-to-one assignment of least total cost (the linear sum assignment problem).

The hotspot tracker pairs each frame's detections with the tracks near them, a
problem of a few rows and columns. ``scipy.optimize.linear_sum_assignment`` solves it,
but importing ``scipy.optimize`` costs every run of ``dronepipe`` about 0.1 s (of the
0.9 s that importing the batch job takes) for a handful of microsecond-sized problems.
This is the same algorithm, the shortest augmenting path of Jonker and Volgenant as
Crouse describes it ("On implementing 2D rectangular assignment algorithms", IEEE
Trans. Aerospace and Electronic Systems 52(4), 2016), which scipy implements, with the
same choices among equal costs, so that it returns what scipy returns
(``tests/thermal/test_assignment``, against scipy on random and tied matrices).
It is O(n^2 m) with numpy over the columns: fine for the tracker's sizes (and for
hundreds of rows), not meant for large dense problems.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

I64 = NDArray[np.int64]


def min_cost_assignment(cost: ArrayLike) -> tuple[I64, I64]:
    """Rows and columns (ascending rows) of the assignment of ``min(n, m)`` pairs of
    least total cost of an n x m matrix of finite costs, as
    ``scipy.optimize.linear_sum_assignment`` gives them. Raises ``ValueError`` for a
    matrix that is not 2-D or has a NaN or infinite cost."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"the cost matrix must be 2-D, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("the cost matrix has a NaN or infinite cost")
    if c.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    transposed = c.shape[1] < c.shape[0]
    col4row = _solve(c.T if transposed else c)
    rows = np.arange(len(col4row), dtype=np.int64)
    if not transposed:
        return rows, col4row
    order = np.argsort(col4row)
    return col4row[order], rows[order]


def _solve(c: NDArray[np.float64]) -> I64:
    """The column of each row (n <= m) by shortest augmenting paths."""
    n, m = c.shape
    u, v = np.zeros(n), np.zeros(m)
    col4row = np.full(n, -1, np.int64)
    row4col = np.full(m, -1, np.int64)
    for cur in range(n):
        sink, min_val, short, path, scanned_rows, scanned = _augmenting_path(c, u, v, row4col, cur)
        u[cur] += min_val
        for r in scanned_rows[1:]:
            u[r] += min_val - short[col4row[r]]
        v[scanned] -= min_val - short[scanned]
        j = sink
        while True:  # flip the path's assignments back to the row it started from
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == cur:
                break
    return col4row


def _augmenting_path(c: NDArray[np.float64], u: NDArray[np.float64], v: NDArray[np.float64],
                     row4col: I64, cur: int
                     ) -> tuple[int, float, NDArray[np.float64], I64, list[int], NDArray[np.bool_]]:
    """Dijkstra from row ``cur`` over the reduced costs to the nearest free column:
    that column, the path's length, each column's distance and predecessor row, the rows
    and (as a mask) the columns scanned. Columns are visited in scipy's order (a list
    from which the chosen one is swapped out by the last), and among equally near ones
    the last free one after the first is taken, as scipy takes it."""
    m = c.shape[1]
    remaining = np.arange(m - 1, -1, -1)
    short = np.full(m, np.inf)
    path = np.full(m, -1, np.int64)
    scanned = np.zeros(m, bool)
    scanned_rows: list[int] = []
    min_val, i = 0.0, cur
    while True:
        scanned_rows.append(i)
        reduced = min_val + c[i, remaining] - u[i] - v[remaining]
        better = reduced < short[remaining]
        path[remaining[better]] = i
        short[remaining[better]] = reduced[better]
        dist = short[remaining]
        lowest = dist.min()
        ties = np.flatnonzero(dist == lowest)
        free = ties[1:][row4col[remaining[ties[1:]]] == -1]
        index = int(free[-1]) if len(free) else int(ties[0])
        j = int(remaining[index])
        min_val = float(lowest)
        scanned[j] = True
        remaining[index] = remaining[-1]
        remaining = remaining[:-1]
        if row4col[j] == -1:
            return j, min_val, short, path, scanned_rows, scanned
        i = int(row4col[j])
