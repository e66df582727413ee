"""Pair selection: only overlapping footprints, at most K partners per frame, and an
index that grows frame by frame for the live mode."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.stitching.pairs import FootprintIndex, PairConfig, index_for, select_pairs


def square(e: float, n: float, size: float = 100.0, turn_deg: float = 0.0) -> np.ndarray:
    h = size / 2
    pts = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + [500_000.0 + e, 5_400_000.0 + n]


def grid_block(rows: int, cols: int, step: float = 60.0) -> list[np.ndarray]:
    return [square(c * step, r * step) for c in range(cols) for r in range(rows)]


def test_only_overlapping_footprints_pair_and_overlap_is_exact() -> None:
    polys = [square(0, 0), square(50, 0), square(150, 0), square(25, 25, turn_deg=90)]
    pairs = {(p.i, p.j): p.overlap for p in select_pairs(polys, PairConfig(min_overlap=0.05))}
    assert set(pairs) == {(0, 1), (0, 3), (1, 3)}  # 1 and 2 only touch along an edge
    assert pairs[(0, 1)] == pytest.approx(0.5, abs=1e-4)  # half of a 100 m square
    assert pairs[(0, 3)] == pytest.approx(0.75 * 0.75, abs=1e-4)


def test_pairs_are_capped_per_frame_and_scale_linearly() -> None:
    polys = grid_block(20, 20)  # 400 frames, each overlapping 8 neighbours
    pairs = select_pairs(polys, PairConfig(min_overlap=0.1, max_per_frame=4))
    degree = np.bincount([k for p in pairs for k in (p.i, p.j)], minlength=len(polys))
    assert degree.max() <= 8 and degree.min() >= 2
    assert len(pairs) <= 4 * len(polys)
    # interior frames keep their direct neighbours (0.4 overlap), not the diagonal ones
    # (0.16); only frames on the border, with fewer direct neighbours, reach diagonally
    border = {c * 20 + r for c in range(20) for r in range(20) if r in (0, 19) or c in (0, 19)}
    diagonal = [p for p in pairs if p.overlap < 0.39]
    assert all(p.overlap == pytest.approx(0.16, abs=1e-3) for p in diagonal)
    assert all(p.i in border or p.j in border for p in diagonal)
    assert [(p.j, p.i) for p in pairs] == sorted((p.j, p.i) for p in pairs)


def test_index_grows_and_shrinks_for_live_use() -> None:
    index = index_for([square(0, 0)])
    assert index.overlaps(square(10, 0)) == []
    index.add(7, square(0, 0))
    index.add(8, square(300, 0))
    hits = dict(index.overlaps(square(10, 0)))
    assert set(hits) == {7} and hits[7] == pytest.approx(0.9, abs=1e-4)
    index.remove(7)
    assert index.overlaps(square(10, 0)) == [] and len(index) == 1 and 8 in index


def test_degenerate_footprint_is_refused() -> None:
    with pytest.raises(ValueError, match="three finite points"):
        FootprintIndex(10.0, (0.0, 0.0)).add(0, np.array([[0.0, 0.0], [np.nan, 1.0]]))
