"""Merging per-frame detections into hotspots on the map: ``HotspotTracker``.

Fed frame by frame (batch and live alike), each detection is mapped to the grid with
the frame's own ``pixel_to_map`` and assigned to the hotspot it belongs to:

* gating: a detection may join a hotspot when their distance is below
  ``gate_sigmas * sqrt(u_h^2 + s_d^2) + (r_h + r_d) / 2``, with ``u_h`` the hotspot's
  position uncertainty, ``s_d`` the detection's (pose error and half a pixel) and
  ``r`` the objects' radii (large fires move their centroid as more of them is seen);
* one to one within a frame: two detections of one frame are two objects (the
  detector already joined fragments), so assignment is a minimum-cost matching
  (Hungarian) of normalised distances. Pose errors are common to all detections of a
  frame, so neighbours 5 m apart stay apart even under 1-2 m pose errors;
* classes: fire, ember and anomaly merge with each other, and the hotspot takes the
  highest class seen (fire > ember > anomaly: an ember nest that flares up is a fire);
  a person never merges with fire or ember nests (a person beside a fire stays a
  person), and a blob seen as person and as anomaly is a person when most sightings
  say so.

Unmatched detections start new hotspots, numbered 1..n in order of first sighting.
The position is the inverse-variance weighted mean of the sightings; its uncertainty
is the larger of their spread and the stated pose error (pose errors of one flight
are correlated, so they do not average out over frames).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dronepipe.geodesy import UtmFrame, mgrs_of
from dronepipe.thermal.assignment import min_cost_assignment
from dronepipe.thermal.detection import Detection
from dronepipe.thermal.hotspot import Hotspot, HotspotClass

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
PixelToMap = Callable[[F64, F64], Any]
"""``pixel_to_map(u, v)``: pixel coordinate arrays (OpenCV convention, centre of the
top-left pixel at (0, 0)) to grid ``(easting, northing)`` arrays in metres. Returning an
array (..., >=2) whose first two columns are easting and northing also works (as
``GeoFrame.pixels_to_map`` does). NaN where the pixel does not map."""


@dataclass(frozen=True)
class TrackerConfig:
    """Association settings: ``gate_sigmas`` (gate width in combined sigmas) and
    ``min_gate_m`` (smallest gate, metres, for exact poses such as a mosaic)."""

    gate_sigmas: float = 3.0
    min_gate_m: float = 1.0


@dataclass(frozen=True, eq=False)
class Observation:
    """One detection placed on the map: centroid (metres), outline (N, 2), the
    one-sigma position error ``sigma_m`` and the object's radius ``radius_m``."""

    frame_id: str
    t_utc_s: float | None
    detection: Detection
    easting_m: float
    northing_m: float
    footprint_m: F64
    sigma_m: float
    radius_m: float


def affine_pixel_to_map(transform: Any) -> PixelToMap:
    """``pixel_to_map`` for a north-up raster with a GDAL/rasterio affine ``transform``
    (which maps pixel corner coordinates; pixel centres are at +0.5)."""
    a, b, c, d, e, f = (float(x) for x in tuple(transform)[:6])

    def to_map(u: F64, v: F64) -> tuple[F64, F64]:
        col, row = np.asarray(u, float) + 0.5, np.asarray(v, float) + 0.5
        return a * col + b * row + c, d * col + e * row + f

    return to_map


def place(detections: Sequence[Detection], frame_id: str, t_utc_s: float | None,
          pixel_to_map: PixelToMap, gsd_m: float, pose_sigma_m: float) -> list[Observation]:
    """Map detections to the grid in one call of ``pixel_to_map``; detections that do
    not map (NaN) are dropped with a log line."""
    if not detections:
        return []
    pts = [np.asarray([d.centroid_px], float) for d in detections]
    pts += [np.asarray(d.contour_px, float).reshape(-1, 2) for d in detections]
    allp = np.concatenate(pts)
    e, n = _call(pixel_to_map, allp[:, 0], allp[:, 1])
    k = len(detections)
    sizes = np.cumsum([0, k] + [len(p) for p in pts[k:]])
    sigma = float(np.hypot(pose_sigma_m, 0.5 * gsd_m))
    out = []
    for i, det in enumerate(detections):
        fp = np.stack([e[sizes[i + 1]:sizes[i + 2]], n[sizes[i + 1]:sizes[i + 2]]], axis=-1)
        if not (np.isfinite(e[i]) and np.isfinite(n[i]) and np.isfinite(fp).all()):
            log.info("frame %s: a %s detection does not map to the ground; dropped",
                     frame_id, det.kind.value)
            continue
        radius = float(np.hypot(fp[:, 0] - e[i], fp[:, 1] - n[i]).max())
        out.append(Observation(frame_id, t_utc_s, det, float(e[i]), float(n[i]), fp,
                               sigma, radius))
    return out


def _call(pixel_to_map: PixelToMap, u: F64, v: F64) -> tuple[F64, F64]:
    res = pixel_to_map(u, v)
    if isinstance(res, tuple):
        return np.asarray(res[0], float).reshape(-1), np.asarray(res[1], float).reshape(-1)
    arr = np.asarray(res, float).reshape(len(u), -1)
    return arr[:, 0], arr[:, 1]


def compatible(a: HotspotClass, b: HotspotClass) -> bool:
    """Whether sightings of classes ``a`` and ``b`` may be one object."""
    if HotspotClass.PERSON in (a, b):
        return {a, b} <= {HotspotClass.PERSON, HotspotClass.ANOMALY}
    return True


class _Track:
    """The evidence gathered for one hotspot (mutable, private to the tracker)."""

    def __init__(self, hotspot_id: int, obs: Observation) -> None:
        self.id = hotspot_id
        self.frames: set[str] = set()
        self.times: list[float] = []
        self.e: list[float] = []
        self.n: list[float] = []
        self.var: list[float] = []
        self.means: list[float] = []
        self.areas_whole: list[float] = []
        self.areas_cut: list[float] = []
        self.votes = {k: 0 for k in HotspotClass}
        self.max_c = -np.inf
        self.contrast_c = -np.inf
        self.radiometric = True
        self.best: Observation = obs
        self.hottest: Observation = obs
        self._position: tuple[float, float, float] | None = None
        self.add(obs)

    def add(self, obs: Observation) -> None:
        d = obs.detection
        self._position = None
        self.frames.add(obs.frame_id)
        if obs.t_utc_s is not None:
            self.times.append(obs.t_utc_s)
        self.e.append(obs.easting_m)
        self.n.append(obs.northing_m)
        self.var.append(obs.sigma_m ** 2)
        self.means.append(d.mean_c)
        (self.areas_cut if d.touches_border else self.areas_whole).append(d.area_m2)
        self.votes[d.kind] += 1
        self.max_c = max(self.max_c, d.max_c)
        self.contrast_c = max(self.contrast_c, d.contrast_c)
        self.radiometric = self.radiometric and d.radiometric
        if _better_view(d, self.best.detection):
            self.best = obs
        if (d.max_c, not d.touches_border) > (self.hottest.detection.max_c,
                                              not self.hottest.detection.touches_border):
            self.hottest = obs

    @property
    def kind(self) -> HotspotClass:
        v = self.votes
        if v[HotspotClass.FIRE]:
            return HotspotClass.FIRE
        if v[HotspotClass.EMBER]:
            return HotspotClass.EMBER
        if v[HotspotClass.PERSON] > v[HotspotClass.ANOMALY]:
            return HotspotClass.PERSON
        return HotspotClass.ANOMALY

    def position(self) -> tuple[float, float, float]:
        """Weighted mean easting, northing and the one-sigma uncertainty per axis (m)."""
        if self._position is None:
            self._position = self._estimate()
        return self._position

    def _estimate(self) -> tuple[float, float, float]:
        e, n, var = np.asarray(self.e), np.asarray(self.n), np.asarray(self.var)
        w = 1.0 / var
        me, mn = float((w * e).sum() / w.sum()), float((w * n).sum() / w.sum())
        k = len(e)
        spread = 0.0
        if k > 1:
            msd = float((w * ((e - me) ** 2 + (n - mn) ** 2)).sum() / w.sum())
            spread = float(np.sqrt(0.5 * msd * k / (k - 1)))
        return me, mn, max(spread, float(np.sqrt(var.mean())))

    @property
    def radius_m(self) -> float:
        return self.best.radius_m

    def snapshot(self, frame: UtmFrame) -> Hotspot:
        me, mn, unc = self.position()
        lon, lat = (float(x) for x in frame.to_lonlat(me, mn))
        b = self.best
        footprint = _ccw(b.footprint_m + (me - b.easting_m, mn - b.northing_m))
        area = float(np.median(self.areas_whole)) if self.areas_whole else max(self.areas_cut)
        return Hotspot(
            id=self.id, kind=self.kind, max_c=float(self.max_c),
            mean_c=float(np.mean(self.means)), contrast_c=float(self.contrast_c),
            area_m2=area, first_seen_utc_s=min(self.times) if self.times else None,
            last_seen_utc_s=max(self.times) if self.times else None,
            n_frames=len(self.frames), easting_m=me, northing_m=mn, lon_deg=lon,
            lat_deg=lat, mgrs=mgrs_of(lat, lon), uncertainty_m=unc, epsg=frame.epsg,
            footprint_m=footprint, radiometric=self.radiometric,
            thumbnail_c=self.hottest.detection.patch_c)


def _better_view(a: Detection, b: Detection) -> bool:
    """Whether ``a`` shows the object better than ``b``: whole rather than cut by the
    image edge, then more pixels."""
    return (not a.touches_border, a.n_pixels) > (not b.touches_border, b.n_pixels)


def _ccw(poly: F64) -> F64:
    """The polygon (N, 2) counter-clockwise (positive shoelace area), read-only."""
    p = np.array(poly, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) < 0:
        p = p[::-1].copy()
    p.flags.writeable = False
    return p


class HotspotTracker:
    """Merges detections frame by frame into ``Hotspot`` records in the grid ``frame``.

    The same object in batch and live mode: call ``update`` once per frame in capture
    order; it returns the hotspots that are new or changed by that frame (snapshots,
    ordered by id), which the live mode streams. ``hotspots()`` gives all of them.
    """

    def __init__(self, frame: UtmFrame | int, config: TrackerConfig = TrackerConfig()) -> None:
        self.frame = frame if isinstance(frame, UtmFrame) else UtmFrame(int(frame))
        self.config = config
        self._tracks: list[_Track] = []

    def __len__(self) -> int:
        return len(self._tracks)

    def update(self, frame_id: str | int, t_utc_s: float | None,
               detections: Sequence[Detection], pixel_to_map: PixelToMap, gsd_m: float,
               pose_sigma_m: float) -> list[Hotspot]:
        """Add one frame's detections; returns the new and updated hotspots.

        ``t_utc_s``: capture time (UTC seconds, or None); ``pixel_to_map``: the frame's
        pixel-to-grid mapping (see ``PixelToMap``); ``gsd_m``: its ground sample
        distance (metres per pixel); ``pose_sigma_m``: one-sigma horizontal error of
        the frame's placement on the map (metres).
        """
        obs = place(detections, str(frame_id), t_utc_s, pixel_to_map, gsd_m, pose_sigma_m)
        changed: list[_Track] = []
        for o, track in zip(obs, self._assign(obs), strict=True):
            if track is None:
                track = _Track(len(self._tracks) + 1, o)
                self._tracks.append(track)
            else:
                track.add(o)
            changed.append(track)
        return [t.snapshot(self.frame) for t in sorted(set(changed), key=lambda t: t.id)]

    def hotspots(self) -> list[Hotspot]:
        """Snapshots of every hotspot so far, by id."""
        return [t.snapshot(self.frame) for t in self._tracks]

    def _assign(self, obs: Sequence[Observation]) -> list[_Track | None]:
        """The track each observation joins (None: a new hotspot), one to one."""
        out: list[_Track | None] = [None] * len(obs)
        if not obs or not self._tracks:
            return out
        cost = self._costs(obs)
        near = np.flatnonzero((cost <= 1.0).any(axis=0))
        if near.size == 0:
            return out
        rows, cols = min_cost_assignment(cost[:, near])
        for r, c in zip(rows, cols, strict=True):
            if cost[r, near[c]] <= 1.0:
                out[r] = self._tracks[near[c]]
        return out

    def _costs(self, obs: Sequence[Observation]) -> F64:
        """Normalised distances (observation x track); above 1 is outside the gate."""
        cfg = self.config
        pos = np.array([t.position() for t in self._tracks])
        radii = np.array([t.radius_m for t in self._tracks])
        kinds = [t.kind for t in self._tracks]
        compat = {k: np.array([compatible(t, k) for t in kinds]) for k in HotspotClass}
        cost = np.full((len(obs), len(self._tracks)), 1e6)
        for i, o in enumerate(obs):
            d = np.hypot(pos[:, 0] - o.easting_m, pos[:, 1] - o.northing_m)
            gate = cfg.gate_sigmas * np.hypot(pos[:, 2], o.sigma_m) + 0.5 * (radii + o.radius_m)
            gate = np.maximum(gate, cfg.min_gate_m)
            ok = compat[o.detection.kind]
            cost[i, ok] = d[ok] / gate[ok]
        return cost
