"""Detection on real radiometric frames (../shared/realdata/thermal; skipped where absent).

What the frames hold, as decoded: the DJI H20T nadir rooftop (DJI_0001_R) is a sunny
roof at 40-56 C with HVAC units: nothing reaches the ember threshold, so no fire or
ember nest may be reported there; the DJI XT2 (FLIR core) industrial scene has hot
pipes and openings at 59-83 C, which are ember-class regions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import MissingDependencyError
from dronepipe.thermal import TemperatureImage, decode_thermal
from dronepipe.thermal.detect import detect_hotspots
from dronepipe.thermal.hotspot import HotspotClass
from tests.conftest import realdata_files


def _decode(path: Path) -> TemperatureImage:
    try:
        return decode_thermal(path)
    except MissingDependencyError as exc:
        pytest.skip(f"decoder not installed: {exc}")


@pytest.mark.parametrize("path", realdata_files("thermal/**/*.[jJ][pP][gG]"), ids=lambda p: p.name)
def test_detections_are_consistent_with_the_pixels(path: Path) -> None:
    img = _decode(path)
    t = img.celsius
    for d in detect_hotspots(t, 0.05, img.radiometric):
        assert d.area_m2 >= 0.1
        assert np.nanmin(t) <= d.mean_c <= d.max_c <= np.nanmax(t) + 1e-3
        u, v = d.centroid_px
        assert 0 <= u < t.shape[1] and 0 <= v < t.shape[0]
        if d.kind.is_heat:
            assert d.max_c >= 58.0


def test_sunny_rooftop_has_no_fire_or_ember(realdata: Path) -> None:
    path = realdata / "thermal" / "dji_rjpeg" / "H20T" / "DJI_0001_R.JPG"
    if not path.is_file():
        pytest.skip("H20T rooftop frame absent")
    img = _decode(path)
    assert 50.0 < float(np.nanmax(img.celsius)) < 58.0
    dets = detect_hotspots(img.celsius, 0.05, img.radiometric)
    assert not any(d.kind.is_heat for d in dets)
    assert len(dets) <= 2


def test_industrial_scene_hot_pipes_are_ember_class(realdata: Path) -> None:
    path = realdata / "thermal" / "flir_rjpeg" / "DJI_XT2.jpg"
    if not path.is_file():
        pytest.skip("XT2 frame absent")
    img = _decode(path)
    dets = detect_hotspots(img.celsius, 0.05, img.radiometric)
    embers = [d for d in dets if d.kind is HotspotClass.EMBER]
    assert len(embers) >= 3
    assert max(d.max_c for d in embers) == pytest.approx(73.4, abs=1.0)
