"""A bounded in-memory cache of mosaic tiles, spilled to per-tile ``.npy`` files on disk.

The mosaic's tiles (accumulators) live here. At most ``cache_tiles`` are held in memory;
the least recently used one is written to a scratch folder when another is needed and
read back when touched again. So the mosaic's memory is bounded by the cache size, not
by the number of frames or the area. The scratch folder is working state, not a
product, and is removed by ``close()``.

Not thread-safe by itself: ``Mosaic`` holds its lock around every call.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.grid import TileIndex

log = logging.getLogger(__name__)
F32 = NDArray[np.float32]


class TileStore:
    """Tiles by ``TileIndex``, at most ``cache_tiles`` in memory, the rest in ``directory``.

    ``make_empty()`` builds the accumulator of a tile nothing has touched yet.
    ``directory``: where the scratch folder goes (``None``: the system's temp folder).
    """

    def __init__(self, make_empty: Callable[[], F32], cache_tiles: int = 64,
                 directory: str | Path | None = None) -> None:
        if cache_tiles < 1:
            raise ValueError(f"cache_tiles must be at least 1, got {cache_tiles}")
        self._make_empty = make_empty
        self.cache_tiles = cache_tiles
        self._dir = Path(tempfile.mkdtemp(prefix="dronepipe-tiles-", dir=directory))
        self._cache: OrderedDict[TileIndex, F32] = OrderedDict()
        self._dirty: set[TileIndex] = set()
        self._on_disk: set[TileIndex] = set()
        self.max_in_memory = 0
        self.spills = 0
        self.loads = 0

    @property
    def in_memory(self) -> int:
        """Tiles held in memory now."""
        return len(self._cache)

    @property
    def touched(self) -> set[TileIndex]:
        """Tiles that have been written to (in memory or on disk)."""
        return self._on_disk | self._dirty

    def has(self, t: TileIndex) -> bool:
        return t in self._dirty or t in self._on_disk

    def get(self, t: TileIndex, for_write: bool = True) -> F32:
        """The tile's accumulator (mutable; ``for_write`` marks it changed). The array is
        the cached one: change it before the next ``get``, which may spill it."""
        acc = self._cache.get(t)
        if acc is None:
            self._make_room(self.cache_tiles - 1)
            acc = self._load(t)
            self._cache[t] = acc
            self.max_in_memory = max(self.max_in_memory, len(self._cache))
        else:
            self._cache.move_to_end(t)
        if for_write:
            self._dirty.add(t)
        return acc

    def put(self, t: TileIndex, acc: F32) -> None:
        """Make ``acc`` (handed over, not copied) the accumulator of a tile nothing has
        touched yet (a tile rendered elsewhere: no empty tile to merge it into)."""
        if self.has(t):
            raise ValueError(f"tile {t} already holds data")
        self._cache.pop(t, None)  # an empty one read but never written
        self._make_room(self.cache_tiles - 1)
        self._cache[t] = acc
        self._dirty.add(t)
        self.max_in_memory = max(self.max_in_memory, len(self._cache))

    def read(self, t: TileIndex) -> F32 | None:
        """A copy of a touched tile's accumulator, ``None`` for an untouched one."""
        if not self.has(t):
            return None
        return self.get(t, for_write=False).copy()

    def _load(self, t: TileIndex) -> F32:
        if t in self._on_disk:
            self.loads += 1
            return np.load(self._path(t))
        return self._make_empty()

    def _make_room(self, keep: int) -> None:
        """Spill least recently used tiles until at most ``keep`` are in memory."""
        while len(self._cache) > keep:
            t, acc = self._cache.popitem(last=False)
            if t in self._dirty:
                np.save(self._path(t), acc)
                self._on_disk.add(t)
                self._dirty.discard(t)
                self.spills += 1

    def _path(self, t: TileIndex) -> Path:
        return self._dir / f"{t.row}_{t.col}.npy"

    def close(self) -> None:
        """Drop every tile and remove the scratch folder."""
        self._cache.clear()
        self._dirty.clear()
        self._on_disk.clear()
        shutil.rmtree(self._dir, ignore_errors=True)
