"""Finding the records of a log among candidate positions, vectorised.

Binary logs are sequences of self-delimiting records; damage (garbage, cut-offs)
shifts them. Every position where a record could start is a candidate with a length;
the records are the chain that starts at the first candidate and goes on, from each
record, to the first candidate at or after its end - which is how a sequential reader
resynchronises, skipping bytes until something valid starts. ``reachable`` finds that
chain for all candidates at once: "on the chain" is the start, or the successor of a
record on the chain; iterating that from "all candidates" drops the false candidates
inside payloads (they have no predecessor) within a few passes; pointer doubling is
the exact fallback.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_FIXPOINT_PASSES = 24     # vectorised passes before switching to pointer doubling


def in_sorted(values: NDArray[np.int64], sorted_set: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which ``values`` occur in the ascending array ``sorted_set``."""
    if sorted_set.size == 0:
        return np.zeros(values.shape, dtype=bool)
    i = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[i] == values


def _reachable_fixpoint(succ: NDArray[np.int64]) -> NDArray[np.bool_] | None:
    """Nodes reachable from node 0 by following ``succ``, or None if it did not settle."""
    m = succ.size - 1
    on = np.ones(m, dtype=bool)
    for _ in range(_FIXPOINT_PASSES):
        has_pred = np.zeros(m + 1, dtype=bool)
        has_pred[succ[:m][on]] = True
        has_pred[0] = True
        new_on = has_pred[:m]
        if np.array_equal(new_on, on):
            return on
        on = new_on
    return None


def _reachable_doubling(succ: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Nodes reachable from node 0 (exact, O(m log m)): pointer doubling."""
    m = succ.size - 1
    reach = np.zeros(m + 1, dtype=bool)
    reach[0] = True
    jump = succ.copy()
    while True:
        reach[jump[np.flatnonzero(reach)]] = True
        if np.all(jump[:m] == m):
            break
        jump = jump[jump]
    return reach[:m]


def reachable(succ: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which nodes lie on the chain that starts at node 0."""
    if succ.size <= 1:
        return np.zeros(0, dtype=bool)
    on = _reachable_fixpoint(succ)
    return on if on is not None else _reachable_doubling(succ)
