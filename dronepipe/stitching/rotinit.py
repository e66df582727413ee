"""Starting rotations for the adjustment, from the pairs' measured relative rotations.

Gauss-Newton from zero converges when the rotation errors are small (a gimbal's yaw,
a few degrees); a heading taken from the flight track can be wrong by up to 180 degrees
at the end of a line, which a local method does not undo. Each accepted pair measured
the relative rotation ``theta_a - theta_b`` of its two frames (the RANSAC similarity);
along a maximum spanning tree of the pair graph (edges weighted by inliers, so false
pairs are unlikely to be used) these rotations propagate from a root to every frame of
a connected component. A component with fixed frames (live mode) hangs from them;
otherwise it is turned as a whole to the robust (circular median) agreement with the
frames' prior rotations, weighted by their prior precision, so that most frames start
near their headings and the few with wrong headings start where the images put them.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def initial_rotations(theta0: F64, pair_a: I64, pair_b: I64, rel_rot: F64, inliers: I64,
                      fixed: NDArray[np.bool_], prior_mean: F64, prior_sigma: F64) -> F64:
    """Starting rotations (radians) for all frames; ``theta0`` where no pair reaches.

    ``rel_rot[k]`` = theta[pair_a[k]] - theta[pair_b[k]] (radians); ``fixed`` frames
    keep ``theta0``."""
    n = len(theta0)
    theta = np.array(theta0, dtype=np.float64)
    if len(pair_a) == 0:
        return theta
    cost = 1.0 / (1.0 + np.asarray(inliers, dtype=np.float64))
    graph = sp.coo_matrix((cost, (pair_a, pair_b)), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(graph + graph.T)
    tree = (tree + tree.T).tocsr()
    rel = {(int(a), int(b)): float(r) for a, b, r in zip(pair_a, pair_b, rel_rot, strict=True)}
    n_comp, labels = connected_components(tree, directed=False)
    for comp in range(n_comp):
        members = np.flatnonzero(labels == comp)
        if len(members) < 2:
            continue
        anchors = members[fixed[members]]
        root = int(anchors[0]) if len(anchors) else int(members[0])
        _propagate(tree, root, rel, theta, fixed)
        if not len(anchors):
            free = members[~fixed[members]]
            theta[free] += circular_median(prior_mean[free] - theta[free], 1.0 / prior_sigma[free] ** 2)
    return theta


def _propagate(tree: sp.csr_matrix, root: int, rel: dict[tuple[int, int], float], theta: F64,
               fixed: NDArray[np.bool_]) -> None:
    order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
    for node in order[1:]:
        parent = int(pred[node])
        if fixed[node]:
            continue
        if (parent, int(node)) in rel:
            theta[node] = theta[parent] - rel[(parent, int(node))]
        else:
            theta[node] = theta[parent] + rel[(int(node), parent)]


def circular_median(angles: F64, weights: F64, max_candidates: int = 512) -> float:
    """The angle (radians) minimising the weighted sum of absolute wrapped differences,
    among the given angles (a subsample of them where there are many)."""
    a = np.asarray(angles, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    cand = a if len(a) <= max_candidates else a[np.linspace(0, len(a) - 1, max_candidates).astype(int)]
    diff = np.abs((cand[:, None] - a[None, :] + math.pi) % (2 * math.pi) - math.pi)
    return float(cand[int(np.argmin(diff @ w))])
