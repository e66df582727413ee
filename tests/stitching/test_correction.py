"""The per-frame 2D correction: an exact similarity, invertible and composable."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.stitching.correction import Correction2D


def test_apply_moves_turns_and_scales_about_the_centre() -> None:
    c = Correction2D(2.0, -1.0, np.pi / 2, 2.0, (100.0, 200.0))
    e, n = c.apply([100.0, 101.0], [200.0, 200.0])
    # the centre only moves by (dx, dy); a point 1 m east turns to 2 m north of it
    assert e == pytest.approx([102.0, 102.0])
    assert n == pytest.approx([199.0, 201.0])


def test_invert_undoes_apply_and_identity_is_free() -> None:
    rng = np.random.default_rng(1)
    c = Correction2D(1.5, -0.7, 0.01, 1.002, (410000.0, 5477000.0))
    e = 410000 + rng.uniform(-100, 100, 50)
    n = 5477000 + rng.uniform(-100, 100, 50)
    e2, n2 = c.invert(*c.apply(e, n))
    assert np.max(np.abs(e2 - e)) < 1e-8 and np.max(np.abs(n2 - n)) < 1e-8
    ident = Correction2D()
    assert ident.is_identity and ident.apply(e, n)[0] is not None
    assert np.array_equal(ident.invert(e, n)[1], n)


def test_compose_equals_applying_both() -> None:
    a = Correction2D(1.0, 2.0, 0.02, 1.01, (10.0, 20.0))
    b = Correction2D(-0.5, 0.3, -0.005, 0.995, (12.0, 18.0))
    e, n = np.array([0.0, 30.0, 11.0]), np.array([5.0, -4.0, 19.0])
    want = b.apply(*a.apply(e, n))
    got = a.compose(b).apply(e, n)
    assert np.allclose(got, want, atol=1e-9)


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Correction2D(scale=0.0)
