"""TileStore: bounded memory, nothing lost when tiles spill to disk and come back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dronepipe.stitching.grid import TileIndex
from dronepipe.stitching.tilestore import TileStore


def test_bounded_cache_spills_and_reloads_exactly(tmp_path: Path) -> None:
    store = TileStore(lambda: np.zeros((2, 8, 8), np.float32), cache_tiles=3, directory=tmp_path)
    for k in range(20):
        t = TileIndex(k // 5, k % 5)
        store.get(t)[:] = k
        assert store.in_memory <= 3
    assert store.max_in_memory == 3 and store.spills == 17
    assert len(store.touched) == 20
    for k in range(20):
        got = store.read(TileIndex(k // 5, k % 5))
        assert got is not None and (got == k).all()
    assert store.read(TileIndex(9, 9)) is None and not store.has(TileIndex(9, 9))
    # reading does not dirty: a clean reloaded tile is not written again
    spills = store.spills
    for k in range(20):
        store.read(TileIndex(k // 5, k % 5))
    assert store.spills == spills
    scratch = list(tmp_path.iterdir())
    store.close()
    assert scratch and not any(p.exists() for p in scratch)


def test_cache_must_hold_a_tile(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        TileStore(lambda: np.zeros((1, 1, 1), np.float32), cache_tiles=0, directory=tmp_path)


def test_put_hands_over_a_fresh_tile_and_spills_it_like_any(tmp_path: Path) -> None:
    store = TileStore(lambda: np.zeros((2, 8, 8), np.float32), cache_tiles=2, directory=tmp_path)
    for k in range(5):
        acc = np.full((2, 8, 8), float(k), np.float32)
        store.put(TileIndex(0, k), acc)
        assert store.in_memory <= 2
    assert store.spills == 3 and len(store.touched) == 5
    assert all((store.read(TileIndex(0, k)) == k).all() for k in range(5))
    with pytest.raises(ValueError, match="already"):
        store.put(TileIndex(0, 1), np.zeros((2, 8, 8), np.float32))
    store.close()
