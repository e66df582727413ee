"""Matching detected hotspots with the true hot objects.

Detections and truth are points in the truth's UTM zone (GeoJSON RFC 7946 is WGS84
lon/lat; polygons count by their centroid). They are matched one to one by distance
(``scipy.optimize.linear_sum_assignment``, pairs farther than ``radius_m`` never
match), so a hot object reported twice yields one match and one false alarm.

- recall: matched targets / targets (fires, ember nests, persons that at least one
  thermal frame saw; ``min_area_m2`` can leave out smaller ones); ``subset_recall``:
  the same for a subset of the targets (issue 5's: ember nests of at least 0.25 m2 at
  60 C and more), matched against all true objects so that a neighbour still takes
  its own detection;
- precision: detections matched to any true hot object (warm vehicles included: a
  detection there is right, if not a target) / detections;
- position error: distance of each matched target (median, 90th percentile);
- false alarms per hectare: unmatched detections / the mosaic's covered area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from dronepipe.errors import DronepipeError
from dronepipe.geodesy import UtmFrame

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Point:
    """A hot object or detection: grid position (m), class, and the truth's extras."""

    easting_m: float
    northing_m: float
    cls: str
    target: bool = True
    area_m2: float = 0.0
    seen: bool = True
    id: str = ""
    max_c: float = float("nan")


@dataclass(frozen=True)
class HotspotScore:
    """Counts and errors of one matching (see the module docstring)."""

    true_targets: int
    detections: int
    matched_targets: int
    matched_any: int
    errors_m: F64 = field(repr=False)
    recall_by_class: dict[str, float]
    matched_ids: frozenset[str] = frozenset()

    @property
    def recall(self) -> float | None:
        return self.matched_targets / self.true_targets if self.true_targets else None

    @property
    def precision(self) -> float | None:
        return self.matched_any / self.detections if self.detections else None

    @property
    def false_alarms(self) -> int:
        return self.detections - self.matched_any

    def error_quantile_m(self, q: float) -> float | None:
        return float(np.quantile(self.errors_m, q)) if self.errors_m.size else None


def _centroid(geom: dict[str, Any]) -> tuple[float, float]:
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Point":
        return float(coords[0]), float(coords[1])
    if kind == "MultiPoint":
        a = np.asarray(coords, dtype=np.float64)
    elif kind == "Polygon":
        a = np.asarray(coords[0], dtype=np.float64)[:-1]
    elif kind == "MultiPolygon":
        a = np.concatenate([np.asarray(p[0], dtype=np.float64)[:-1] for p in coords])
    else:
        raise ValueError(f"unsupported geometry {kind!r}")
    return float(a[:, 0].mean()), float(a[:, 1].mean())


def read_points(path: Path, frame: UtmFrame) -> list[Point]:
    """Features of a GeoJSON file as grid points (truth extras where present)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for f in data.get("features", []):
            props = f.get("properties") or {}
            lon, lat = _centroid(f["geometry"])
            e, n = frame.to_grid(lon, lat)
            out.append(Point(float(e), float(n), str(props.get("class", "")),
                             bool(props.get("target", True)), float(props.get("area_m2") or 0.0),
                             int(props.get("seen_in_frames", 1)) > 0, str(props.get("id", "")),
                             float(props.get("temperature_c", math.nan))))
        return out
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DronepipeError(f"{path}: not a readable GeoJSON of hotspots ({exc})") from exc


def match(truth: Sequence[Point], detections: Sequence[Point], radius_m: float,
          min_area_m2: float = 0.0) -> HotspotScore:
    """One-to-one matching by distance within ``radius_m`` (see the module docstring)."""
    truth = [t for t in truth if t.seen and (not t.target or t.area_m2 >= min_area_m2)]
    targets = [i for i, t in enumerate(truth) if t.target]
    pairs: list[tuple[int, int, float]] = []
    if truth and detections:
        tp = np.array([(t.easting_m, t.northing_m) for t in truth])
        dp = np.array([(d.easting_m, d.northing_m) for d in detections])
        dist = np.hypot(tp[:, None, 0] - dp[None, :, 0], tp[:, None, 1] - dp[None, :, 1])
        cost = np.where(dist <= radius_m, dist, 1e9)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c), float(dist[r, c])) for r, c in zip(rows, cols, strict=True)
                 if dist[r, c] <= radius_m]
    matched_truth = {r: d for r, _, d in pairs}
    errors = np.array([matched_truth[i] for i in targets if i in matched_truth])
    by_class: dict[str, list[bool]] = {}
    for i in targets:
        by_class.setdefault(truth[i].cls, []).append(i in matched_truth)
    return HotspotScore(len(targets), len(detections), len(errors), len(pairs), errors,
                        {k: sum(v) / len(v) for k, v in sorted(by_class.items())},
                        frozenset(truth[i].id for i in targets if i in matched_truth))


def in_subset(p: Point, cls: str, min_area_m2: float, min_c: float) -> bool:
    """Whether a true object belongs to a target subset: class ``cls``, at least
    ``min_area_m2`` (m2) and ``min_c`` (degrees C, its maximum), seen by a frame."""
    return p.target and p.seen and p.cls == cls and p.area_m2 >= min_area_m2 and p.max_c >= min_c


def subset_recall(truth: Sequence[Point], score: HotspotScore, cls: str, min_area_m2: float,
                  min_c: float) -> tuple[int, int]:
    """(matched, total) of the true targets in the subset (see ``in_subset``) after a
    matching ``score`` of all true objects (ids must be unique)."""
    sub = [p.id for p in truth if in_subset(p, cls, min_area_m2, min_c)]
    return sum(i in score.matched_ids for i in sub), len(sub)
