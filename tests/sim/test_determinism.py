"""The same seed and options give byte-identical files; another seed does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dronepipe.sim import simulate
from dronepipe.sim.config import default_rgb
from tests.sim.conftest import tiny_config


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    cfg = tiny_config(frames=3, rgb=default_rgb(320, 240), video_s=0.3, tiff_compression="lzma",
                      terrain=True)
    other = tiny_config(frames=3, rgb=default_rgb(320, 240), video_s=0.3, tiff_compression="lzma",
                        terrain=True, seed=99)
    out = []
    for c in (cfg, cfg, other):
        d = tmp_path_factory.mktemp("det")
        simulate(c, d)
        out.append(_hashes(d))
    return out


def test_two_runs_are_byte_identical(runs: list[dict[str, str]]) -> None:
    a, b, _ = runs
    assert a.keys() == b.keys()
    assert {"flight.tlog", "flight.bin", "cameras.toml", "video/thermal.avi", "truth/dem.tif",
            "thermal/TH_0001.tiff", "rgb/RGB_0003.jpg", "truth/temperature.tif"} <= a.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert not any(k.endswith(".tmp") or ".tmp." in k for k in a)


def test_another_seed_gives_another_flight(runs: list[dict[str, str]]) -> None:
    a, _, c = runs
    assert a["thermal/TH_0001.tiff"] != c["thermal/TH_0001.tiff"]
    assert a["flight.tlog"] != c["flight.tlog"]
