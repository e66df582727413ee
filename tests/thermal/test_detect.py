"""Hotspot detection on synthetic temperature frames (degrees C, 640 x 512)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dronepipe.thermal.detect import Detection, DetectionConfig, detect_hotspots
from dronepipe.thermal.hotspot import HotspotClass
from tests.thermal.scenes import add_disc, add_noise, background, coverage_rect, paint

SHAPE = (512, 640)


def _near(dets: list[Detection], centre: tuple[float, float], tol_px: float = 3.0) -> list[Detection]:
    return [d for d in dets if np.hypot(d.centroid_px[0] - centre[0],
                                        d.centroid_px[1] - centre[1]) < tol_px]


def _centre(rng: np.random.Generator, margin: float = 40.0) -> tuple[float, float]:
    return float(rng.uniform(margin, SHAPE[1] - margin)), float(rng.uniform(margin, SHAPE[0] - margin))


@pytest.mark.parametrize("gsd_m", [0.05, 0.1, 0.15, 0.2])
@pytest.mark.parametrize("seed", range(4))
def test_ember_nest_of_quarter_square_metre_at_60c(gsd_m: float, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    c = _centre(rng)
    t = add_noise(add_disc(background(SHAPE, gsd_m, rng), c, 0.25, 60.0, gsd_m), rng)
    dets = detect_hotspots(t, gsd_m)
    assert len(dets) == 1
    d = dets[0]
    assert d.kind is HotspotClass.EMBER
    assert d.area_m2 == pytest.approx(0.25, rel=0.3)
    assert np.hypot(d.centroid_px[0] - c[0], d.centroid_px[1] - c[1]) < 1.0
    assert 58.0 <= d.max_c <= 60.5
    assert d.radiometric and not d.touches_border
    assert d.n_pixels >= 1 and d.patch_c.ndim == 2 and not d.patch_c.flags.writeable


def test_ember_outline_contains_centroid_and_matches_area() -> None:
    rng = np.random.default_rng(7)
    gsd = 0.05
    t = add_noise(add_disc(background(SHAPE, gsd, rng), (300.3, 200.7), 1.0, 90.0, gsd), rng)
    (d,) = detect_hotspots(t, gsd)
    poly = d.contour_px
    x, y = poly[:, 0], poly[:, 1]
    hull_area_m2 = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) * gsd ** 2
    assert d.area_m2 == pytest.approx(1.0, rel=0.1)
    assert hull_area_m2 == pytest.approx(1.0, rel=0.25)
    assert x.min() < d.centroid_px[0] < x.max() and y.min() < d.centroid_px[1] < y.max()


@pytest.mark.parametrize("gsd_m", [0.05, 0.1, 0.2])
def test_hidden_ember_found_by_contextual_test(gsd_m: float) -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        c = _centre(rng)
        t = background(SHAPE, gsd_m, rng, lo_c=33.0, hi_c=37.0, texture_c=0.5)
        local = float(t[int(c[1]), int(c[0])])
        t = add_noise(add_disc(t, c, 0.5, local + 8.0, gsd_m), rng)
        assert float(np.nanmax(t)) < 58.0  # the absolute thresholds cannot see it
        dets = detect_hotspots(t, gsd_m)
        assert [d.kind for d in dets] == [HotspotClass.ANOMALY]
        assert len(_near(dets, c, 1.5)) == 1
        assert dets[0].contrast_c == pytest.approx(8.0, abs=1.5)
        assert dets[0].area_m2 == pytest.approx(0.5, rel=0.3)


@pytest.mark.parametrize("gsd_m", [0.05, 0.1, 0.2])
def test_person_lying_and_standing(gsd_m: float) -> None:
    rng = np.random.default_rng(21)
    lying, standing = (200.0, 150.0), (450.0, 380.0)
    t = background(SHAPE, gsd_m, rng, lo_c=5.0, hi_c=20.0)
    t = paint(t, coverage_rect(SHAPE, lying, 1.7 / gsd_m, 0.45 / gsd_m, 0.6), 33.0)
    t = add_noise(add_disc(t, standing, 0.25, 32.0, gsd_m), rng)
    dets = detect_hotspots(t, gsd_m)
    assert len(dets) == 2
    for c, area in ((lying, 0.765), (standing, 0.25)):
        (d,) = _near(dets, c, 1.0)
        assert d.kind is HotspotClass.PERSON
        assert d.area_m2 == pytest.approx(area, rel=0.3)


def test_sun_warmed_objects_are_not_reported_but_warm_anomalies_are() -> None:
    """A 2.5 m2 blob at 34 C (a hay bale in the sun): too big for a person, too cool
    for a warm anomaly (``anomaly_min_c``); at 45 C it is an anomaly."""
    rng = np.random.default_rng(22)
    gsd = 0.1
    ground = background(SHAPE, gsd, rng, 5.0, 15.0)
    bale = add_noise(add_disc(ground, (320, 256), 2.5, 34.0, gsd), rng)
    assert detect_hotspots(bale, gsd) == []
    cfg = DetectionConfig(anomaly_min_c=30.0)
    assert [d.kind for d in detect_hotspots(bale, gsd, config=cfg)] == [HotspotClass.ANOMALY]
    warm = add_noise(add_disc(ground, (320, 256), 2.5, 45.0, gsd), rng)
    assert [d.kind for d in detect_hotspots(warm, gsd)] == [HotspotClass.ANOMALY]


def test_no_detections_on_textured_background_noise() -> None:
    found = []
    for seed in range(60):
        rng = np.random.default_rng(1000 + seed)
        gsd = (0.05, 0.1, 0.2)[seed % 3]
        t = add_noise(background(SHAPE, gsd, rng, texture_c=rng.uniform(0.3, 2.0),
                                 corr_m=rng.uniform(0.3, 3.0)), rng)
        found += detect_hotspots(t, gsd)
    assert found == []


def test_saturated_fire_is_fire() -> None:
    rng = np.random.default_rng(31)
    gsd = 0.1
    t = add_disc(background(SHAPE, gsd, rng), (320.0, 240.0), 3.0, 500.0, gsd)
    t = np.minimum(t, 140.0)  # a camera clipping at 140 C
    (d,) = detect_hotspots(t, gsd)
    assert d.kind is HotspotClass.FIRE
    assert d.max_c == pytest.approx(140.0)
    assert d.area_m2 == pytest.approx(3.0, rel=0.2)


def test_fire_threshold_and_explicit_saturation() -> None:
    rng = np.random.default_rng(32)
    gsd = 0.1
    t = add_noise(add_disc(background(SHAPE, gsd, rng), (200.0, 200.0), 1.0, 300.0, gsd), rng)
    t = add_noise(add_disc(t, (450.0, 300.0), 1.0, 120.0, gsd), rng)
    kinds = {round(d.max_c): d.kind for d in detect_hotspots(t, gsd)}
    assert kinds == {300: HotspotClass.FIRE, 120: HotspotClass.EMBER}
    cfg = DetectionConfig(saturation_c=119.0)
    assert {d.kind for d in detect_hotspots(t, gsd, config=cfg)} == {HotspotClass.FIRE}


def test_min_area_filter() -> None:
    rng = np.random.default_rng(41)
    gsd = 0.05
    t = add_noise(add_disc(background(SHAPE, gsd, rng), (320.0, 256.0), 0.05, 90.0, gsd), rng)
    assert detect_hotspots(t, gsd) == []  # 0.05 m2 < default 0.1 m2
    (d,) = detect_hotspots(t, gsd, config=DetectionConfig(min_area_m2=0.02))
    assert d.kind is HotspotClass.EMBER and d.area_m2 == pytest.approx(0.05, rel=0.3)


def test_fragments_closer_than_merge_gap_are_one_object() -> None:
    rng = np.random.default_rng(51)
    gsd = 0.05
    t = background(SHAPE, gsd, rng)
    t = add_disc(t, (300.0, 250.0), 0.2, 90.0, gsd)
    t = add_noise(add_disc(t, (300.0 + 0.8 / gsd, 250.0), 0.2, 90.0, gsd), rng)  # 0.3 m gap
    (d,) = detect_hotspots(t, gsd)
    assert d.area_m2 == pytest.approx(0.4, rel=0.1)
    assert len(detect_hotspots(t, gsd, config=DetectionConfig(merge_gap_m=0.1))) == 2


def test_non_radiometric_gets_contextual_anomalies_only() -> None:
    rng = np.random.default_rng(61)
    gsd = 0.1
    t = add_disc(background(SHAPE, gsd, rng, 5.0, 15.0), (200.0, 200.0), 0.5, 90.0, gsd)
    t = add_noise(add_disc(t, (450.0, 300.0), 0.25, 33.0, gsd), rng)
    dets = detect_hotspots(t, gsd, radiometric=False)
    assert [d.kind for d in dets] == [HotspotClass.ANOMALY, HotspotClass.ANOMALY]
    assert not any(d.radiometric for d in dets)


def test_nan_pixels_and_frame_border() -> None:
    rng = np.random.default_rng(71)
    gsd = 0.1
    t = background(SHAPE, gsd, rng)
    t = add_disc(t, (100.0, 100.0), 0.5, 90.0, gsd)
    t = add_noise(add_disc(t, (637.0, 300.0), 0.5, 90.0, gsd), rng)  # cut by the right edge
    t[:, :98] = np.nan  # a mosaic's no-data edge cutting the first nest
    dets = detect_hotspots(t, gsd)
    assert len(dets) == 2
    assert all(d.touches_border for d in dets)
    assert all(d.kind is HotspotClass.EMBER for d in dets)


def test_records_are_frozen_and_config_validated() -> None:
    rng = np.random.default_rng(81)
    t = add_noise(add_disc(background(SHAPE, 0.1, rng), (320.0, 256.0), 0.5, 90.0, 0.1), rng)
    (d,) = detect_hotspots(t, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.max_c = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        DetectionConfig(fire_c=50.0)
    with pytest.raises(ValueError):
        detect_hotspots(t, 0.0)
