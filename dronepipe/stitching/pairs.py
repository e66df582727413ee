"""Which frames to register against which: pairs chosen by footprint overlap.

Matching every pair of a flight of N frames costs N^2 / 2 matchings; a frame only
overlaps its neighbours along the line and on the adjacent lines. A grid of bins over
the map (cell about one footprint across) finds each footprint's candidate neighbours
in constant time; the overlap of two footprints is the area of the intersection of
their convex hulls (OpenCV's convex clipping, in a local origin so float32 keeps
centimetres) divided by the smaller footprint's area. Each frame keeps its ``K`` most
overlapping partners above a minimum fraction; a pair is kept when either frame keeps
it, so the work grows as N * K.

Why our own index: a grid of bins is a dozen lines, insertable frame by frame (the live
mode adds each new keyframe), and needs no geometry library beyond OpenCV.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


@dataclass(frozen=True)
class PairConfig:
    """``min_overlap``: the smallest overlap fraction (intersection over the smaller
    footprint) worth matching; ``max_per_frame``: how many partners each frame keeps
    (its most overlapping ones)."""

    min_overlap: float = 0.15
    max_per_frame: int = 8


@dataclass(frozen=True, order=True)
class Pair:
    """Frames ``i < j`` (indices into the frame list) and their footprint ``overlap`` fraction."""

    i: int
    j: int
    overlap: float


class FootprintIndex:
    """Footprint polygons (grid metres) in bins of ``cell_m``; keys are the caller's.

    ``origin_m`` is subtracted before float32 geometry (any point near the flight)."""

    def __init__(self, cell_m: float, origin_m: tuple[float, float]) -> None:
        if not cell_m > 0:
            raise ValueError(f"footprint index cell must be positive, got {cell_m}")
        self.cell_m = float(cell_m)
        self.origin_m = origin_m
        self._bins: dict[tuple[int, int], list[int]] = defaultdict(list)
        self._hulls: dict[int, F32] = {}
        self._areas: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._hulls)

    def __contains__(self, key: int) -> bool:
        return key in self._hulls

    def add(self, key: int, polygon_m: ArrayLike) -> None:
        """Insert (or replace) a footprint polygon (N, 2)."""
        if key in self._hulls:
            self.remove(key)
        hull = self._hull(polygon_m)
        self._hulls[key] = hull
        self._areas[key] = float(cv2.contourArea(hull))
        for b in self._bins_of(hull):
            self._bins[b].append(key)

    def remove(self, key: int) -> None:
        """Drop a footprint (no-op where absent)."""
        hull = self._hulls.pop(key, None)
        self._areas.pop(key, None)
        if hull is None:
            return
        for b in self._bins_of(hull):
            self._bins[b].remove(key)

    def overlaps(self, polygon_m: ArrayLike, exclude: int | None = None) -> list[tuple[int, float]]:
        """(key, overlap fraction) of every indexed footprint that intersects a polygon."""
        hull = self._hull(polygon_m)
        area = float(cv2.contourArea(hull))
        seen = {k for b in self._bins_of(hull) for k in self._bins.get(b, ())}
        seen.discard(exclude)  # type: ignore[arg-type]
        out = []
        for k in sorted(seen):
            inter, _ = cv2.intersectConvexConvex(hull, self._hulls[k])
            smaller = min(area, self._areas[k])
            if inter > 0 and smaller > 0:
                out.append((k, float(inter) / smaller))
        return out

    def _hull(self, polygon_m: ArrayLike) -> F32:
        p = np.asarray(polygon_m, dtype=np.float64)
        p = p[np.isfinite(p).all(axis=1)] - np.asarray(self.origin_m)
        if len(p) < 3:
            raise ValueError("a footprint needs at least three finite points")
        return cv2.convexHull(p.astype(np.float32)).reshape(-1, 2)

    def _bins_of(self, hull: F32) -> Iterable[tuple[int, int]]:
        lo = np.floor(hull.min(axis=0) / self.cell_m).astype(int)
        hi = np.floor(hull.max(axis=0) / self.cell_m).astype(int)
        return [(x, y) for x in range(lo[0], hi[0] + 1) for y in range(lo[1], hi[1] + 1)]


def index_for(polygons: Sequence[F64]) -> FootprintIndex:
    """An empty index sized for footprints like these (cell = their median diagonal)."""
    if not polygons:
        raise ValueError("no footprints to index")
    diag = [float(np.hypot(*(np.nanmax(p, axis=0) - np.nanmin(p, axis=0)))) for p in polygons]
    origin = np.nanmean(polygons[0], axis=0)
    return FootprintIndex(max(float(np.median(diag)), 1e-3), (float(origin[0]), float(origin[1])))


def select_pairs(polygons: Sequence[F64], config: PairConfig = PairConfig()) -> list[Pair]:
    """Pairs of footprints (N, 2 grid metres each) worth matching, ``i < j``, sorted by
    ``(j, i)`` so that a pass over them in that order meets each frame's pairs together."""
    return top_pairs(ranked_partners(polygons, config.min_overlap), config.max_per_frame)


Ranked = list[list[tuple[int, float]]]
"""Per footprint: its partners (index, overlap fraction), most overlapping first."""


def ranked_partners(polygons: Sequence[F64], min_overlap: float) -> Ranked:
    """Every footprint's partners overlapping it by at least ``min_overlap``, most
    overlapping first (ties: the higher index first), for ``top_pairs``: the overlaps are
    computed once however many partners are then kept."""
    if len(polygons) < 2:
        return [[] for _ in polygons]
    index = index_for(polygons)
    for k, p in enumerate(polygons):
        index.add(k, p)
    return [[(f, o) for o, f in sorted(((o, f) for f, o in index.overlaps(p, exclude=k)
                                        if o >= min_overlap), reverse=True)]
            for k, p in enumerate(polygons)]


def top_pairs(ranked: Ranked, max_per_frame: int) -> list[Pair]:
    """The pairs where either footprint keeps the other among its ``max_per_frame`` most
    overlapping partners, ``i < j``, sorted by ``(j, i)`` (see ``select_pairs``)."""
    kept: dict[tuple[int, int], float] = {}
    for k, partners in enumerate(ranked):
        for f, o in partners[:max_per_frame]:
            kept[(min(k, f), max(k, f))] = o
    return sorted((Pair(i, j, o) for (i, j), o in kept.items()), key=lambda q: (q.j, q.i))


def footprint_radius_m(polygon_m: ArrayLike, centre_m: tuple[float, float]) -> float:
    """Largest distance (metres) from a centre to a footprint's points."""
    p = np.asarray(polygon_m, dtype=np.float64) - np.asarray(centre_m)
    d = np.hypot(p[:, 0], p[:, 1])
    d = d[np.isfinite(d)]
    return float(d.max()) if d.size else math.nan
