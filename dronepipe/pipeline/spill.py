"""Decoded frames on disk: the second tier of the frame cache (``pipeline.framecache``).

The memory cache is bounded (64 MB) so that the peak does not grow with the flight, and
a frame it drops is decoded again when a later stage asks for it: on the simulated
300-frame thermal flight the mosaic decoded a frame 1.1 times after registration had
decoded each once. A decode costs 4 ms for a 640 x 512 zlib TIFF, 25 ms for a 2000 x 1500
JPEG and 250-500 ms for a DJI R-JPEG through the SDK, while reading the decoded frame
back from a file the operating system still holds in its page cache costs a memory copy
(0.2-0.5 ms for a thermal frame as its counts). So a frame the memory cache drops is
written here once, and a later miss reads it back instead of decoding it. Frames too
large for the memory cache (large RGB frames) are not written either (see
``pipeline.framecache``).

- Values are pickled (protocol 5) as the cache holds them: a 16-bit thermal TIFF as its
  counts (its conversion table travels as the scale it is made from,
  ``thermal.records.LinearCounts``), so a 640 x 512 frame takes 0.66 MB on disk; arrays
  come back read-only, as the cache hands them out.
- Files are written atomically (a temporary name, then renamed), named by a hash of
  the cache key (file, its size and time, frame index, decode options) and holding the
  key itself, which a read checks, so worker processes of ``--scheduler processes``
  that share the folder read each other's frames.
- At most ``max_bytes`` are written by each process (default: 4 GB or a quarter of the
  free space, whichever is smaller); past that, or after a write fails (a full disk),
  frames are simply decoded again: the tier never makes a run fail.
- The folder lives in the output folder (``.decoded-frames``, not the system's temporary
  folder, which may be memory) and the batch job removes it at the end.

The files are only ever read by the run that wrote them; nothing else should be put
into the folder (they are unpickled).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
SPILL_DIR = ".decoded-frames"
DEFAULT_MAX_BYTES = 4 * 2**30


class SpillFolder:
    """Decoded frames by cache key in ``folder`` (made on first write if missing), at most
    ``max_bytes`` written by this process (see the module)."""

    def __init__(self, folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)
        self._written: set[str] = set()
        self._bytes = 0
        self._failed = False
        self._lock = threading.Lock()
        self.counts = {"written": 0, "read": 0}

    def __reduce__(self) -> tuple[type[SpillFolder], tuple[Path, int]]:
        return SpillFolder, (self.folder, self.max_bytes)

    def put(self, key: Hashable, value: Any) -> None:
        """Write ``value`` under ``key`` unless this process already did, the budget is
        spent or writing failed before."""
        name = _name(key)
        with self._lock:
            if self._failed or name in self._written or self._bytes >= self.max_bytes:
                return
            self._written.add(name)
        try:
            size = _write(self.folder, name, (key, value))
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            with self._lock:
                self._failed = True
            log.warning("decoded frames are no longer kept on disk in %s (%s): frames the "
                        "memory cache drops are decoded again", self.folder, exc)
            return
        with self._lock:
            self._bytes += size
            self.counts["written"] += 1

    def get(self, key: Hashable) -> Any | None:
        """The value written under ``key`` (by any process), arrays read-only; None if
        there is none or it cannot be read."""
        name = _name(key)
        path = self.folder / name
        try:
            with open(path, "rb") as f:
                stored, value = pickle.load(f)
        except FileNotFoundError:
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError,
                TypeError) as exc:
            log.warning("%s: unreadable decoded frame, decoding it again (%s)", path, exc)
            return None
        if stored != key:  # the name is a hash of the key's text: never trust it alone
            return None
        with self._lock:
            self.counts["read"] += 1
            self._written.add(name)  # there already: not to be written again
        return read_only_arrays(value)

    def remove(self) -> None:
        """Delete the folder and everything in it (only a folder named ``SPILL_DIR``)."""
        if self.folder.name == SPILL_DIR and self.folder.is_dir():
            shutil.rmtree(self.folder, ignore_errors=True)


def spill_for(out_dir: Path, max_bytes: int | None = None) -> SpillFolder | None:
    """The spill folder of a run writing into ``out_dir``, made now (and ``out_dir`` with
    it), so that worker processes that see it share it: at most ``max_bytes``, by
    default the smaller of ``DEFAULT_MAX_BYTES`` and a quarter of the free space. None
    (no spill folder: frames are decoded again) where the folder cannot be made."""
    try:
        (out_dir / SPILL_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("%s: no folder for decoded frames (%s): frames the memory cache drops "
                    "are decoded again", out_dir, exc)
        return None
    if max_bytes is None:
        try:
            free = shutil.disk_usage(out_dir).free
        except OSError:
            free = 0
        max_bytes = min(DEFAULT_MAX_BYTES, free // 4)
    return SpillFolder(out_dir / SPILL_DIR, max_bytes)


def _name(key: Hashable) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:40] + ".pickle"


def _write(folder: Path, name: str, value: Any) -> int:
    """Pickle ``value`` into ``folder/name`` atomically; the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=5)
            size = f.tell()
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def read_only_arrays(value: Any, depth: int = 3) -> Any:
    """``value`` with its arrays flagged read-only: an array itself, or the arrays among
    a dataclass's fields (and theirs, ``depth`` levels down)."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif depth > 0 and dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            read_only_arrays(getattr(value, f.name), depth - 1)
    return value
