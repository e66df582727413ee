"""Hot objects in the world: open fire, ember nests, persons and warm vehicles.

Each object is drawn into the world's temperature (degrees C) and colour rasters in a
small window around it, and described by a ``TrueHotspot`` (the truth the evaluation
compares detections with). Classes and their temperatures:

- ``fire``: an irregular blob of 3-8 m2, 300 C at the edge to 800 C in the core, in a
  ring of burnt ground (charcoal, up to 45 C); a TLinear camera saturates on it.
- ``ember_nest``: an ellipse of 0.1-2 m2 at 60-200 C; about a third are ``hidden``
  (covered: invisible in RGB, 60-90 C).
- ``person``: a lying person, about 0.5 m2, 30-33 C body, 34-36 C head.
- ``vehicle``: a parked car on the road with a warm engine bonnet (45-55 C); real warm
  objects, but no target (``target`` False): a detection there is not a false alarm.

Positions are the centroid of the object's hot area, in the map grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.layout import SHADE, Layout, shadow_vector
from dronepipe.sim.materials import MATERIAL_ID

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class TrueHotspot:
    """One hot object: class, centre (grid metres), hot area (m2), temperatures (C)."""

    id: str
    cls: str
    target: bool
    easting_m: float
    northing_m: float
    area_m2: float
    max_temp_c: float
    mean_temp_c: float
    hidden: bool = False


@dataclass(frozen=True)
class Core:
    """The area where hot objects go: a rectangle (local metres) along unit ``u``."""

    centre: F64
    u: F64
    half_along: float
    half_across: float

    def sample(self, rng: np.random.Generator) -> F64:
        v = np.array([-self.u[1], self.u[0]])
        return (self.centre + rng.uniform(-1, 1) * self.half_along * self.u
                + rng.uniform(-1, 1) * self.half_across * v)

    def contains(self, p: F64) -> bool:
        v = np.array([-self.u[1], self.u[0]])
        d = p - self.centre
        return abs(float(d @ self.u)) <= self.half_along and abs(float(d @ v)) <= self.half_across


@dataclass
class Canvas:
    """The world rasters a hot object is drawn into (whole world, modified in place)."""

    lay: Layout
    temp_c: F32
    rgb: U8

    def window(self, centre: F64, radius_m: float) -> tuple[slice, slice, F64, F64]:
        """Row/col slices around a local point, and the local x, y of their pixel centres."""
        g = self.lay.grid
        c0 = max(0, int((centre[0] - radius_m) / g.cell_m))
        c1 = min(g.width, int((centre[0] + radius_m) / g.cell_m) + 2)
        r0 = max(0, int((centre[1] - radius_m) / g.cell_m))
        r1 = min(g.height, int((centre[1] + radius_m) / g.cell_m) + 2)
        x = (np.arange(c0, c1) + 0.5) * g.cell_m
        y = (np.arange(r0, r1) + 0.5) * g.cell_m
        xx, yy = np.meshgrid(x, y)
        return slice(r0, r1), slice(c0, c1), xx, yy


def _record(can: Canvas, hid: str, cls: str, target: bool, mask: NDArray[np.bool_],
            rs: slice, cs: slice, xx: F64, yy: F64, hidden: bool = False) -> TrueHotspot:
    g = can.lay.grid
    t = can.temp_c[rs, cs][mask]
    x, y = float(xx[mask].mean()), float(yy[mask].mean())
    return TrueHotspot(hid, cls, target, g.west_m + x, g.north_m - y,
                       float(mask.sum()) * g.cell_m ** 2, float(t.max()), float(t.mean()), hidden)


def _noise(rng: np.random.Generator, shape: tuple[int, int], blur_px: float) -> F32:
    n = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), blur_px)
    return n / max(float(n.std()), 1e-6)


def draw_fire(can: Canvas, rng: np.random.Generator, centre: F64, hid: str) -> TrueHotspot:
    """An open fire with a burnt ring (see the module docstring)."""
    area = rng.uniform(3.0, 8.0)
    radius = math.sqrt(area / math.pi)
    rs, cs, xx, yy = can.window(centre, radius * 2.6)
    dx, dy = xx - centre[0], yy - centre[1]
    theta = np.arctan2(dy, dx)
    wob = np.zeros_like(theta)
    for k in (2, 3, 5, 7):
        wob += rng.normal(0, 0.16 / math.sqrt(k)) * np.cos(k * theta + rng.uniform(0, 6.3))
    rel = np.hypot(dx, dy) / (radius * (1.0 + wob))
    n = _noise(rng, xx.shape, 0.15 / can.lay.grid.cell_m)
    fire = rel <= 1.0
    burnt = (rel <= 2.1) & ~fire
    tw, cw = can.temp_c[rs, cs], can.rgb[rs, cs]
    ring = np.clip((2.1 - rel) / 1.1, 0, 1)
    tw[burnt] = np.maximum(tw[burnt], (tw + (45.0 - tw) * ring ** 1.5)[burnt])
    char = np.clip(40 + 12 * n[..., None], 10, 90) * np.array([1.0, 0.92, 0.86])
    cw[burnt] = (cw * (1 - ring[..., None] ** 0.5) + char * ring[..., None] ** 0.5)[burnt].astype(np.uint8)
    core = np.clip((1.0 - rel ** 2), 0, 1) ** 0.7 * (0.8 + 0.2 * np.clip(n, -1, 1))
    tw[fire] = (300.0 + 500.0 * np.clip(core, 0, 1))[fire]
    flame = np.stack([np.full_like(core, 255.0), 60 + 170 * core, 10 + 130 * core ** 2], axis=-1)
    cw[fire] = np.clip(flame, 0, 255)[fire].astype(np.uint8)
    return _record(can, hid, "fire", True, fire, rs, cs, xx, yy)


def draw_ember_nest(can: Canvas, rng: np.random.Generator, centre: F64, hid: str,
                    hidden: bool) -> TrueHotspot:
    """A nest of embers: an ellipse of 0.1-2 m2 at 60-200 C (hidden: 60-90 C, no ash)."""
    area = float(np.exp(rng.uniform(np.log(0.1), np.log(2.0))))
    aspect = rng.uniform(1.0, 1.8)
    a = math.sqrt(area * aspect / math.pi)
    b = a / aspect
    peak = rng.uniform(65.0, 90.0) if hidden else rng.uniform(65.0, 200.0)
    ang = rng.uniform(0, math.pi)
    rs, cs, xx, yy = can.window(centre, a + 0.3)
    dx, dy = xx - centre[0], yy - centre[1]
    u = (dx * math.cos(ang) + dy * math.sin(ang)) / a
    v = (-dx * math.sin(ang) + dy * math.cos(ang)) / b
    rel = np.hypot(u, v)
    mask = rel <= 1.0
    n = _noise(rng, xx.shape, 0.05 / can.lay.grid.cell_m)
    tw, cw = can.temp_c[rs, cs], can.rgb[rs, cs]
    tw[mask] = (60.0 + (peak - 60.0) * (0.85 + 0.15 * np.clip(n, -1, 1)) * (1 - 0.15 * rel ** 4))[mask]
    if not hidden:
        ash = np.clip(105 + 25 * n[..., None], 40, 170) * np.array([1.0, 0.97, 0.93])
        cw[mask] = ash[mask].astype(np.uint8)
    return _record(can, hid, "ember_nest", True, mask, rs, cs, xx, yy, hidden)


_CLOTHES = ((235, 110, 20), (200, 30, 35), (40, 70, 160), (60, 80, 50), (230, 200, 40))


def draw_person(can: Canvas, rng: np.random.Generator, centre: F64, hid: str) -> TrueHotspot:
    """A lying person (about 1.1 m x 0.58 m), head at one end."""
    ang = rng.uniform(0, 2 * math.pi)
    body = rng.uniform(30.0, 33.0)
    head = rng.uniform(34.0, 36.0)
    rs, cs, xx, yy = can.window(centre, 0.8)
    dx, dy = xx - centre[0], yy - centre[1]
    u = dx * math.cos(ang) + dy * math.sin(ang)
    v = -dx * math.sin(ang) + dy * math.cos(ang)
    mask = (u / 0.55) ** 2 + (v / 0.29) ** 2 <= 1.0
    head_mask = (u - 0.42) ** 2 + v ** 2 <= 0.11 ** 2
    tw, cw = can.temp_c[rs, cs], can.rgb[rs, cs]
    tw[mask] = body
    tw[head_mask & mask] = head
    colour = np.array(_CLOTHES[int(rng.integers(len(_CLOTHES)))], dtype=np.uint8)
    cw[mask] = colour
    cw[head_mask & mask] = (196, 150, 120)
    return _record(can, hid, "person", True, mask, rs, cs, xx, yy)


_CARS = ((190, 190, 195), (30, 30, 35), (150, 20, 25), (40, 60, 120), (235, 235, 235))


def _car_frame(centre: F64, heading: float) -> tuple[F64, F64, F64]:
    d = np.array([math.cos(heading), math.sin(heading)])
    n = np.array([-d[1], d[0]])
    foot = np.array([centre + sa * 2.2 * d + sb * 0.9 * n for sa, sb in
                     ((1, 1), (1, -1), (-1, -1), (-1, 1))])
    return d, n, foot


def vehicle_shadow(lay: Layout, centre: F64, heading: float) -> None:
    """The cast shadow of a car (drawn before the ground texture is computed)."""
    _, _, foot = _car_frame(centre, heading)
    shadow = np.concatenate([foot, foot + shadow_vector(1.5)])
    lay.poly(lay.shade, cv2.convexHull(shadow.astype(np.float32)).reshape(-1, 2), SHADE)


def draw_vehicle(can: Canvas, rng: np.random.Generator, centre: F64, heading: float,
                 hid: str, warm: bool) -> TrueHotspot | None:
    """A car (4.4 m x 1.8 m) along ``heading`` (radians, local x towards y); ``warm``:
    with a warm engine bonnet, returned as a (non-target) hotspot."""
    d, n, _ = _car_frame(centre, heading)
    rs, cs, xx, yy = can.window(centre, 2.6)
    dx, dy = xx - centre[0], yy - centre[1]
    a = dx * d[0] + dy * d[1]
    b = dx * n[0] + dy * n[1]
    body = (np.abs(a) <= 2.2) & (np.abs(b) <= 0.9)
    bonnet = body & (a > 1.0)
    glass = body & (a > 0.3) & (a <= 1.0) & (np.abs(b) <= 0.8)
    roof = body & (a > -1.6) & (a <= 0.3) & (np.abs(b) <= 0.75)
    tw, cw = can.temp_c[rs, cs], can.rgb[rs, cs]
    colour = np.array(_CARS[int(rng.integers(len(_CARS)))], dtype=np.float64)
    cw[body] = colour.astype(np.uint8)
    cw[roof] = np.clip(colour * 1.08 + 8, 0, 255).astype(np.uint8)
    cw[glass] = (35, 40, 48)
    tw[body] = rng.uniform(29.0, 33.0)
    tw[glass] = 12.0
    if not warm:
        return None
    tw[bonnet] = rng.uniform(45.0, 55.0)
    return _record(can, hid, "vehicle", False, bonnet, rs, cs, xx, yy)


_FORBIDDEN = {MATERIAL_ID[m] for m in ("water", "reed", "tree", "roof_red_lit", "roof_red_shade",
                                       "roof_grey_lit", "roof_grey_shade", "roof_flat", "asphalt",
                                       "marking", "manhole", "hay", "bush")}


@dataclass(frozen=True)
class HotspotSpec:
    """Where a hot object goes, decided before the world is textured."""

    id: str
    cls: str
    centre: F64
    heading: float = 0.0
    hidden: bool = False


Views = Callable[[F64], int]
MIN_VIEWS = 2


def _free_spot(lay: Layout, rng: np.random.Generator, core: Core, taken: list[F64],
               min_dist: float, clearance: float, views: Views) -> F64:
    """A point on allowed ground, seen by enough frames, ``min_dist`` from the others
    (or, where the block is too small for that, the farthest such point found)."""
    ring = clearance * np.stack([np.cos(np.arange(0, 6.28, 0.6)), np.sin(np.arange(0, 6.28, 0.6))], 1)
    best, best_gap = None, -1.0
    for _ in range(600):
        p = core.sample(rng)
        pts = np.concatenate([p[None], p + ring, p + ring / 2])
        if any(int(m) in _FORBIDDEN for m in lay.material_at(pts[:, 0], pts[:, 1])):
            continue
        gap = min((float(np.linalg.norm(p - q)) for q in taken), default=np.inf)
        if gap > best_gap and views(p) >= MIN_VIEWS:
            best, best_gap = p, gap
            if gap >= min_dist:
                break
    return best if best is not None else core.sample(rng)


def _road_spot(lay: Layout, rng: np.random.Generator, core: Core,
               taken: list[F64], views: Views) -> tuple[F64, float] | None:
    road = lay.roads[0]
    seg = np.diff(road, axis=0)
    for _ in range(400):
        j = int(rng.integers(len(seg)))
        d = seg[j] / np.linalg.norm(seg[j])
        side = 1.5 if rng.uniform() < 0.5 else -1.5
        p = road[j] + rng.uniform() * seg[j] + side * np.array([-d[1], d[0]])
        if core.contains(p) and all(np.linalg.norm(p - q) >= 10.0 for q in taken) \
                and views(p) >= MIN_VIEWS:
            return p, math.atan2(d[1], d[0]) + (math.pi if side < 0 else 0.0)
    return None


def plan_hotspots(lay: Layout, rng: np.random.Generator, core: Core, fires: int,
                  embers: int, persons: int, vehicles: int,
                  views: Views = lambda p: MIN_VIEWS) -> list[HotspotSpec]:
    """Positions of the hot objects inside ``core``, spaced apart, on suitable ground,
    each seen by at least ``MIN_VIEWS`` thermal frames (``views``: local point -> count)."""
    taken: list[F64] = []
    out: list[HotspotSpec] = []

    def add(cls: str, p: F64, heading: float = 0.0, hidden: bool = False) -> None:
        taken.append(p)
        out.append(HotspotSpec(f"H{len(out) + 1:02d}", cls, p, heading, hidden))
    for _ in range(vehicles):
        spot = _road_spot(lay, rng, core, taken, views)
        if spot is not None:
            add("vehicle", *spot)
    for _ in range(fires):
        add("fire", _free_spot(lay, rng, core, taken, 25.0, 4.5, views))
    for k in range(embers):
        add("ember_nest", _free_spot(lay, rng, core, taken, 10.0, 1.5, views), hidden=(k % 3 == 2))
    for _ in range(persons):
        add("person", _free_spot(lay, rng, core, taken, 10.0, 1.0, views))
    return out


def draw_hotspots(can: Canvas, rng: np.random.Generator,
                  specs: list[HotspotSpec]) -> list[TrueHotspot]:
    """Draw planned hot objects into the textured world; returns their truth."""
    out: list[TrueHotspot] = []
    for s in specs:
        if s.cls == "vehicle":
            hs = draw_vehicle(can, rng, s.centre, s.heading, s.id, warm=True)
        elif s.cls == "fire":
            hs = draw_fire(can, rng, s.centre, s.id)
        elif s.cls == "ember_nest":
            hs = draw_ember_nest(can, rng, s.centre, s.id, s.hidden)
        else:
            hs = draw_person(can, rng, s.centre, s.id)
        if hs is not None:
            out.append(hs)
    return out


def parked_cars(lay: Layout, rng: np.random.Generator, count: int) -> list[tuple[F64, float]]:
    """Positions and headings of cold parked cars in the yards (clutter, no hotspots)."""
    rows, cols = np.nonzero(lay.overlay[::40, ::40] == MATERIAL_ID["paving"])
    if len(rows) == 0:
        return []
    pick = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    return [((np.array([cols[k], rows[k]]) * 40 + 0.5) * lay.grid.cell_m,
             float(rng.uniform(0, math.pi))) for k in pick]
