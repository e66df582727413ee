"""Batch mosaics as dask graphs: threads, synchronous, processes and a dask.distributed
cluster give the same mosaic as feeding the frames one by one."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from dronepipe.stitching.batch import block_tiles_for, dask_scheduler, flight_order, plan_blocks
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.grid import PixelWindow, grid_for
from dronepipe.stitching.mosaic import Mosaic
from tests.stitching.synthetic import (
    FRAME,
    DictLoader,
    origin_en,
    pose_at,
    render,
    rgb,
    small_camera,
    waves,
)
from tests.stitching.test_mosaic import lawnmower


def whole(m: Mosaic) -> np.ndarray:
    return m.read_window(PixelWindow(0, 0, m.grid.height, m.grid.width))


@pytest.fixture(scope="module")
def flight() -> tuple[list, DictLoader, DictLoader]:
    gfs = lawnmower(18)
    e0, n0 = origin_en()
    pattern = waves(e0, n0)
    thermal = {gf.frame_id: render(gf, pattern) for gf in gfs}
    colour = {k: rgb(6.0 * (v - 15.0)) for k, v in thermal.items()}
    return gfs, DictLoader(thermal), DictLoader(colour)


def batch(kind: str, gfs: list, loader: Callable, scheduler: object,
          max_contributors: int | None = None) -> np.ndarray:
    from dataclasses import replace
    frames = [replace(gf, kind=kind) for gf in gfs]
    grid = grid_for(frames, tile=64)
    with Mosaic(grid, kind, cache_tiles=4, max_contributors=max_contributors) as m:
        m.feed_many(frames, loader, scheduler=scheduler, block_tiles=2)
        assert m.n_frames == len(frames)
        return whole(m)


def sequential(kind: str, gfs: list, loader: Callable) -> np.ndarray:
    from dataclasses import replace
    frames = [replace(gf, kind=kind) for gf in gfs]
    grid = grid_for(frames, tile=64)
    with Mosaic(grid, kind) as m:
        for gf in frames:
            m.feed(gf, loader(gf.frame_id))
        return whole(m)


@pytest.mark.parametrize("kind", ["thermal", "rgb"])
def test_threads_synchronous_and_sequential_feeding_agree(flight: tuple, kind: str) -> None:
    gfs, thermal, colour = flight
    loader = thermal if kind == "thermal" else colour
    ref = sequential(kind, gfs, loader)
    # exactly equal: every tile sums its frames in input order, whoever computes it
    assert np.array_equal(batch(kind, gfs, loader, "synchronous"), ref, equal_nan=True)
    assert np.array_equal(batch(kind, gfs, loader, "threads"), ref, equal_nan=True)
    covered = np.isfinite(ref[0]) if kind == "thermal" else ref[3] == 255
    assert covered.mean() > 0.9


def test_a_distributed_cluster_by_address_gives_the_threaded_result(flight: tuple) -> None:
    distributed = pytest.importorskip("distributed")
    gfs, thermal, _ = flight
    ref = batch("thermal", gfs, thermal, "threads")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        got = batch("thermal", gfs, thermal, cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            got_client = batch("thermal", gfs, thermal, client)
    assert np.array_equal(got, ref, equal_nan=True)
    assert np.array_equal(got_client, ref, equal_nan=True)


@dataclass(frozen=True)
class ElsewhereLoader:
    """Loads frames only in another process (proves the work left this one)."""

    inner: DictLoader
    parent_pid: int

    def __call__(self, frame_id: str) -> np.ndarray:
        if os.getpid() == self.parent_pid:
            raise AssertionError("a frame was loaded in the driver process")
        return self.inner(frame_id)


def test_processes_scheduler_with_a_picklable_loader(flight: tuple) -> None:
    gfs, thermal, _ = flight
    few = gfs[:4]
    ref = sequential("thermal", few, thermal)
    got = batch("thermal", few, ElsewhereLoader(thermal, os.getpid()), "processes")
    assert np.array_equal(got, ref, equal_nan=True)


@dataclass
class CountingLoader:
    inner: DictLoader
    calls: list[str] = field(default_factory=list)

    def __call__(self, frame_id: str) -> np.ndarray:
        self.calls.append(frame_id)
        return self.inner(frame_id)


def test_frames_load_lazily_once_per_block(flight: tuple) -> None:
    gfs, thermal, _ = flight
    grid = grid_for(gfs, tile=64)
    plan = plan_blocks(grid, gfs, block_tiles_for(grid, gfs))
    loads = sum(len(work) for work in plan)
    counter = CountingLoader(thermal)
    with Mosaic(grid, "thermal") as m:
        m.feed_many(gfs, counter, scheduler="synchronous")
    # a block loads only the frames its coverage plan draws, each once (no invalid pixels)
    assert len(counter.calls) <= loads and set(counter.calls) <= {gf.frame_id for gf in gfs}
    for work in plan:  # each block lists its frames in input order, each once
        ids = [gf.frame_id for gf, _ in work]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("kind", ["thermal", "rgb"])
def test_block_size_does_not_change_the_mosaic(flight: tuple, kind: str) -> None:
    from dataclasses import replace

    gfs, thermal, colour = flight
    frames = [replace(gf, kind=kind) for gf in gfs]
    grid = grid_for(frames, tile=64)
    got = []
    for tiles in (1, 2, 3, 5):
        with Mosaic(grid, kind, cache_tiles=4) as m:
            m.feed_many(frames, thermal if kind == "thermal" else colour, "threads",
                        block_tiles=tiles)
            got.append(whole(m))
    assert all(np.array_equal(g, got[0], equal_nan=True) for g in got[1:])


def north_lines(lines: int, per_line: int) -> list[GeoFrame]:
    """A lawn-mower flown along north, lines 12 m apart flown from the west, a frame
    every 5 m (a 44 x 35 m footprint: the overlaps of a thermal survey)."""
    out = []
    for i in range(lines * per_line):
        line, k = divmod(i, per_line)
        dn = 5.0 * (k if line % 2 == 0 else per_line - 1 - k)
        out.append(geoframe(f"f{i:03d}", pose_at(12.0 * line, dn, 60.0, t=1.7e9 + i),
                            small_camera(), FRAME))
    return out


def test_blocks_run_in_flight_order() -> None:
    """Lines along the grid's columns: the blocks run column by column from the west,
    as flown, each block's frames still in input order (row order would cross every
    line in every block row)."""
    gfs = north_lines(8, 12)
    grid = grid_for(gfs, tile=32)
    side = block_tiles_for(grid, gfs)
    plan = plan_blocks(grid, gfs, side)
    blocks = [min((t.row // side, t.col // side) for _, wins in work for t, _ in wins)
              for work in plan]
    assert side == 4 and len(blocks) == len(set(blocks)) == 12
    assert [col for _, col in blocks] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    position = {gf.frame_id: i for i, gf in enumerate(gfs)}
    medians = [np.median([position[gf.frame_id] for gf, _ in work]) for work in plan]
    assert medians == sorted(medians)
    for work in plan:
        ids = [gf.frame_id for gf, _ in work]
        assert ids == sorted(ids)
    back = flight_order(plan, gfs[::-1])  # the same lines flown from the east
    assert [min(t.col // side for _, wins in work for t, _ in wins) for work in back] == \
        [3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0]


def test_blocks_are_sized_from_the_footprints(flight: tuple) -> None:
    gfs = flight[0]
    side_m = np.median([max(g.bounds_m[2] - g.bounds_m[0], g.bounds_m[3] - g.bounds_m[1])
                        for g in gfs])
    for tile in (16, 32, 64, 512):
        grid = grid_for(gfs, tile=tile)
        want = min(4, max(2, int(np.ceil(side_m / (tile * grid.gsd_m)))))
        assert block_tiles_for(grid, gfs) == want
    assert block_tiles_for(grid_for(gfs, tile=64), []) == 2


def test_the_processes_pool_lives_for_the_whole_block(flight: tuple) -> None:
    import dask

    pids = []
    with dask_scheduler("processes") as (sched, workers):
        for _ in range(3):
            pids.extend(dask.compute(*[dask.delayed(os.getpid, pure=False)()
                                       for _ in range(2 * workers)], scheduler=sched))
    assert os.getpid() not in pids and len(set(pids)) <= workers


def test_unknown_scheduler_is_refused() -> None:
    with pytest.raises(ValueError, match="scheduler"), dask_scheduler("gpu"):
        pass


def test_each_frames_cover_is_made_once_and_is_the_drivers(flight: tuple,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks on four threads ask for the covers of shared frames at once: each is made
    once, equal to ``frame_cover`` over the frame's footprint window; pickled (to a
    worker process) the memo is that process's own for the same mosaic."""
    import pickle
    import threading
    import time

    from dronepipe.stitching import batch as batch_mod
    from dronepipe.stitching.batch import FrameCovers
    from dronepipe.stitching.coverage import frame_cover

    gfs = flight[0]
    grid = grid_for(gfs, tile=64)
    made: list[str] = []
    real = batch_mod.frame_cover

    def slow(gf: GeoFrame, *args: object) -> object:
        made.append(gf.frame_id)
        time.sleep(0.01)
        return real(gf, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_mod, "frame_cover", slow)
    covers = FrameCovers(grid)
    threads = [threading.Thread(target=lambda: [covers(gf) for gf in gfs]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == sorted(gf.frame_id for gf in gfs) and len(covers) == len(gfs)
    for gf in gfs[:3]:
        want = frame_cover(gf, grid, grid.window_of_bounds(gf.bounds_m))
        got = covers(gf)
        assert np.array_equal(got.lattice.nodes, want.lattice.nodes, equal_nan=True)
        assert np.array_equal(got.bounds.lower, want.bounds.lower)
    there = pickle.loads(pickle.dumps(covers))
    assert there is not covers and len(there) == 0 and there.token == covers.token
    assert pickle.loads(pickle.dumps(covers)) is there  # the process's memo of this mosaic


@pytest.mark.parametrize("name", ["threads", "synchronous"])
def test_a_local_scheduler_does_not_import_dask_distributed(name: str) -> None:
    """Given a scheduler's name, dask.compute imports dask.distributed to look for a
    client (0.2-0.35 s); the local schedulers are passed as functions, so it does not."""
    import subprocess
    import sys

    code = ("import sys, dask\n"
            "from dronepipe.stitching.batch import dask_scheduler\n"
            f"with dask_scheduler({name!r}) as (s, n):\n"
            "    got = dask.compute(dask.delayed(lambda: 41)(), dask.delayed(lambda: 1)(),"
            " scheduler=s)\n"
            "print(sum(got), n, 'distributed' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total, workers, imported = out.stdout.split()
    assert total == "42" and imported == "False"
    assert int(workers) == (1 if name == "synchronous" else (os.cpu_count() or 1))
