"""A bounded cache of frame features for the live mode: extract once, match many.

Each new keyframe is matched against the already placed frames around it; their
features are kept here, the least recently used dropped beyond ``max_frames`` (a few
hundred keyframes cover the neighbourhood the drone is flying over). A dropped frame's
features are extracted again from its pixels when a ``loader`` is given, else that
neighbour is skipped (and the caller's report says so).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from dronepipe.stitching.features import AnyFeatures, FrameFeatures, KindFeatures, extract_features
from dronepipe.stitching.geoframe import GeoFrame

Loader = Callable[[str], np.ndarray]


class FeatureStore:
    """Features by frame id, least recently used dropped beyond ``max_frames``; thread-safe.
    ``config``: the settings (``KindFeatures``: each frame's kind picks its own)."""

    def __init__(self, config: AnyFeatures = KindFeatures(), max_frames: int = 512,
                 loader: Loader | None = None) -> None:
        self.config = config
        self.max_frames = max_frames
        self.loader = loader
        self._items: OrderedDict[str, FrameFeatures] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, frame_id: str) -> bool:
        return frame_id in self._items

    def put(self, features: FrameFeatures) -> None:
        with self._lock:
            self._items[features.frame_id] = features
            self._items.move_to_end(features.frame_id)
            while len(self._items) > self.max_frames:
                self._items.popitem(last=False)

    def extract(self, gf: GeoFrame, pixels: np.ndarray) -> FrameFeatures:
        """Extract a frame's features from its pixels and keep them."""
        f = extract_features(gf, pixels, self.config)
        self.put(f)
        return f

    def get(self, gf: GeoFrame) -> FrameFeatures | None:
        """A frame's features: cached, or extracted again through the loader, or None."""
        with self._lock:
            f = self._items.get(gf.frame_id)
            if f is not None:
                self._items.move_to_end(gf.frame_id)
                return f
        if self.loader is None:
            return None
        return self.extract(gf, self.loader(gf.frame_id))

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(f.nbytes for f in self._items.values())
