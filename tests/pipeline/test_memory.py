"""Memory bounds of ``process`` change how often a frame is decoded, never a product:
the same flight with no frame cache, a few frames' worth (thermal frames held as their
counts, or as degrees C; with the frames it drops kept on disk, or decoded again) and
one holding every frame (and with few or many mosaic tiles in memory), with hotspots detected as registration loads the frames or only in the
hotspot stage, gives identical hotspots, mosaics and ``process.json`` apart from timings
and the two options themselves."""

from __future__ import annotations

import functools
import importlib
import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import rasterio

from dronepipe.pipeline import ProcessConfig, ProcessResult, process
from dronepipe.pipeline.framecache import FrameCache
from dronepipe.pipeline.hotspots import EarlyDetections
from dronepipe.pipeline.products import json_ready
from dronepipe.sim import HotspotCounts, SimConfig, simulate
from dronepipe.sim.config import default_rgb

process_module = importlib.import_module("dronepipe.pipeline.process")
loader_module = importlib.import_module("dronepipe.pipeline.loader")
THERMAL_MB = 640 * 512 * 4 / 2**20
# name: (frame cache MB, mosaic tiles in memory, MB of early detections, frames cached as
# their 16-bit counts: 2 bytes a pixel, so "three frames" of degrees C hold six; frames
# the cache drops kept on disk)
SIZES = {"none": (0.0, 1, 0, True, False), "three frames": (3.2 * THERMAL_MB, 4, 16, True, False),
         "three frames of degrees C": (3.2 * THERMAL_MB, 4, 16, False, False),
         "three frames, the rest on disk": (3.2 * THERMAL_MB, 4, 16, True, True),
         "all": (1024.0, 256, 16, True, True)}
OPENCV_DEFAULT = "all, OpenCV's own threads"  # SIZES["all"] with opencv_threads None
OTHERS = ["none", "three frames", "three frames of degrees C", "three frames, the rest on disk",
          OPENCV_DEFAULT]


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SimConfig(seed=41, frames=12, height_m=60.0, rgb=default_rgb(640, 480), video_s=0.0,
                    truth_cell_m=0.1, hotspots=HotspotCounts(1, 2, 1, 1))
    return Path(simulate(cfg, tmp_path_factory.mktemp("flight")).out_dir)


@pytest.fixture(scope="module")
def runs(flight: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, tuple[ProcessResult, Counter[str]]]:
    """``process`` with each cache size (frames of any size kept: ``min_frames`` 1), and
    how often each thermal file was decoded; on one thread, so that the counts do not
    depend on how two threads interleave their loads (on two, a three-frame cache once
    decoded as often as none: 30 and 30). Threads against one thread: ``test_batch``,
    ``test_process``."""
    out: dict[str, tuple[ProcessResult, Counter[str]]] = {}
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(process_module, "FrameCache", functools.partial(FrameCache, min_frames=1))
        real = loader_module.decode_thermal
        for name, (mb, tiles, early_mb, packed, spill) in SIZES.items():
            mp.setattr(process_module, "EarlyDetections",
                       functools.partial(EarlyDetections, max_bytes=early_mb * 2**20))
            mp.setattr(loader_module, "pack", loader_module.pack if packed else
                       lambda image: replace(image, linear=None))
            decodes: Counter[str] = Counter()

            def counting(path: Path, *args: Any, _real: Any = real,
                         _seen: Counter[str] = decodes, **kwargs: Any) -> Any:
                _seen[Path(path).name] += 1
                return _real(path, *args, **kwargs)

            mp.setattr(loader_module, "decode_thermal", counting)
            cfg = ProcessConfig(flight, tmp_path_factory.mktemp(name.replace(" ", "_")),
                                frame_cache_mb=mb, cache_tiles=tiles, spill_frames=spill,
                                scheduler="synchronous")
            out[name] = (process(cfg), decodes)
    finally:
        mp.undo()
    threads = cv2.getNumThreads()
    cfg = replace(cfg, out_dir=tmp_path_factory.mktemp("opencv"), opencv_threads=None)
    out[OPENCV_DEFAULT] = (process(cfg), Counter())
    assert cv2.getNumThreads() == threads  # each run put OpenCV's setting back
    return out


def test_a_cache_holding_the_flight_decodes_each_thermal_frame_once(runs) -> None:
    result, decodes = runs["all"]
    assert result.n_placed == 24 and len(decodes) == 12
    assert set(decodes.values()) == {1}
    assert sum(runs["none"][1].values()) > sum(runs["three frames"][1].values()) > 12
    assert max(runs["three frames"][1].values()) > 1  # the small cache did drop frames
    # the same megabytes hold twice the frames as counts
    assert sum(runs["three frames of degrees C"][1].values()) > \
        sum(runs["three frames"][1].values())
    # with the frames it drops on disk, the small cache decodes each frame once too
    result, decodes = runs["three frames, the rest on disk"]
    assert len(decodes) == 12 and set(decodes.values()) == {1}
    cache = json.loads(result.provenance.read_text())["frame_cache"]
    assert cache["restored"] > 0 and cache["spilled"] > 0


@pytest.mark.parametrize("name", OTHERS)
def test_hotspots_are_identical_whatever_the_cache(runs, name: str) -> None:
    ref, got = runs["all"][0], runs[name][0]
    assert len(ref.hotspots) >= 2
    assert [json_ready(asdict(h)) for h in got.hotspots] == \
        [json_ready(asdict(h)) for h in ref.hotspots]
    for file in ("hotspots.csv", "hotspots.geojson"):
        assert (got.out_dir / file).read_bytes() == (ref.out_dir / file).read_bytes(), file


@pytest.mark.parametrize("name", OTHERS)
def test_mosaics_are_identical_whatever_the_cache(runs, name: str) -> None:
    ref, got = runs["all"][0], runs[name][0]
    assert set(got.mosaics) == set(ref.mosaics) == {"thermal", "rgb"}
    for kind in ref.mosaics:
        with rasterio.open(ref.mosaics[kind].path) as a, rasterio.open(got.mosaics[kind].path) as b:
            assert repr(a.profile) == repr(b.profile) and a.tags() == b.tags()  # nodata NaN
            assert np.array_equal(a.read(), b.read(), equal_nan=True), kind


@pytest.mark.parametrize("name", OTHERS)
def test_process_json_is_identical_apart_from_timings_and_cache_options(runs, name: str) -> None:
    def comparable(result: ProcessResult) -> dict[str, Any]:
        text = result.provenance.read_text().replace(str(result.out_dir), "OUT")
        doc = json.loads(text)
        del doc["timings_s"]
        del doc["frame_cache"]  # how the frames were loaded
        for report in doc["registration"].values():
            for key in ("extract_s", "match_s", "solve_s"):  # timings too
                del report[key]
        for key in ("frame_cache_mb", "cache_tiles", "opencv_threads", "spill_frames"):
            del doc["options"][key]
        return doc

    assert comparable(runs[name][0]) == comparable(runs["all"][0])
