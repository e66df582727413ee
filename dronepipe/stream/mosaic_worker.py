"""``MosaicWorker``: one thread that registers keyframes and feeds them to a ``Mosaic``.

Keyframes are offered through a bounded queue; when it is full the offer fails at once
and is counted (``mosaic_skipped``): detection, which runs before the offer, never
waits for the mosaic. The worker makes the mosaic at its first keyframe on a
``live_grid``, registers each keyframe against those already placed where the
registration stage offers ``LiveRegistrar`` (else it feeds the frame as georeferenced
and says so once), feeds it and publishes a ``"mosaic"`` event with the mosaic version
and the tiles that changed.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dronepipe.errors import DronepipeError
from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.mosaic import Mosaic, MosaicProduct
from dronepipe.stream.counters import Counters
from dronepipe.stream.events import EventBus
from dronepipe.stream.live_grid import inside, live_grid

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True, eq=False)
class MosaicJob:
    """A keyframe for the mosaic: placed frame and pixels (thermal float32 degC, rgb uint8)."""

    gf: GeoFrame
    pixels: np.ndarray


def make_registrar(enabled: bool) -> Any | None:
    """The registration stage's ``LiveRegistrar`` if it is available and wanted."""
    if not enabled:
        return None
    try:
        from dronepipe.stitching.live_register import LiveRegistrar
        from dronepipe.stitching.register import RegistrationConfig
    except ImportError as exc:
        log.warning("live registration unavailable (%s): keyframes are fed as georeferenced", exc)
        return None
    return LiveRegistrar(RegistrationConfig(scheduler="synchronous"))


class MosaicWorker:
    """The mosaic of one kind, fed by its own thread (see the module docstring)."""

    def __init__(self, kind: str, counters: Counters, bus: EventBus, *, area_m: float,
                 gsd_m: float | None = None, queue_size: int = 4, register: bool = True,
                 cache_tiles: int = 64) -> None:
        self.kind, self.counters, self.bus = kind, counters, bus
        self.area_m, self.gsd_m, self.cache_tiles = area_m, gsd_m, cache_tiles
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._registrar = make_registrar(register)
        self._mosaic: Mosaic | None = None
        self._thread = threading.Thread(target=self._run, name=f"mosaic-{kind}", daemon=True)
        self._thread.start()

    @property
    def mosaic(self) -> Mosaic | None:
        return self._mosaic

    @property
    def registering(self) -> bool:
        return self._registrar is not None

    def offer(self, job: MosaicJob) -> bool:
        """Queue a keyframe without waiting; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(job)
            return True
        except queue.Full:
            self.counters.add("mosaic_skipped")
            return False

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            try:
                self._feed(job)
            except (DronepipeError, ValueError, np.linalg.LinAlgError) as exc:
                self.counters.add("mosaic_errors")
                log.warning("mosaic: frame %s not fed: %s", job.gf.frame_id, exc)

    def _feed(self, job: MosaicJob) -> None:
        gf = job.gf
        if self._mosaic is None:
            self._mosaic = Mosaic(live_grid(gf, self.area_m, self.gsd_m), gf.kind,
                                  cache_tiles=self.cache_tiles)
            self._mosaic.prepare()
        where = inside(self._mosaic.grid, gf)
        if where == "outside":
            self.counters.add("mosaic_outside")
            return
        if where == "clipped":
            self.counters.add("mosaic_clipped")
        gf = self._register(gf, job.pixels)
        changed = self._mosaic.feed(gf, job.pixels)
        self.counters.add("mosaic_taken")
        self.bus.publish("mosaic", {"kind": self.kind, "version": self._mosaic.version,
                                    "tiles": [[t.row, t.col] for t in changed],
                                    "frames": self._mosaic.n_frames, "frame_id": gf.frame_id})

    def _register(self, gf: GeoFrame, pixels: np.ndarray) -> GeoFrame:
        if self._registrar is None:
            return gf
        try:
            out, res = self._registrar.add(gf, pixels)
        except (DronepipeError, ValueError, np.linalg.LinAlgError) as exc:
            self.counters.add("registration_failed")
            log.warning("registration of %s failed: %s", gf.frame_id, exc)
            return gf
        self.counters.add("registered" if res.placed else "registration_unplaced")
        return out

    def close(self, timeout_s: float = 120.0) -> None:
        """Feed what is queued, then stop the thread (blocks up to ``timeout_s``)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)

    def finish(self, path: Path) -> MosaicProduct | None:
        """Write the mosaic (cropped to its data) after ``close``; None without frames."""
        if self._mosaic is None or self._mosaic.n_frames == 0:
            return None
        return self._mosaic.finish(path, crop=True)
