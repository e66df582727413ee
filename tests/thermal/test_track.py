"""Tracking: detections of overlapping synthetic frames merge into hotspots on the map."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from affine import Affine

from dronepipe.geodesy import UtmFrame
from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.hotspot import HotspotClass
from dronepipe.thermal.track import HotspotTracker, affine_pixel_to_map, compatible
from tests.thermal.scenes import add_disc, add_noise, background

E0, N0 = 500_000.0, 5_400_000.0  # EPSG:32632, near 48.7 N 9 E
GSD = 0.1
SHAPE = (512, 640)


def _frame(rng: np.random.Generator, origin: tuple[float, float],
           objects: list[tuple[float, float, float, float]]) -> np.ndarray:
    """A frame whose top-left pixel corner is at ``origin`` (E, N); objects are
    (easting, northing, area m2, temperature C)."""
    t = background(SHAPE, GSD, rng)
    for e, n, area, temp in objects:
        u, v = (e - origin[0]) / GSD - 0.5, (origin[1] - n) / GSD - 0.5
        if -20 < u < SHAPE[1] + 20 and -20 < v < SHAPE[0] + 20:
            t = add_disc(t, (u, v), area, temp, GSD)
    return add_noise(t, rng)


def _fly(objects: list[tuple[float, float, float, float]], n_frames: int, pose_sigma_m: float,
         seed: int = 0, step_m: float = 2.0) -> tuple[HotspotTracker, list[list]]:
    """Frames moving east by ``step_m``, each placed with a random pose error."""
    rng = np.random.default_rng(seed)
    tracker = HotspotTracker(UtmFrame(32632))
    updates = []
    for k in range(n_frames):
        origin = (E0 - 30.0 + k * step_m, N0 + 25.0)
        t = _frame(rng, origin, objects)
        err = rng.normal(0.0, pose_sigma_m, 2) if pose_sigma_m > 0 else np.zeros(2)
        placed = Affine(GSD, 0.0, origin[0] + err[0], 0.0, -GSD, origin[1] + err[1])
        dets = detect_hotspots(t, GSD)
        updates.append(tracker.update(f"f{k:03d}", 1.7e9 + k, dets,
                                      affine_pixel_to_map(placed), GSD, pose_sigma_m))
    return tracker, updates


def test_one_object_in_twelve_frames_is_one_hotspot() -> None:
    tracker, updates = _fly([(E0, N0, 0.25, 80.0)], 12, pose_sigma_m=1.0, seed=1)
    (h,) = tracker.hotspots()
    assert h.id == 1 and h.kind is HotspotClass.EMBER
    assert h.n_frames == 12
    assert np.hypot(h.easting_m - E0, h.northing_m - N0) < 1.0
    assert 0.8 <= h.uncertainty_m <= 1.5  # the 1 m pose noise, not 1 m / sqrt(12)
    assert h.area_m2 == pytest.approx(0.25, rel=0.3)
    assert h.max_c == pytest.approx(80.0, abs=1.0)
    assert h.first_seen_utc_s == 1.7e9 and h.last_seen_utc_s == 1.7e9 + 11
    assert all(len(u) == 1 and u[0].id == 1 for u in updates)
    assert h.thumbnail_c is not None and h.thumbnail_c.max() == pytest.approx(80.0, abs=1.0)


def test_position_lonlat_mgrs_and_footprint() -> None:
    tracker, _ = _fly([(E0 + 3.0, N0 - 4.0, 1.0, 200.0)], 4, pose_sigma_m=0.0, seed=2)
    (h,) = tracker.hotspots()
    assert h.kind is HotspotClass.FIRE
    assert h.easting_m == pytest.approx(E0 + 3.0, abs=0.1)
    assert h.northing_m == pytest.approx(N0 - 4.0, abs=0.1)
    lon, lat = UtmFrame(32632).to_lonlat(h.easting_m, h.northing_m)
    assert (h.lon_deg, h.lat_deg) == pytest.approx((float(lon), float(lat)), abs=1e-9)
    assert re.fullmatch(r"32U [A-Z]{2} \d{5} \d{5}", h.mgrs)
    assert h.uncertainty_m == pytest.approx(0.05, abs=0.05)  # half a pixel with exact poses
    fp = h.footprint_m
    x, y = fp[:, 0], fp[:, 1]
    signed = 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert signed == pytest.approx(1.0, rel=0.3)  # counter-clockwise, about the area
    assert h.footprint_lonlat().shape == fp.shape


@pytest.mark.parametrize("seed", range(3))
def test_two_objects_5m_apart_stay_two_with_stable_ids(seed: int) -> None:
    objs = [(E0, N0, 0.25, 80.0), (E0 + 5.0, N0, 0.25, 80.0)]
    tracker, updates = _fly(objs, 12, pose_sigma_m=1.0, seed=10 + seed)
    hs = tracker.hotspots()
    assert [h.id for h in hs] == [1, 2]
    assert sorted(round(h.easting_m - E0) for h in hs) == [0, 5]
    assert all(h.n_frames == 12 for h in hs)
    ids_by_frame = [sorted(h.id for h in u) for u in updates]
    assert ids_by_frame == [[1, 2]] * 12


def test_ids_in_order_of_first_sighting() -> None:
    # the drone flies east: the western object comes into view first
    objs = [(E0 + 40.0, N0, 0.5, 90.0), (E0 - 5.0, N0, 0.5, 90.0)]
    tracker, updates = _fly(objs, 30, pose_sigma_m=0.5, seed=4, step_m=3.0)
    hs = tracker.hotspots()
    assert len(hs) == 2
    assert hs[0].easting_m == pytest.approx(E0 - 5.0, abs=1.0)
    assert hs[1].easting_m == pytest.approx(E0 + 40.0, abs=1.0)
    assert updates[0][0].id == 1


def test_class_precedence_and_person_stays_apart() -> None:
    assert compatible(HotspotClass.EMBER, HotspotClass.FIRE)
    assert compatible(HotspotClass.PERSON, HotspotClass.ANOMALY)
    assert not compatible(HotspotClass.PERSON, HotspotClass.EMBER)
    rng = np.random.default_rng(5)
    tracker = HotspotTracker(32632)
    origin = (E0 - 30.0, N0 + 25.0)
    to_map = affine_pixel_to_map(Affine(GSD, 0, origin[0], 0, -GSD, origin[1]))
    for k, temp in enumerate([80.0, 80.0, 300.0, 80.0]):  # an ember nest flaring up
        t = _frame(rng, origin, [(E0, N0, 0.5, temp), (E0 + 1.5, N0, 0.3, 33.0)])
        tracker.update(k, 1.7e9 + k, detect_hotspots(t, GSD), to_map, GSD, 1.0)
    kinds = sorted((h.kind.value, h.n_frames) for h in tracker.hotspots())
    assert kinds == [("fire", 4), ("person", 4)]


def test_hotspot_is_frozen_and_tracker_takes_epsg_or_frame() -> None:
    tracker, _ = _fly([(E0, N0, 0.25, 80.0)], 2, pose_sigma_m=0.0)
    (h,) = tracker.hotspots()
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.id = 3  # type: ignore[misc]
    assert HotspotTracker(32632).frame == UtmFrame(32632)
    assert len(tracker) == 1


def test_pixel_to_map_returning_points_array_and_nan() -> None:
    """A GeoFrame-style mapping returns (..., 3) points; NaN (no ground) drops the detection."""
    rng = np.random.default_rng(6)
    origin = (E0 - 30.0, N0 + 25.0)
    t = _frame(rng, origin, [(E0, N0, 0.5, 90.0)])
    dets = detect_hotspots(t, GSD)
    aff = affine_pixel_to_map(Affine(GSD, 0, origin[0], 0, -GSD, origin[1]))

    def as_points(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        e, n = aff(u, v)
        return np.stack([e, n, np.zeros_like(e)], axis=-1)

    tracker = HotspotTracker(32632)
    (h,) = tracker.update("a", None, dets, as_points, GSD, 0.5)
    assert h.easting_m == pytest.approx(E0, abs=0.1) and h.first_seen_utc_s is None
    assert tracker.update("b", None, dets, lambda u, v: (u * np.nan, v * np.nan), GSD, 0.5) == []
    assert len(tracker) == 1
