"""A bounded cache of decoded frames, so that the stages of a run share one decode.

Decoding is much of what a frame costs (a 640x512 LZMA TIFF about 10 ms, a 2000x1500
JPEG about 25 ms, a DJI R-JPEG 250-500 ms), and a batch run loads each frame several
times: registration once, the mosaic once per block of tiles the frame touches, hotspot
detection once. ``FrameCache`` keeps decoded frames:

- bounded in bytes (``max_bytes``, 64 MB by default: 48 thermal frames of 640 x 512 as
  degrees C, 97 as the 16-bit counts the loader keeps, ``pipeline.loader``); the least
  recently used frames are dropped first. The bound is what keeps the peak flat: it is below what even a
  short flight decodes (50 thermal frames of 640 x 512 are 65 MB), so every flight
  holds the same (the 256 MB it had, with 64 mosaic tiles in memory, let the peak of
  ``process`` grow from 414 MB on 50 thermal frames to 777 MB on 300,
  ``bench/memory.py``). At 64 MB registration decodes a frame once, the mosaic of 300
  thermal frames 1.1 times (frames held as counts, ``pipeline.loader``; blocks in
  flight order, ``stitching.batch``; it was 1.4 with degrees C and blocks in row
  order) and the hotspot stage hardly ever (``pipeline.hotspots``). What is left is
  least-recently-used dropping: replayed on that flight's mosaic loads, an oracle's
  choice of what to drop would decode each frame once even with 48 frames;
- with a ``spill`` folder (``pipeline.spill``; the batch job has one), a dropped frame
  is written to disk once, and a later miss reads it back (``restored``) instead of
  decoding it again, so every frame is decoded once;
- only frames of at most ``max_bytes / min_frames`` are kept, in memory or on disk: a
  cache holding fewer
  frames than a mosaic block row needs is emptied before they come round again (on
  300 frames of 2000 x 1500 RGB, 9 MB each, a 256 MB cache served 4 % of the loads and
  added 490 MB of peak RSS, the heap fragmenting), while 640 x 512 thermal frames
  (1.3 MB), whose radiometric decoders are the slow ones, fit by the dozen. Spilling
  the large RGB frames too saved 3 s of 81 on the simulated 300-frame flight with both
  kinds (mosaics 22.9 s against 28.5 s, registration 2 s slower writing them) for 2.7
  GB written, and on a laptop whose memory cannot hold the files a read from disk
  costs about what the JPEG decode does, so they are decoded again;
- thread-safe: dask threads share it, and a frame one thread is decoding is waited for
  by the others rather than decoded again;
- one per run in the driving process (``FrameCache()``, dropped with the run); pickled
  to a dask worker process or a cluster worker it becomes that process's own
  (``worker_cache``), created on first use and bounded the same, since pixels never
  travel between processes; it shares the run's spill folder where the folder is
  there (worker processes on this machine).

Values must not be changed by callers: arrays are handed out read-only.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from dronepipe.pipeline.spill import SpillFolder

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_MAX_MB = 64
DEFAULT_MIN_FRAMES = 32


@dataclass(frozen=True)
class CacheStats:
    """Counts since the cache was made: ``hits``, ``misses`` (decodes), ``waits`` (hits
    on a frame another thread was decoding), ``dropped`` frames, ``restored`` (misses
    read back from the spill folder instead of decoded), and ``bytes`` held now."""

    hits: int
    misses: int
    waits: int
    dropped: int
    bytes: int
    restored: int = 0


class FrameCache:
    """Decoded frames by key, at most ``max_bytes`` held (see the module)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_MB * 2**20,
                 min_frames: int = DEFAULT_MIN_FRAMES, spill: SpillFolder | None = None) -> None:
        self.max_bytes = int(max_bytes)
        self.min_frames = max(1, int(min_frames))
        self.spill = spill
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._loading: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self._counts = {"hits": 0, "misses": 0, "waits": 0, "dropped": 0, "restored": 0}

    def __reduce__(self) -> tuple[Callable[..., FrameCache], tuple[Any, ...]]:
        return worker_cache, (self.max_bytes, self.min_frames, self.spill)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable, load: Callable[[], T], nbytes: Callable[[T], int]) -> T:
        """The value under ``key``, from ``load()`` on a miss (``nbytes(value)``: its
        size in bytes; a value over ``max_bytes / min_frames`` is returned, not kept)."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self._counts["hits"] += 1
                    return self._items[key][0]  # type: ignore[no-any-return]
                pending = self._loading.get(key)
                if pending is None:
                    self._loading[key] = threading.Event()
                    self._counts["misses"] += 1
                    break
                self._counts["waits"] += 1
            pending.wait()
        try:
            value = None if self.spill is None else self.spill.get(key)
            if value is None:
                value = load()
            else:
                with self._lock:
                    self._counts["misses"] -= 1
                    self._counts["restored"] += 1
            self._put(key, value, nbytes(value))
            return value  # type: ignore[no-any-return]
        finally:
            with self._lock:
                self._loading.pop(key).set()

    def _put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep a value (not one too big to keep), dropping the least recently used ones
        beyond ``max_bytes`` into the spill folder."""
        dropped: list[tuple[Hashable, Any]] = []
        with self._lock:
            if size * self.min_frames > self.max_bytes:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                old, (old_value, old_size) = self._items.popitem(last=False)
                self._bytes -= old_size
                self._counts["dropped"] += 1
                dropped.append((old, old_value))
        if self.spill is not None:
            for k, v in dropped:
                self.spill.put(k, v)

    def clear(self) -> None:
        """Drop every frame (counts stay)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(bytes=self._bytes, **self._counts)


def read_only(arr: np.ndarray) -> np.ndarray:
    """``arr`` flagged read-only (a cached value is shared by every caller)."""
    arr.flags.writeable = False
    return arr


_worker: FrameCache | None = None
_worker_lock = threading.Lock()


def worker_cache(max_bytes: int, min_frames: int = DEFAULT_MIN_FRAMES,
                 spill: SpillFolder | None = None) -> FrameCache:
    """This process's own cache (a dask worker process's): made on first use, with the
    largest ``max_bytes`` asked for so far and the latest run's spill folder, where the
    folder is there (``spill_for`` makes it at the start of the run; a cluster worker on
    another machine does not see it, and writes nothing it would leave behind)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = FrameCache(max_bytes, min_frames)
        _worker.max_bytes = max(_worker.max_bytes, int(max_bytes))
        here = spill if spill is not None and spill.folder.is_dir() else None
        if here is None or _worker.spill is None or _worker.spill.folder != here.folder:
            _worker.spill = here  # the latest run's, never an earlier run's folder
        return _worker
