"""The sparse adjustment: exact Jacobian, known corrections recovered, the GNSS priors
as the gauge, robustness against false ties, no block shrinking, thousands of frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from dronepipe.stitching import adjust
from dronepipe.stitching.adjust import SolverConfig, Ties, apply, solve, tie_residuals

SIG = np.array([2.0, 2.0, math.radians(2.0), 0.02])


def grid_problem(rows: int, cols: int, truth: np.ndarray, rng: np.random.Generator,
                 per_pair: int = 20, noise_m: float = 0.0, step: float = 40.0
                 ) -> tuple[np.ndarray, Ties]:
    """Frames on a grid ``step`` apart (column by column); ties between direct neighbours:
    a ground point ``g`` seen in frame a at raw ``T_a^-1(g)`` (the true corrections close
    every tie)."""
    centres = np.array([[c * step, r * step] for c in range(cols) for r in range(rows)], float)
    parts = []
    pairs = [(c * rows + r, c * rows + r + 1) for c in range(cols) for r in range(rows - 1)]
    pairs += [(c * rows + r, (c + 1) * rows + r) for c in range(cols - 1) for r in range(rows)]
    for a, b in sorted(pairs):
        g = (centres[a] + centres[b]) / 2 + rng.uniform(-15, 15, (per_pair, 2))
        ra = _invert(truth[a], centres[a], g) + rng.normal(0, noise_m, g.shape)
        rb = _invert(truth[b], centres[b], g) + rng.normal(0, noise_m, g.shape)
        n = len(g)
        parts.append(Ties(np.full(n, a), np.full(n, b), ra, rb, np.full(n, 0.05),
                          np.full(n, len(parts))))
    return centres, Ties.concat(parts)


def _invert(x: np.ndarray, c: np.ndarray, g: np.ndarray) -> np.ndarray:
    s, t = math.exp(x[3]), x[2]
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])  # R(-t)
    return c + ((g - c - x[:2]) / s) @ rot.T


def test_jacobian_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    n, f = 30, 4
    ties = Ties(rng.integers(0, f, n), rng.integers(0, f, n), rng.normal(0, 30, (n, 2)),
                rng.normal(0, 30, (n, 2)), np.full(n, 0.1), np.zeros(n, np.int64))
    centres, x = rng.normal(0, 20, (f, 2)), rng.normal(0, [1, 1, 0.2, 0.05], (f, 4))
    sig = np.tile(SIG, (f, 1))
    r, fac = adjust._scaled_residuals(x, centres, ties)
    jac = adjust._tie_jacobian(x, centres, ties, sig, np.arange(f), np.full(n, 10.0), fac, r, 4 * f)
    num = np.zeros((2 * n, 4 * f))
    for k in range(f):
        for p in range(4):
            xp = x.copy()
            xp[k, p] += 1e-6 * sig[k, p]
            num[:, 4 * k + p] = (adjust._scaled_residuals(xp, centres, ties)[0] - r).ravel() * 10.0 / 1e-6
    np.testing.assert_allclose(jac.toarray(), num, atol=1e-4 * np.abs(num).max())


def test_known_corrections_are_recovered_up_to_the_gauge() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(0, [2.0, 2.0, 0.02, 0.01], (12, 4))
    truth -= truth.mean(axis=0)  # a block with zero mean correction: the priors' gauge
    centres, ties = grid_problem(3, 4, truth, rng)
    f = len(centres)
    sol = solve(centres, ties, np.zeros((f, 4)), np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool))
    assert sol.converged
    # the priors pull against exact ties: millimetres (ties are 5 cm, priors 2 m)
    assert np.abs(tie_residuals(sol.params, centres, ties)).max() < 2e-3  # metres
    # relative placement exact; the block as a whole is where the priors put it
    np.testing.assert_allclose(sol.params[:, 2] - sol.params[0, 2], truth[:, 2] - truth[0, 2], atol=1e-4)
    np.testing.assert_allclose(sol.params[:, :2].mean(axis=0), 0.0, atol=0.05)


def test_a_systematic_gnss_offset_moves_the_whole_block() -> None:
    """Every prior 3 m east of the truth: the seams close, and the block stays where
    the GNSS puts it (the absolute error is the GNSS's, reported separately)."""
    rng = np.random.default_rng(3)
    truth = np.zeros((12, 4))
    centres, ties = grid_problem(3, 4, truth, rng)
    f = len(centres)
    mean = np.tile([3.0, 0.0, 0.0, 0.0], (f, 1))
    sol = solve(centres, ties, mean, np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool))
    np.testing.assert_allclose(sol.params[:, 0], 3.0, atol=1e-3)
    assert np.abs(tie_residuals(sol.params, centres, ties)).max() < 1e-6


def test_exact_ties_with_large_residual_noise_do_not_shrink_the_block() -> None:
    """In map units, shrinking all frames would shrink all residuals; the residuals are
    measured in the frames' own units so noisy ties leave the scale at the priors'."""
    rng = np.random.default_rng(4)
    truth = np.zeros((12, 4))
    centres, ties = grid_problem(3, 4, truth, rng, noise_m=0.3)  # 6 tie sigmas of noise
    f = len(centres)
    sol = solve(centres, ties, np.zeros((f, 4)), np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool),
                SolverConfig(loss="linear"))
    # single frames' scales scatter with the noise (~0.5 %); the block's does not shrink
    assert abs(sol.params[:, 3].mean()) < 0.001
    # whereas residuals in map units would buy a smaller block from the scale priors
    naive = _solve_in_map_units(centres, ties, f)
    assert naive[:, 3].mean() < -0.01


def test_false_ties_are_downweighted_by_the_robust_loss() -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(0, [1.0, 1.0, 0.01, 0.005], (12, 4))
    truth -= truth.mean(axis=0)
    centres, ties = grid_problem(3, 4, truth, rng, noise_m=0.02)
    bad = rng.choice(len(ties), len(ties) // 10, replace=False)
    ties.raw_b[bad] += rng.uniform(-5, 5, (len(bad), 2))  # 10 % gross errors, metres
    f = len(centres)
    args = (centres, ties, np.zeros((f, 4)), np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool))
    robust = solve(*args, SolverConfig(loss="huber"))
    plain = solve(*args, SolverConfig(loss="linear"))
    good = np.setdiff1d(np.arange(len(ties)), bad)
    r_robust = np.hypot(*tie_residuals(robust.params, centres, ties)[good].T)
    r_plain = np.hypot(*tie_residuals(plain.params, centres, ties)[good].T)
    assert np.median(r_robust) < 0.04 < np.median(r_plain)
    assert (robust.tie_weights[bad] < 0.5).mean() > 0.8


def test_fixed_frames_stay_and_a_free_frame_is_solved_against_them() -> None:
    rng = np.random.default_rng(6)
    truth = rng.normal(0, [2.0, 2.0, 0.02, 0.01], (4, 4))
    centres, ties = grid_problem(2, 2, truth, rng)
    free = np.array([False, False, False, True])
    x0 = truth.copy()
    x0[3] = 0.0
    sol = solve(centres, ties, np.zeros((4, 4)), np.tile(SIG, (4, 1)), x0, free)
    np.testing.assert_array_equal(sol.params[:3], truth[:3])
    np.testing.assert_allclose(sol.params[3], truth[3], atol=2e-4)


def test_thousands_of_frames_stay_sparse(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(0, [2.0, 2.0, 0.02, 0.01], (2000, 4))
    centres, ties = grid_problem(40, 50, truth, rng, per_pair=8)
    f = len(centres)
    seen = []
    real = adjust.spsolve

    def spy(a: sp.spmatrix, b: np.ndarray) -> np.ndarray:
        seen.append((a.shape, a.nnz))
        return real(a, b)

    monkeypatch.setattr(adjust, "spsolve", spy)
    sol = solve(centres, ties, np.zeros((f, 4)), np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool))
    assert sol.converged and np.abs(tie_residuals(sol.params, centres, ties)).max() < 5e-3
    shape, nnz = seen[0]
    assert shape == (8000, 8000) and nnz < 16 * 5 * f  # a block per frame and per neighbour pair


def test_apply_is_the_correction_model() -> None:
    from dronepipe.stitching.correction import Correction2D

    c = Correction2D(1.0, -2.0, 0.3, 1.05, (10.0, 20.0))
    p = np.array([[15.0, 27.0], [-3.0, 4.0]])
    got = apply(np.tile([1.0, -2.0, 0.3, math.log(1.05)], (2, 1)), np.tile([10.0, 20.0], (2, 1)), p)
    np.testing.assert_allclose(got, np.stack(c.apply(p[:, 0], p[:, 1]), -1), atol=1e-12)


def _solve_in_map_units(centres: np.ndarray, ties: Ties, f: int) -> np.ndarray:
    """The adjustment with residuals in map metres (what it did at first), by scipy."""
    from scipy.optimize import least_squares

    sig = np.tile(SIG, (f, 1))

    def fun(z: np.ndarray) -> np.ndarray:
        x = z.reshape(f, 4) * sig
        return np.concatenate([(tie_residuals(x, centres, ties) / 0.05).ravel(), z])

    return least_squares(fun, np.zeros(4 * f), method="lm").x.reshape(f, 4) * sig


def test_a_common_heading_and_height_bias_is_solved_from_the_gnss_positions() -> None:
    """Every frame's heading 0.8 deg and height 1 % off (a gimbal yaw calibration, a
    barometer offset), positions right: the ties cannot tell this from a turned and
    scaled block; independent frame priors keep most of it, a block bias removes it."""
    rng = np.random.default_rng(8)
    truth = np.tile([0.0, 0.0, math.radians(-0.8), math.log(0.99)], (20, 1))
    centres, ties = grid_problem(4, 5, truth, rng, noise_m=0.01)
    f = len(centres)
    args = (centres, ties, np.zeros((f, 4)), np.tile(SIG, (f, 1)), np.zeros((f, 4)), np.ones(f, bool))
    plain = solve(*args)
    biased = solve(*args, bias_sigma=(math.radians(3.0), 0.03))
    assert abs(math.degrees(plain.params[:, 2].mean()) + 0.8) > 0.3  # most of it kept
    np.testing.assert_allclose(biased.params[:, 2], truth[:, 2], atol=math.radians(0.05))
    np.testing.assert_allclose(biased.params[:, 3], truth[:, 3], atol=1e-3)  # per frame: noise
    # the block's scale: what 2 m GNSS priors over 160 m tell (a few 1e-4), not the bias
    assert biased.params[:, 3].mean() == pytest.approx(math.log(0.99), abs=1e-3)
    assert abs(plain.params[:, 3].mean() - math.log(0.99)) > 3e-3
    assert math.degrees(biased.bias[0]) == pytest.approx(-0.8, abs=0.05)


def test_prior_jacobian_with_bias_and_walk_matches_finite_differences() -> None:
    rng = np.random.default_rng(9)
    f = 6
    free = np.array([True, True, False, True, True, True])
    t = np.array([0.0, 4.0, 8.0, 30.0, 12.0, np.nan])            # out of order, one unknown
    sig = np.tile(SIG, (f, 1))
    walk = adjust.WalkChain.of(t[free], sig[free, 0], 20.0, 0.5)
    prior = adjust.Prior(rng.normal(0, 0.5, (f, 4)), sig, free, (0.05, 0.03), walk)
    x, extra = rng.normal(0, [1, 1, 0.02, 0.01], (f, 4)), rng.normal(0, 1, prior.n_extra)
    r0 = prior.residuals(x, extra)
    num = np.zeros((len(r0), prior.n_unknowns))
    for j in range(prior.n_unknowns):
        dz = np.zeros(prior.n_unknowns)
        dz[j] = 1e-6
        num[:, j] = (prior.residuals(*prior.step(x, extra, dz)) - r0) / 1e-6
    np.testing.assert_allclose(prior.jacobian().toarray(), num, atol=1e-5)
    # the chain: frames in time order 0, 1, 4 (t 12), 3 (t 30); frame 5 has no time
    np.testing.assert_array_equal(walk.prev, [-1, 0, 3, 1, -1])


def _walk(t: np.ndarray, tau_s: float, sigma_m: float, rng: np.random.Generator) -> np.ndarray:
    """A Gauss-Markov walk (east, north) at times ``t``."""
    g = np.zeros((len(t), 2))
    g[0] = rng.normal(0, sigma_m, 2)
    for k in range(1, len(t)):
        phi = math.exp(-(t[k] - t[k - 1]) / tau_s)
        g[k] = phi * g[k - 1] + rng.normal(0, sigma_m * math.sqrt(1 - phi * phi), 2)
    return g


def test_a_gnss_walk_turns_and_scales_the_block_less_with_the_walk_prior() -> None:
    """Exact ties, positions off by a 1 m GNSS walk of 20 s: the lines of a lawn-mower
    survey take 17 s each (a frame every 1.4 s, 12 s turns, as simulated flights), so
    each line shares most of its error. Taken as independent per frame, the priors turn
    and scale the block after the walk's excursions; linked in time, the same priors
    tell the block's shape better: about a quarter less rotation and scale error over
    draws of the walk (rotation about 30 %, scale 10-25 %), with the assumed correlation
    time 60 s rather than the true 20 s."""
    rng = np.random.default_rng(10)
    rows, cols = 12, 6
    centres, ties = grid_problem(rows, cols, np.zeros((rows * cols, 4)), rng, step=10.0)
    f = len(centres)
    # column by column, alternating direction (lawn-mower): time of each frame
    t = np.array([c * (rows * 1.4 + 12.0) + (r if c % 2 == 0 else rows - 1 - r) * 1.4
                  for c in range(cols) for r in range(rows)])
    sig = np.tile(SIG, (f, 1))
    chain = adjust.WalkChain.of(t, sig[:, 0], 60.0, 0.5)
    err: dict[str, list[tuple[float, float]]] = {"independent": [], "walk": []}
    for _ in range(60):
        order = np.argsort(t)
        mean = np.zeros((f, 4))
        mean[order, :2] = _walk(t[order], 20.0, 1.0, rng) + rng.normal(0, 0.2, (f, 2))
        for name, walk in (("independent", None), ("walk", chain)):
            sol = solve(centres, ties, mean, sig, np.zeros((f, 4)), np.ones(f, bool),
                        bias_sigma=(math.radians(3.0), 0.03), walk=walk)
            err[name].append((float(sol.params[:, 2].mean()), float(sol.params[:, 3].mean())))
    # rotation (rad) and log scale both move the block's edges by that fraction of its size
    rms = {k: float(np.sqrt(np.mean(np.sum(np.square(v), axis=1)))) for k, v in err.items()}
    assert rms["walk"] < 0.85 * rms["independent"]
    assert sol.gnss_walk_m is not None and sol.gnss_walk_m.shape == (f, 2)


def test_the_white_part_is_measured_from_the_steps_between_frames() -> None:
    """The ties show the GNSS error's steps between consecutive frames: a smooth walk
    shows little white error, independent 2 m errors show 2 m (and the adjustment then
    takes them as such: the block sits at their mean)."""
    rng = np.random.default_rng(12)
    t = np.arange(200) * 1.4
    chain = adjust.WalkChain.of(t, np.full(200, 2.0), 60.0, 0.5)
    group = np.zeros(200, np.int64)
    smooth = _walk(t, 20.0, 1.0, rng) + rng.normal(0, 0.2, (200, 2))
    assert chain.white_from_steps(smooth, group) < 0.5
    assert chain.white_from_steps(rng.normal(0, 2.0, (200, 2)), group) == pytest.approx(2.0, rel=0.15)
    apart = np.arange(200) % 2                       # no two consecutive frames tied together
    assert math.isnan(chain.white_from_steps(smooth, apart))
    centres, ties = grid_problem(3, 4, np.zeros((12, 4)), rng)
    mean = np.zeros((12, 4))
    mean[:, :2] = rng.normal(0, 2.0, (12, 2))
    sig = np.tile(SIG, (12, 1))
    sol = solve(centres, ties, mean, sig, np.zeros((12, 4)), np.ones(12, bool),
                walk=adjust.WalkChain.of(np.arange(12) * 3.0, sig[:, 0], 60.0, 0.5))
    np.testing.assert_allclose(sol.params[:, :2].mean(axis=0), mean[:, :2].mean(axis=0), atol=0.15)


def test_jacobian_leaves_out_fixed_frames() -> None:
    """Columns of frames not solved for (``cols`` -1) are absent; the rest as with all free."""
    rng = np.random.default_rng(3)
    n, f = 40, 5
    ties = Ties(rng.integers(0, f, n), rng.integers(0, f, n), rng.normal(0, 30, (n, 2)),
                rng.normal(0, 30, (n, 2)), np.full(n, 0.1), np.zeros(n, np.int64))
    centres, x = rng.normal(0, 20, (f, 2)), rng.normal(0, [1, 1, 0.2, 0.05], (f, 4))
    sig = np.tile(SIG, (f, 1))
    r, fac = adjust._scaled_residuals(x, centres, ties)
    sw = rng.uniform(1, 10, n)
    full = adjust._tie_jacobian(x, centres, ties, sig, np.arange(f), sw, fac, r, 4 * f).toarray()
    cols = np.array([0, -1, 1, 2, -1])
    part = adjust._tie_jacobian(x, centres, ties, sig, cols, sw, fac, r, 12).toarray()
    kept = np.concatenate([np.arange(4 * k, 4 * k + 4) for k in (0, 2, 3)])
    np.testing.assert_allclose(part, full[:, kept], rtol=1e-12, atol=1e-12)


def test_normal_equations_per_pair_equal_those_of_the_jacobian() -> None:
    """J^T J and J^T r summed per frame pair equal the sparse Jacobian's, fixed frames too."""
    rng = np.random.default_rng(4)
    n, f = 200, 6
    a = rng.integers(0, f, n)
    ties = Ties(a, (a + rng.integers(1, 3, n)) % f, rng.normal(0, 30, (n, 2)),
                rng.normal(0, 30, (n, 2)), np.full(n, 0.1), np.zeros(n, np.int64))
    centres, x = rng.normal(0, 20, (f, 2)), rng.normal(0, [1, 1, 0.2, 0.05], (f, 4))
    sig = np.tile(SIG, (f, 1))
    r, fac = adjust._scaled_residuals(x, centres, ties)
    sw = rng.uniform(1, 10, n)
    cols = np.array([0, 1, -1, 2, 3, -1])
    jac = adjust._tie_jacobian(x, centres, ties, sig, cols, sw, fac, r, 16)
    vals, idx = adjust._tie_rows(x, centres, ties, sig, cols, sw, fac, r)
    normal, grad = adjust._tie_normal(vals, idx, r * sw[:, None], ties, 16)
    np.testing.assert_allclose(normal.toarray(), (jac.T @ jac).toarray(), rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(grad, jac.T @ (r * sw[:, None]).ravel(), rtol=1e-10, atol=1e-8)
