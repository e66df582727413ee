"""What the log writers (``TlogWriter``, ``DataFlashWriter``) share: their target.

A path is opened here and closed by ``close``; a binary file object is written to,
flushed by ``close`` and left open for its owner. Both writers are context managers
that close on exit.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO, Self


class LogWriter:
    """Base of the log writers: ``self._fh`` is the binary file written to."""

    def __init__(self, target: str | os.PathLike[str] | IO[bytes]) -> None:
        self._own = isinstance(target, (str, os.PathLike))
        if isinstance(target, (str, os.PathLike)):
            self._fh: IO[bytes] = Path(target).open("wb")  # noqa: SIM115 - closed by close()
        else:
            self._fh = target

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Flush, and close the file if the writer opened it."""
        self._fh.flush()
        if self._own:
            self._fh.close()
