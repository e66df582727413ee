"""``FolderWatcher``: stills landing in a folder, taken in once they are complete.

The drone's ground station (or ``dronepipe replay --frames-to``) writes frames into a
folder. A file is taken when it is complete: its size and modification time are the
same on two polls ``stable_s`` apart (a file renamed in whole passes at the second
poll; one still being written keeps changing). Names starting with a dot and
temporary names (``*.tmp``, ``*.part``, ``*~``, ``*.tmp.*``) are never taken; nor are
files that are not images (``frames.discover.IMAGE_SUFFIXES``). Kind-named subfolders
(``thermal/``, ``rgb/``, ...) are watched too and give the kind. The arrival time is
when the file was first seen.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dronepipe.frames.discover import FOLDER_KINDS, IMAGE_SUFFIXES
from dronepipe.frames.refs import FrameKind
from dronepipe.stream.arrivals import Arrival

log = logging.getLogger(__name__)
_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


def is_candidate(name: str) -> bool:
    """Whether a file name can be a finished frame (not hidden, not temporary, an image)."""
    low = name.lower()
    if low.startswith(".") or low.endswith(_TEMP_SUFFIXES) or ".tmp." in low:
        return False
    return os.path.splitext(low)[1] in IMAGE_SUFFIXES


class FolderScanner:
    """The polling logic, without a thread: ``poll()`` returns the files complete now."""

    def __init__(self, folder: Path, stable_s: float = 0.1) -> None:
        self.folder, self.stable_s = folder, stable_s
        self._seen: dict[Path, tuple[int, int, float, float]] = {}  # size, mtime, first, last
        self._taken: set[Path] = set()

    def _listing(self) -> list[tuple[Path, FrameKind | None, os.stat_result]]:
        out = []
        for d, kind in [(self.folder, FOLDER_KINDS.get(self.folder.name.lower()))] + [
                (self.folder / n, k) for n, k in FOLDER_KINDS.items() if (self.folder / n).is_dir()]:
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if is_candidate(e.name) and e.is_file():
                            out.append((Path(e.path), kind, e.stat()))
            except FileNotFoundError:
                continue
        return out

    def poll(self, now: float | None = None) -> list[tuple[Path, FrameKind | None, float]]:
        """(path, kind, first seen) of the files that became complete since the last poll."""
        now = time.time() if now is None else now
        ready = []
        for path, kind, st in self._listing():
            if path in self._taken:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            prev = self._seen.get(path)
            if prev is None or prev[:2] != sig:
                self._seen[path] = (*sig, prev[2] if prev else now, now)
                continue
            if st.st_size > 0 and now - prev[3] >= self.stable_s:
                self._taken.add(path)
                del self._seen[path]
                ready.append((path, kind, prev[2]))
        return sorted(ready, key=lambda r: (r[2], str(r[0])))


class FolderWatcher:
    """Polls a folder every ``poll_s`` in a thread, handing each complete file to ``sink``."""

    def __init__(self, folder: Path, sink: Callable[[Arrival], object], *, poll_s: float = 0.05,
                 stable_s: float = 0.1) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.scanner = FolderScanner(folder, stable_s)
        self._sink, self._poll_s = sink, poll_s
        self._stop = threading.Event()
        self.last_arrival_s = -float("inf")
        self._thread = threading.Thread(target=self._run, name="live-folder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            for path, kind, first in self.scanner.poll():
                self.last_arrival_s = first
                self._sink(Arrival(path.name, kind, first, path=path))

    @property
    def ended(self) -> bool:
        """A folder never ends by itself."""
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
