"""The block adjustment: per-frame similarity corrections from tie points and GNSS priors.

Unknowns, per free frame ``k``: ``x_k = (dx, dy, dtheta, log s)`` of the correction
``T_k(p) = c_k + s R(dtheta) (p - c_k) + (dx, dy)`` about the frame's centre ``c_k``
(``correction.Correction2D``). Residuals:

- a tie point seen at raw ground point ``p`` in frame a and ``q`` in frame b:
  ``(T_a(p) - T_b(q)) / (sigma sqrt(s_a s_b))`` (2 rows; sigma = the tie's precision,
  metres), under a robust loss (Huber or soft-l1, by iteratively reweighted least
  squares) against the false matches RANSAC let through. Dividing by the frames' scales
  measures the residual in the frames' own (raw) units: in map units, shrinking the
  whole block would shrink every residual, and the solver would buy that with the
  scale priors (a block 3 % too small on a test block);
- a prior per parameter: ``(x_k - mean_k) / sigma_k`` (the GNSS/attitude uncertainty).
  The priors anchor the block (the gauge): a systematic GNSS offset moves the whole
  block, as it should; the seams are fixed by the ties. With a ``WalkChain`` the
  position priors are correlated in time (``priors.GnssWalk``, ``walk``): two more
  unknowns per frame, the GNSS walk ``g_k`` (east, north), with ``(dx, dy)_k - mean_k -
  g_k`` over the white sigma and the walk's Gauss-Markov links between frames
  consecutive in time (still sparse); where the steps between consecutive frames show
  more white error than assumed, it is raised to what they show and the problem solved
  again (``walk``).

The ties' sigma starts at the features' precision; where the residuals show that the
model cannot do that well (real frames: tilt the files do not record, relief, roofs),
it is raised to their robust spread (median residual / 1.177, the median of a 2D
normal's radius) and the problem solved again, so the robust loss only down-weights
real outliers, not every tie (it then also converges in a few steps). It is never
lowered below the features' precision.

Gauss-Newton on the sparse problem: the Jacobian is ``scipy.sparse`` (8 non-zeros per
tie row at most), the normal matrix 4F x 4F with one 4x4 block per frame and one per
matched pair, solved by sparse LU (SuperLU); unknowns are scaled by their prior sigma
so the matrix is well conditioned (diagonal >= 1). No dense matrix anywhere: memory
and time grow with frames + pairs + ties. Frames not ``free`` keep ``x0`` (the live mode
registers a new frame against fixed, already placed ones).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import spsolve

from dronepipe.stitching.walk import WalkChain, tied_groups

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Loss = Literal["huber", "soft_l1", "linear"]
RAYLEIGH_MEDIAN = math.sqrt(2.0 * math.log(2.0))  # median radius of a unit 2D normal
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ties:
    """Tie points, columnar: frames ``a``/``b`` (indices), raw ground points ``raw_a``/
    ``raw_b`` (N, 2 metres), ``sigma_m`` (N,) and ``pair`` (N,) the pair each came from."""

    a: I64 = field(repr=False)
    b: I64 = field(repr=False)
    raw_a: F64 = field(repr=False)
    raw_b: F64 = field(repr=False)
    sigma_m: F64 = field(repr=False)
    pair: I64 = field(repr=False)

    def __len__(self) -> int:
        return len(self.a)

    @classmethod
    def concat(cls, parts: Sequence[Ties]) -> Ties:
        if not parts:
            z = np.zeros(0, np.int64)
            return cls(z, z, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), z)
        return cls(*(np.concatenate([getattr(p, n) for p in parts])
                     for n in ("a", "b", "raw_a", "raw_b", "sigma_m", "pair")))


@dataclass(frozen=True)
class SolverConfig:
    """``loss`` on tie residuals and its ``loss_scale`` (tie sigmas); Gauss-Newton stops
    after ``max_iterations`` or when no step exceeds ``tolerance`` prior sigmas (1e-4:
    0.2 mm for a 2 m position sigma, 0.02 degrees for an unknown heading; on 300 thermal
    frames 1e-6 took 15 iterations instead of 6 and moved no frame by more than 0.24 mm);
    ``estimate_scale``: raise the ties' sigma to their robust spread (see module), at
    most ``scale_rounds`` times."""

    loss: Loss = "huber"
    loss_scale: float = 2.0
    max_iterations: int = 30
    tolerance: float = 1e-4
    estimate_scale: bool = True
    scale_rounds: int = 3


@dataclass(frozen=True)
class Solution:
    """Solved ``params`` (F, 4: dx m, dy m, dtheta rad in (-pi, pi], log scale), the tie
    weights of the robust loss (1 = full), Gauss-Newton iterations (all rounds), whether
    it converged, the final robust cost (in squared sigmas), the factor the ties' sigma
    was raised by (1 = the features' precision held), the block's common ``bias``
    (rotation rad, log scale; zero unless solved for), ``extra`` the solver's other
    unknowns (bias and walk, scaled; to restart from), and ``gnss_walk_m`` the solved
    GNSS walk of the free frames (n_free, 2; east, north metres) where there was one."""

    params: F64 = field(repr=False)
    tie_weights: F64 = field(repr=False)
    iterations: int
    converged: bool
    cost: float
    tie_sigma_factor: float = 1.0
    bias: tuple[float, float] = (0.0, 0.0)
    extra: F64 = field(default_factory=lambda: np.zeros(0), repr=False)
    gnss_walk_m: F64 | None = field(default=None, repr=False)


def apply(params: F64, centres: F64, points: F64) -> F64:
    """Corrected points (N, 2): each row's ``points`` through its ``params``/``centres`` row."""
    s = np.exp(params[:, 3])
    c, sn = np.cos(params[:, 2]), np.sin(params[:, 2])
    x, y = points[:, 0] - centres[:, 0], points[:, 1] - centres[:, 1]
    return np.stack([centres[:, 0] + s * (c * x - sn * y) + params[:, 0],
                     centres[:, 1] + s * (sn * x + c * y) + params[:, 1]], axis=-1)


def tie_residuals(params: F64, centres: F64, ties: Ties) -> F64:
    """Tie residuals (N, 2) in map metres: corrected point from frame a minus from frame b."""
    return (apply(params[ties.a], centres[ties.a], ties.raw_a)
            - apply(params[ties.b], centres[ties.b], ties.raw_b))


def robust_weights(norm: F64, loss: Loss, k: float) -> F64:
    """IRLS weights for normalised residual norms."""
    if loss == "linear":
        return np.ones_like(norm)
    if loss == "huber":
        return np.where(norm <= k, 1.0, k / np.maximum(norm, 1e-300))
    if loss == "soft_l1":
        return 1.0 / np.sqrt(1.0 + (norm / k) ** 2)
    raise ValueError(f"loss must be 'huber', 'soft_l1' or 'linear', got {loss!r}")


def robust_cost(norm: F64, loss: Loss, k: float) -> float:
    if loss == "huber":
        return float(np.where(norm <= k, norm ** 2, 2 * k * norm - k * k).sum())
    if loss == "soft_l1":
        return float((2 * k * k * (np.sqrt(1 + (norm / k) ** 2) - 1)).sum())
    return float((norm ** 2).sum())


def solve(centres: F64, ties: Ties, prior_mean: F64, prior_sigma: F64, x0: F64,
          free: NDArray[np.bool_], config: SolverConfig = SolverConfig(),
          bias_sigma: tuple[float, float] | None = None,
          walk: WalkChain | None = None) -> Solution:
    """Solve the adjustment (see module). ``centres`` (F, 2); ``prior_mean``,
    ``prior_sigma``, ``x0`` (F, 4); ``free`` (F,) which frames to solve; ``bias_sigma``:
    (rotation rad, log scale) of the block's common rotation and scale bias, None for
    independent frame priors; ``walk``: the position priors' correlation in time over
    the free frames (``WalkChain.of``), None for independent positions."""
    prior = Prior(prior_mean, prior_sigma, free, bias_sigma, walk)
    sol, ties = _solve_rounds(centres, ties, prior, x0, np.zeros(prior.n_extra), config)
    if walk is not None:
        sol = _adapt_walk(centres, ties, prior, walk, sol, config)
    return sol


def _solve_rounds(centres: F64, ties: Ties, prior: Prior, x0: F64, e0: F64,
                  config: SolverConfig) -> tuple[Solution, Ties]:
    """Solve, raising the ties' sigma to their spread (see module); the solution and the
    ties with their final sigma."""
    sol = _solve_fixed_sigma(centres, ties, prior, x0, e0, config)
    factor, iterations = 1.0, sol.iterations
    for _ in range(config.scale_rounds if config.estimate_scale and len(ties) else 0):
        spread = float(np.median(_tie_norm(sol.params, centres, ties))) / RAYLEIGH_MEDIAN
        if spread < 1.2:
            break
        factor *= spread
        ties = replace(ties, sigma_m=ties.sigma_m * spread)
        sol = _solve_fixed_sigma(centres, ties, prior, sol.params, sol.extra, config)
        iterations += sol.iterations
    if factor > 1.0:
        log.info("adjustment: tie sigma raised %.1f times to the residuals' spread", factor)
    return replace(sol, iterations=iterations, tie_sigma_factor=factor), ties


def _adapt_walk(centres: F64, ties: Ties, prior: Prior, walk: WalkChain, sol: Solution,
                config: SolverConfig) -> Solution:
    """Where the steps between consecutive frames show more white error than the walk
    assumed (``WalkChain.white_from_steps``), solve again with that white part; ``ties``
    with the sigma the first solve found."""
    group = tied_groups(len(sol.params), ties.a, ties.b)[prior.free]
    d = sol.params[prior.free, :2] - prior.mean[prior.free, :2]
    white = walk.white_from_steps(d, group)
    if not white > 1.2 * float(np.median(walk.white_m)):
        return sol
    log.info("adjustment: GNSS white error raised to %.2f m from the frames' steps", white)
    chain = walk.with_white(white)
    new = replace(prior, walk=chain)
    g = prior.walk_m(sol.extra)
    e0 = np.concatenate([sol.extra[:prior.n_bias], (g / chain.walk_m[:, None]).ravel()])
    out, _ = _solve_rounds(centres, ties, new, sol.params, e0, config)
    return replace(out, iterations=sol.iterations + out.iterations,
                   tie_sigma_factor=sol.tie_sigma_factor * out.tie_sigma_factor)


@dataclass(frozen=True)
class Prior:
    """The priors of the free frames: ``(x - mean - bias) / sigma`` per parameter, the
    bias (rotation, log scale; zero for the shifts) common to all free frames with its
    own prior ``bias / bias_sigma`` where ``bias_sigma`` is given, and with a ``walk``
    the shifts' priors split into a white part and the GNSS walk (see module).

    Unknowns besides the frames' (the "extra" vector): the bias (2, where given), then
    the walk in its sigmas (2 per free frame, where given)."""

    mean: F64 = field(repr=False)
    sigma: F64 = field(repr=False)
    free: NDArray[np.bool_] = field(repr=False)
    bias_sigma: tuple[float, float] | None = None
    walk: WalkChain | None = None

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    @property
    def n_bias(self) -> int:
        return 2 if self.bias_sigma is not None else 0

    @property
    def n_extra(self) -> int:
        return self.n_bias + (2 * self.n_free if self.walk is not None else 0)

    @property
    def n_unknowns(self) -> int:
        return 4 * self.n_free + self.n_extra

    def _frame_sigma(self) -> F64:
        """Each free frame's sigmas in its own prior rows (the white part for the shifts
        where there is a walk)."""
        sig = self.sigma[self.free].copy()
        if self.walk is not None:
            sig[:, :2] = self.walk.white_m[:, None]
        return sig

    def residuals(self, x: F64, extra: F64) -> F64:
        """Prior residuals: free frames' 4 parameters (row-major), the bias's 2, the walk's links."""
        d = x[self.free] - self.mean[self.free]
        parts = []
        if self.bias_sigma is not None:
            d[:, 2:] -= extra[:2]
        if self.walk is not None:
            h = extra[self.n_bias:].reshape(-1, 2)
            d[:, :2] -= h * self.walk.walk_m[:, None]
            parts.append(self.walk.residuals(h))
        r = [(d / self._frame_sigma()).ravel()]
        if self.bias_sigma is not None:
            r.append(extra[:2] / np.asarray(self.bias_sigma))
        return np.concatenate(r + parts)

    def jacobian(self) -> sp.csr_matrix:
        """d(prior residuals)/dz, z = x / sigma (frames), bias / bias_sigma, the walk in its sigmas."""
        n, nb, nf = 4 * self.n_free, self.n_bias, self.n_free
        sig, own = self.sigma[self.free], self._frame_sigma()
        k = np.arange(nf)
        rows, cols, vals = [np.arange(n)], [np.arange(n)], [(sig / own).ravel()]
        if self.bias_sigma is not None:
            rows += [4 * k + 2, 4 * k + 3, np.array([n, n + 1])]
            cols += [np.full(nf, n), np.full(nf, n + 1), np.array([n, n + 1])]
            vals += [-self.bias_sigma[0] / sig[:, 2], -self.bias_sigma[1] / sig[:, 3], np.ones(2)]
        if self.walk is not None:
            w = -self.walk.walk_m / self.walk.white_m
            rows += [4 * k, 4 * k + 1]
            cols += [n + nb + 2 * k, n + nb + 2 * k + 1]
            vals += [w, w]
            link = self.walk.jacobian().tocoo()
            rows.append(link.row + n + nb)
            cols.append(link.col + n + nb)
            vals.append(link.data)
        size = self.n_unknowns
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(size, size))

    def step(self, x: F64, extra: F64, dz: F64) -> tuple[F64, F64]:
        """The state after a step ``dz`` in scaled unknowns."""
        x = x.copy()
        n = 4 * self.n_free
        x[self.free] += (dz[:n] * self.sigma[self.free].ravel()).reshape(-1, 4)
        scale = np.ones(self.n_extra)
        if self.bias_sigma is not None:
            scale[:2] = self.bias_sigma
        return x, extra + dz[n:] * scale

    def bias(self, extra: F64) -> tuple[float, float]:
        return (float(extra[0]), float(extra[1])) if self.bias_sigma is not None else (0.0, 0.0)

    def walk_m(self, extra: F64) -> F64:
        """The walk (n_free, 2) in metres (empty without a walk)."""
        if self.walk is None:
            return np.zeros((0, 2))
        return extra[self.n_bias:].reshape(-1, 2) * self.walk.walk_m[:, None]


def _solve_fixed_sigma(centres: F64, ties: Ties, prior: Prior, x0: F64, b0: F64,
                       config: SolverConfig) -> Solution:
    """Gauss-Newton with IRLS weights at the ties' given sigma."""
    x, b = np.array(x0, dtype=np.float64), np.array(b0, dtype=np.float64)
    cols = np.full(len(x), -1, np.int64)
    cols[prior.free] = np.arange(prior.n_free)
    cost = _cost(x, b, centres, ties, prior, config)
    converged, it = False, 0
    for it in range(1, config.max_iterations + 1):
        dz = _gn_step(x, b, centres, ties, prior, cols, config)
        step, new_cost = 1.0, math.inf
        for _ in range(6):  # step halving keeps the robust cost going down
            tx, tb = prior.step(x, b, step * dz)
            new_cost = _cost(tx, tb, centres, ties, prior, config)
            if new_cost <= cost * (1 + 1e-12):
                break
            step /= 2
        x, b, cost = tx, tb, new_cost
        if step * float(np.abs(dz).max(initial=0.0)) < config.tolerance:
            converged = True
            break
    x[prior.free, 2] = (x[prior.free, 2] + np.pi) % (2 * np.pi) - np.pi
    w = robust_weights(_tie_norm(x, centres, ties), config.loss, config.loss_scale)
    bias = prior.bias(b)
    log.debug("adjustment: %d free frames, %d ties, %d iterations, cost %.1f, bias %.3f deg "
              "%.4f", prior.n_free, len(ties), it, cost, math.degrees(bias[0]), bias[1])
    return Solution(x, w, it, converged, cost, bias=bias, extra=b,
                    gnss_walk_m=prior.walk_m(b) if prior.walk is not None else None)


def _scaled_residuals(x: F64, centres: F64, ties: Ties) -> tuple[F64, F64]:
    """Tie residuals in the frames' raw units (metres / sqrt(s_a s_b)), and that factor."""
    f = np.exp(-0.5 * (x[ties.a, 3] + x[ties.b, 3]))
    return tie_residuals(x, centres, ties) * f[:, None], f


def _tie_norm(x: F64, centres: F64, ties: Ties) -> F64:
    r, _ = _scaled_residuals(x, centres, ties)
    return np.hypot(r[:, 0], r[:, 1]) / ties.sigma_m


def _cost(x: F64, b: F64, centres: F64, ties: Ties, prior: Prior, config: SolverConfig) -> float:
    tie = robust_cost(_tie_norm(x, centres, ties), config.loss, config.loss_scale)
    return tie + float((prior.residuals(x, b) ** 2).sum())


def _gn_step(x: F64, b: F64, centres: F64, ties: Ties, prior: Prior, cols: I64,
             config: SolverConfig) -> F64:
    """One IRLS Gauss-Newton step in scaled unknowns (see ``Prior.jacobian``)."""
    r, f = _scaled_residuals(x, centres, ties)
    norm = np.hypot(r[:, 0], r[:, 1]) / ties.sigma_m
    sw = np.sqrt(robust_weights(norm, config.loss, config.loss_scale)) / ties.sigma_m
    vals, idx = _tie_rows(x, centres, ties, prior.sigma, cols, sw, f, r)
    tie_normal, tie_grad = _tie_normal(vals, idx, (r * sw[:, None]), ties, prior.n_unknowns)
    pj = prior.jacobian()
    normal = (tie_normal + (pj.T @ pj)).tocsc()
    grad = tie_grad + pj.T @ prior.residuals(x, b)
    return -np.asarray(spsolve(normal, grad), dtype=np.float64)


def _tie_rows(x: F64, centres: F64, ties: Ties, sigma: F64, cols: I64, sw: F64, f: F64,
              r: F64) -> tuple[F64, I64]:
    """Each tie's two Jacobian rows (east, north) over its 8 unknowns (frame a's 4 scaled
    parameters, then b's): values (N, 2, 8) and column indices (N, 2, 8), -1 where the
    frame is not solved for. ``f`` = 1 / sqrt(s_a s_b), ``r`` the scaled residuals."""
    n = len(ties)
    vals = np.zeros((n, 2, 8))
    idx = np.full((n, 2, 8), -1, np.int64)
    w = sw * f
    hx, hy = 0.5 * r[:, 0] / f, 0.5 * r[:, 1] / f  # from d(1/sqrt(s_a s_b))/d(log s)
    for slot, (frames, raw, sign) in enumerate(((ties.a, ties.raw_a, 1.0),
                                                (ties.b, ties.raw_b, -1.0))):
        xs = x[frames]
        d = raw - centres[frames]
        s, co, si = np.exp(xs[:, 3]), np.cos(xs[:, 2]), np.sin(xs[:, 2])
        qx = sign * s * (co * d[:, 0] - si * d[:, 1])
        qy = sign * s * (si * d[:, 0] + co * d[:, 1])
        sg = sigma[frames] * w[:, None]
        part = slice(4 * slot, 4 * slot + 4)
        vals[:, 0, part] = np.stack([np.full(n, sign), np.zeros(n), -qy, qx - hx], -1) * sg
        vals[:, 1, part] = np.stack([np.zeros(n), np.full(n, sign), qx, qy - hy], -1) * sg
        c = cols[frames][:, None]
        idx[:, :, part] = np.where(c >= 0, 4 * c + np.arange(4), -1)[:, None, :]
    vals[idx < 0] = 0.0
    return vals, idx


def _tie_jacobian(x: F64, centres: F64, ties: Ties, sigma: F64, cols: I64, sw: F64, f: F64,
                  r: F64, n_cols: int) -> sp.csr_matrix:
    """d(weighted scaled tie residuals)/dz, rows 2k (east) and 2k+1 (north) per tie;
    ``f`` = 1 / sqrt(s_a s_b) and ``r`` the scaled residuals (see ``_tie_rows``)."""
    vals, idx = _tie_rows(x, centres, ties, sigma, cols, sw, f, r)
    n = len(ties)
    keep = (idx >= 0).reshape(2 * n, 8)
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    return sp.csr_matrix((vals.reshape(2 * n, 8)[keep], idx.reshape(2 * n, 8)[keep], indptr),
                         shape=(2 * n, n_cols))


def _tie_normal(vals: F64, idx: I64, rw: F64, ties: Ties, n_cols: int) -> tuple[sp.csc_matrix, F64]:
    """J^T J and J^T r of the ties (``_tie_rows``; ``rw`` the weighted residuals (N, 2)),
    summed per frame pair before they become sparse: a pair's ties share their 8 columns,
    so 83,000 ties of 1,300 pairs give 1,300 blocks of 8 x 8, not 5 million entries
    (on those, building the sparse Jacobian and its J^T J took 170-190 ms of CPU a
    Gauss-Newton step; the rows and these sums 55)."""
    grad = np.bincount(idx[:, 0].ravel() + 1, weights=np.einsum("nri,nr->ni", vals, rw).ravel(),
                       minlength=n_cols + 1)[1:]
    if not len(ties):
        return sp.csc_matrix((n_cols, n_cols)), grad
    key = ties.a.astype(np.int64) * (int(max(ties.a.max(initial=0), ties.b.max(initial=0))) + 1) + ties.b
    order = np.argsort(key, kind="stable")
    bounds = np.r_[np.flatnonzero(np.r_[True, np.diff(key[order]) != 0]), len(order)]
    rows = vals[order].reshape(-1, 8)  # a pair's ties are consecutive rows, two per tie
    blocks = np.zeros((len(bounds) - 1, 8, 8))
    for g, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        blocks[g] = rows[2 * lo:2 * hi].T @ rows[2 * lo:2 * hi]
    cols = idx[order[bounds[:-1]], 0]
    rows_i = np.broadcast_to(cols[:, :, None], blocks.shape)
    cols_j = np.broadcast_to(cols[:, None, :], blocks.shape)
    ok = (rows_i >= 0) & (cols_j >= 0)
    normal = sp.coo_matrix((blocks[ok], (rows_i[ok], cols_j[ok])), shape=(n_cols, n_cols)).tocsc()
    return normal, grad
