"""The procedural layout of the world: fields, roads, a hamlet, trees, a pond.

Everything is drawn in local metres (``x`` east and ``y`` south from the world grid's
top-left corner) into whole-world label canvases at the world cell size:

- ``overlay``: material id of drawn features (0 where the field parcel shows through);
- ``shade``: 255 in sunlight, less in cast shadow (sun from the south-south-east);
- ``relief``: brightness relief of crowns and bales (128 neutral);
- ``building``: 1-based building id on roofs (orients the roof-tile rows).

Fields are long strips ("Gewannflur") across direction ``field_angle``, cut into
parcels; each parcel has a crop, a colour gain and a temperature offset. The parcel of
any point is computed on demand (``parcel_at``), so it needs no canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.sim.grid import RasterGrid
from dronepipe.sim.materials import CROP_WEIGHTS, CROPS, MATERIAL_ID

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
SHIFT = 3  # cv2 drawing with 1/8 pixel precision
SUN_AZIMUTH = math.radians(160.0)   # grid azimuth of the sun
SUN_ELEVATION = math.radians(58.0)
SHADE = 150                         # shade value in cast shadow (of 255)


def shadow_vector(height_m: float) -> F64:
    """Local (x east, y south) offset in metres of the shadow of a point ``height_m`` up."""
    length = height_m / math.tan(SUN_ELEVATION)
    away = SUN_AZIMUTH + math.pi
    return np.array([math.sin(away), -math.cos(away)]) * length


@dataclass
class Layout:
    """The drawn world (see the module docstring); arrays are (height, width)."""

    grid: RasterGrid
    field_angle: float
    strip_edges_m: F64
    cut_edges_m: F64
    parcel_crop: NDArray[np.uint8]
    parcel_gain: NDArray[np.float32]
    parcel_temp_k: NDArray[np.float32]
    overlay: U8 = field(repr=False)
    shade: U8 = field(repr=False)
    relief: U8 = field(repr=False)
    building: U8 = field(repr=False)
    building_angle: NDArray[np.float32] = field(repr=False)
    roads: list[F64] = field(default_factory=list, repr=False)

    def strip_coords(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Across-strip ``p`` and along-strip ``q`` coordinates (metres) of local points."""
        c, s = math.cos(self.field_angle), math.sin(self.field_angle)
        return x * c + y * s, -x * s + y * c

    def parcel_index(self, x: F64, y: F64) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(strip, cut) index of the parcel under local points."""
        p, q = self.strip_coords(x, y)
        i = np.clip(np.searchsorted(self.strip_edges_m, p), 0, self.parcel_crop.shape[0] - 1)
        j = np.clip(np.searchsorted(self.cut_edges_m, q), 0, self.parcel_crop.shape[1] - 1)
        return i, j

    def material_at(self, x: F64, y: F64) -> NDArray[np.uint8]:
        """Material id at local points (drawn features over the parcel crop)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        col = np.clip((x / self.grid.cell_m).astype(int), 0, self.grid.width - 1)
        row = np.clip((y / self.grid.cell_m).astype(int), 0, self.grid.height - 1)
        over = self.overlay[row, col]
        i, j = self.parcel_index(x, y)
        return np.where(over > 0, over, self.parcel_crop[i, j]).astype(np.uint8)

    # --- drawing helpers (local metres) -----------------------------------------------
    def px(self, pts_m: F64) -> NDArray[np.int32]:
        """Local metres to cv2 fixed-point pixel coordinates."""
        p = np.asarray(pts_m, dtype=np.float64) / self.grid.cell_m - 0.5
        return np.round(p * (1 << SHIFT)).astype(np.int32).reshape(-1, 1, 2)

    def poly(self, canvas: U8, pts_m: F64, value: int) -> None:
        cv2.fillPoly(canvas, [self.px(pts_m)], int(value), cv2.LINE_8, SHIFT)

    def disc(self, canvas: U8, centre_m: F64, radius_m: float, value: int) -> None:
        c = self.px(centre_m)[0, 0]
        r = max(1, int(round(radius_m / self.grid.cell_m * (1 << SHIFT))))
        cv2.circle(canvas, (int(c[0]), int(c[1])), r, int(value), -1, cv2.LINE_8, SHIFT)

    def line(self, canvas: U8, pts_m: F64, width_m: float, value: int) -> None:
        w = max(1, int(round(width_m / self.grid.cell_m)))
        cv2.polylines(canvas, [self.px(pts_m)], False, int(value), w, cv2.LINE_8, SHIFT)


def _chaikin(pts: F64, rounds: int = 3) -> F64:
    for _ in range(rounds):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        pts = np.concatenate([pts[:1], np.stack([q, r], axis=1).reshape(-1, 2), pts[-1:]])
    return pts


def _edges(rng: np.random.Generator, lo: float, hi: float, wmin: float, wmax: float) -> F64:
    out = [lo + rng.uniform(0.0, wmax)]
    while out[-1] < hi:
        out.append(out[-1] + rng.uniform(wmin, wmax))
    return np.asarray(out)


def new_layout(grid: RasterGrid, rng: np.random.Generator) -> Layout:
    """Empty canvases and the field parcels of a world grid."""
    angle = rng.uniform(0.0, math.pi)
    w_m, h_m = grid.width * grid.cell_m, grid.height * grid.cell_m
    corners = np.array([[0, 0], [w_m, 0], [0, h_m], [w_m, h_m]], dtype=np.float64)
    c, s = math.cos(angle), math.sin(angle)
    p = corners[:, 0] * c + corners[:, 1] * s
    q = -corners[:, 0] * s + corners[:, 1] * c
    strips = _edges(rng, p.min(), p.max(), 22.0, 55.0)
    cuts = _edges(rng, q.min(), q.max(), 60.0, 170.0)
    shape = (len(strips) + 1, len(cuts) + 1)
    crop_ids = np.array([MATERIAL_ID[c] for c in CROPS], dtype=np.uint8)
    crop = crop_ids[rng.choice(len(CROPS), size=shape, p=np.asarray(CROP_WEIGHTS))]
    gain = rng.uniform(0.88, 1.12, shape).astype(np.float32)
    temp = rng.uniform(-1.5, 1.5, shape).astype(np.float32)
    hw = grid.shape
    return Layout(grid, angle, strips, cuts, crop, gain, temp,
                  np.zeros(hw, np.uint8), np.full(hw, 255, np.uint8),
                  np.full(hw, 128, np.uint8), np.zeros(hw, np.uint8), np.zeros(256, np.float32))


def draw_roads(lay: Layout, rng: np.random.Generator, centre_m: F64) -> None:
    """A main road across the strips near ``centre_m`` and a farm track along a strip edge."""
    a = lay.field_angle + rng.uniform(-0.25, 0.25)
    d = np.array([math.cos(a), math.sin(a)])
    n = np.array([-d[1], d[0]])
    span = 1.5 * max(lay.grid.width, lay.grid.height) * lay.grid.cell_m
    through = centre_m + n * rng.uniform(-15.0, 15.0)
    ts = np.arange(-span / 2, span / 2 + 1, 40.0)
    ctrl = through + ts[:, None] * d + (rng.normal(0, 3.0, len(ts)))[:, None] * n
    road = _chaikin(ctrl, 4)
    gravel, asphalt, mark = MATERIAL_ID["gravel"], MATERIAL_ID["asphalt"], MATERIAL_ID["marking"]
    lay.line(lay.overlay, road, 8.0, gravel)
    lay.line(lay.overlay, road, 6.0, asphalt)
    seg = np.diff(road, axis=0)
    normal = np.stack([-seg[:, 1], seg[:, 0]], axis=1) / np.linalg.norm(seg, axis=1)[:, None]
    normal = np.concatenate([normal, normal[-1:]])
    for side in (-2.7, 2.7):
        lay.line(lay.overlay, road + side * normal, 0.12, mark)
    dist = np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
    for start in np.arange(0.0, dist[-1], 9.0):
        t = np.linspace(start, min(start + 3.0, dist[-1]), 4)
        pts = np.stack([np.interp(t, dist, road[:, 0]), np.interp(t, dist, road[:, 1])], axis=1)
        lay.line(lay.overlay, pts, 0.12, mark)
    for _ in range(max(2, int(dist[-1] / 60))):
        t = rng.uniform(0, dist[-1])
        c = np.array([np.interp(t, dist, road[:, 0]), np.interp(t, dist, road[:, 1])])
        lay.disc(lay.overlay, c + rng.uniform(-1.5, 1.5) * normal[np.searchsorted(dist, t) - 1],
                 0.3, MATERIAL_ID["manhole"])
    lay.roads.append(road)
    # a farm track with two wheel ruts along the strip edge nearest the centre
    p_c, _ = lay.strip_coords(np.array([centre_m[0]]), np.array([centre_m[1]]))
    k = int(np.argmin(np.abs(lay.strip_edges_m - p_c[0] - rng.uniform(15, 40))))
    p0 = lay.strip_edges_m[k]
    c, s = math.cos(lay.field_angle), math.sin(lay.field_angle)
    along = np.array([-s, c])
    base = np.array([c, s]) * p0
    track = base + np.linspace(-span / 2, span / 2, 200)[:, None] * along
    track += np.array([c, s]) * (rng.normal(0, 0.3, 200)).cumsum()[:, None] * 0.05
    lay.line(lay.overlay, track, 3.2, MATERIAL_ID["fallow"])
    for side in (-0.8, 0.8):
        lay.line(lay.overlay, track + side * np.array([c, s]), 0.45, MATERIAL_ID["rut"])
    lay.roads.append(track)


def _rect(centre: F64, along: F64, half_len: float, half_w: float) -> F64:
    across = np.array([-along[1], along[0]])
    return np.array([centre + sa * half_len * along + sb * half_w * across
                     for sa, sb in ((1, 1), (1, -1), (-1, -1), (-1, 1))])


def draw_hamlet(lay: Layout, rng: np.random.Generator, count: int) -> list[F64]:
    """Houses with yards along the main road; returns their footprints (local metres)."""
    road = lay.roads[0]
    seg = np.diff(road, axis=0)
    dist = np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
    mid = dist[-1] / 2.0 + rng.uniform(-30, 30)
    footprints = []
    for i in range(count):
        t = mid + (i - count / 2.0) * rng.uniform(20.0, 28.0)
        j = int(np.clip(np.searchsorted(dist, t), 1, len(road) - 1))
        d = seg[j - 1] / np.linalg.norm(seg[j - 1])
        side = 1.0 if i % 2 == 0 else -1.0
        normal = np.array([-d[1], d[0]]) * side
        half_w, half_d = rng.uniform(4.0, 7.0), rng.uniform(5.0, 8.0)
        centre = (np.array([np.interp(t, dist, road[:, 0]), np.interp(t, dist, road[:, 1])])
                  + normal * (4.0 + rng.uniform(6.0, 11.0) + half_d))
        yard = _rect(centre - normal * 3.0, d, half_w + 4.0, half_d + 6.0)
        lay.poly(lay.overlay, yard, MATERIAL_ID["paving"])
        foot = _rect(centre, d, half_w, half_d)
        height = rng.uniform(6.0, 9.5)
        shadow = np.concatenate([foot, foot + shadow_vector(height)])
        lay.poly(lay.shade, cv2.convexHull(shadow.astype(np.float32)).reshape(-1, 2), SHADE)
        _roof(lay, rng, foot, d, len(footprints) + 1)
        footprints.append(foot)
    return footprints


def _roof(lay: Layout, rng: np.random.Generator, foot: F64, along: F64, bid: int) -> None:
    kind = rng.choice(["red", "grey", "flat"], p=[0.55, 0.3, 0.15])
    lay.building_angle[bid] = math.atan2(along[1], along[0])
    lay.poly(lay.building, foot, bid)
    if kind == "flat":
        lay.poly(lay.overlay, foot, MATERIAL_ID["roof_flat"])
        return
    # gable: the ridge joins the midpoints of the two short sides
    a, b, c, d = foot
    m1, m2 = (a + b) / 2, (c + d) / 2
    halves = (np.array([a, m1, m2, d]), np.array([m1, b, c, m2]))
    sun = np.array([math.sin(SUN_AZIMUTH), -math.cos(SUN_AZIMUTH)])
    centre = foot.mean(axis=0)
    for half in halves:
        facing = float(np.dot(half.mean(axis=0) - centre, sun)) > 0
        name = f"roof_{kind}_{'lit' if facing else 'shade'}"
        lay.poly(lay.overlay, half, MATERIAL_ID[name])
    lay.line(lay.overlay, np.array([m1, m2]), 0.25, MATERIAL_ID[f"roof_{kind}_shade"])


def draw_crown(lay: Layout, centre: F64, radius: float, height: float, material: str) -> None:
    """A tree crown, bush or bale: a disc with a domed relief lit from the sun, and its shadow."""
    lay.disc(lay.shade, centre + shadow_vector(height), radius * 0.95, SHADE)
    lay.disc(lay.overlay, centre, radius, MATERIAL_ID[material])
    sun = np.array([math.sin(SUN_AZIMUTH), -math.cos(SUN_AZIMUTH)])
    for k, (frac, val) in enumerate(((1.0, 96), (0.8, 118), (0.6, 138), (0.38, 156))):
        lay.disc(lay.relief, centre + sun * radius * 0.25 * k / 3, radius * frac, val)


def draw_trees(lay: Layout, rng: np.random.Generator, centre_m: F64, houses: list[F64]) -> None:
    """A hedgerow along a strip edge, a copse, and trees in the gardens."""
    c, s = math.cos(lay.field_angle), math.sin(lay.field_angle)
    p_c, q_c = lay.strip_coords(np.array([centre_m[0]]), np.array([centre_m[1]]))
    k = int(np.argmin(np.abs(lay.strip_edges_m - p_c[0] + rng.uniform(20, 45))))
    q0 = q_c[0] + rng.uniform(-40, 0)
    for q in np.arange(q0, q0 + rng.uniform(70, 130), rng.uniform(3.0, 4.0)):
        p = lay.strip_edges_m[k] + rng.normal(0, 0.4)
        pos = np.array([p * c - q * s, p * s + q * c])
        draw_crown(lay, pos, rng.uniform(2.0, 3.3), rng.uniform(7, 12), "tree")
    w_m, h_m = lay.grid.width * lay.grid.cell_m, lay.grid.height * lay.grid.cell_m
    copse = np.array([rng.uniform(0.15, 0.85) * w_m, rng.uniform(0.15, 0.85) * h_m])
    for _ in range(int(rng.integers(15, 30))):
        off = rng.normal(0, 9.0, 2)
        draw_crown(lay, copse + off, rng.uniform(2.2, 4.5), rng.uniform(9, 16), "tree")
    for foot in houses:
        for _ in range(int(rng.integers(0, 3))):
            pos = foot.mean(axis=0) + rng.uniform(-1, 1, 2) * 14.0
            draw_crown(lay, pos, rng.uniform(1.8, 3.5), rng.uniform(5, 11), "tree")


def draw_pond(lay: Layout, rng: np.random.Generator) -> None:
    """A pond with a reed margin, away from the world's edge."""
    w_m, h_m = lay.grid.width * lay.grid.cell_m, lay.grid.height * lay.grid.cell_m
    centre = np.array([rng.uniform(0.2, 0.8) * w_m, rng.uniform(0.2, 0.8) * h_m])
    radius = rng.uniform(7.0, 13.0)
    theta = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    wobble = np.zeros_like(theta)
    for k in (2, 3, 5):
        wobble += rng.normal(0, 0.12 / k ** 0.5) * np.cos(k * theta + rng.uniform(0, 6.3))
    ring = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    lay.poly(lay.overlay, centre + ring * (radius * (1 + wobble) + 1.8)[:, None],
             MATERIAL_ID["reed"])
    lay.poly(lay.overlay, centre + ring * (radius * (1 + wobble))[:, None], MATERIAL_ID["water"])


def draw_clutter(lay: Layout, rng: np.random.Generator) -> None:
    """Small objects: stones and bales on fields, bushes in meadows."""
    area_ha = lay.grid.width * lay.grid.height * lay.grid.cell_m ** 2 / 1e4
    n = int(area_ha * 120)
    xy = rng.uniform(0, 1, (n, 2)) * [lay.grid.width * lay.grid.cell_m,
                                      lay.grid.height * lay.grid.cell_m]
    kind = rng.uniform(0, 1, n)
    size = rng.uniform(0, 1, n)
    mats = lay.material_at(xy[:, 0], xy[:, 1])
    stone_ok = np.isin(mats, [MATERIAL_ID["ploughed"], MATERIAL_ID["fallow"], MATERIAL_ID["meadow"]])
    for (x, y), kd, sz, mat, ok in zip(xy, kind, size, mats, stone_ok, strict=True):
        if kd < 0.6 and ok:
            lay.disc(lay.overlay, np.array([x, y]), 0.1 + 0.25 * sz, MATERIAL_ID["stone"])
        elif kd < 0.8 and mat == MATERIAL_ID["meadow"]:
            draw_crown(lay, np.array([x, y]), 0.5 + 1.0 * sz, 1.0 + sz, "bush")
        elif kd < 0.9 and mat in (MATERIAL_ID["wheat"], MATERIAL_ID["fallow"]):
            draw_crown(lay, np.array([x, y]), 0.7 + 0.1 * sz, 1.4, "hay")


def build_layout(grid: RasterGrid, rng: np.random.Generator, centre_m: F64) -> Layout:
    """The whole layout around ``centre_m`` (local metres), drawn in a fixed order."""
    lay = new_layout(grid, rng)
    draw_pond(lay, rng)
    draw_roads(lay, rng, centre_m)
    houses = draw_hamlet(lay, rng, int(rng.integers(5, 9)))
    draw_trees(lay, rng, centre_m, houses)
    draw_clutter(lay, rng)
    return lay
