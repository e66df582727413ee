"""The real logs in ../shared/realdata/mavlink against pymavlink: same message counts,
same position and attitude values, plausible UTC start times."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import DronepipeWarning
from dronepipe.flightlogs import read_telemetry
from dronepipe.flightlogs.dataflash_binary import DataFlashBinary, walk_sequential
from tests.conftest import realdata_files
from tests.flightlogs import oracle

BINS = realdata_files("mavlink/*/*.bin")
TLOGS = realdata_files("mavlink/*/*.tlog")
ALL = BINS + TLOGS

# UTC start (to the minute) and firmware banner, read off the logs' own GPS/SYSTEM_TIME
# clocks; SOURCES.md dates the flights 2013 and 2021, log171 is from November 2015.
EXPECTED = {
    "log171.bin": ("2015-11-21T23:43", "APM:Copter V3.3-dev (ae3192b8)"),
    "2021-12-08_15-42-00.bin": ("2021-12-08T18:41", "ArduCopter V4.1.1 (01d1aa1e)"),
    "2021-12-08-14-59-44.tlog": ("2021-12-08T17:59", "ArduCopter V4.1.1 (01d1aa1e)"),
    "2013-10-13_16-58-51.tlog": ("2013-10-13T21:59", "ArduPilot"),
}


def _read(path: Path):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        return read_telemetry(path)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_message_counts_equal_pymavlink(path: Path) -> None:
    read = oracle.tlog_messages if path.suffix == ".tlog" else oracle.dataflash_messages
    expected, _ = read(str(path))
    assert dict(_read(path).messages) == dict(expected)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_start_time_and_firmware(path: Path) -> None:
    tel = _read(path)
    start = datetime.fromtimestamp(tel.start_utc_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M")
    assert (start, tel.firmware) == EXPECTED[path.name]
    assert tel.stats.bytes_skipped == 0
    assert len(tel.position) > 100 and len(tel.attitude) > 100


@pytest.mark.parametrize("path", BINS, ids=lambda p: p.name)
def test_vectorised_chain_equals_sequential_walk(path: Path) -> None:
    data = np.fromfile(path, dtype=np.uint8)
    offsets, truncated = walk_sequential(data)
    assert np.array_equal(DataFlashBinary(data).record_offsets, offsets)
    assert truncated == -1


@pytest.mark.parametrize("path", BINS, ids=lambda p: p.name)
def test_dataflash_values_equal_pymavlink(path: Path) -> None:
    _, records = oracle.dataflash_messages(str(path))
    df = DataFlashBinary(np.fromfile(path, dtype=np.uint8))
    for name in ("GPS", "POS", "ATT"):
        if name not in records:
            continue
        table = df.table(name)
        assert table is not None
        for col, ours in table.columns.items():
            theirs = np.array([r[col] for r in records[name]])
            assert np.array_equal(ours, theirs, equal_nan=True), f"{name}.{col}"


@pytest.mark.parametrize("path", BINS, ids=lambda p: p.name)
def test_dataflash_tracks_hold_pymavlink_values(path: Path) -> None:
    _, records = oracle.dataflash_messages(str(path))
    tel = _read(path)
    src = tel.position.source
    rows = [r for r in records[src] if r.get("I", 0) == 0]
    theirs = {(r["Lat"], r["Lng"], r["Alt"]) for r in rows}
    ours = set(zip(tel.position.lat_deg.tolist(), tel.position.lon_deg.tolist(),
                   tel.position.alt_msl_m.tolist()))
    assert ours <= theirs and len(ours) >= 0.8 * len(theirs)
    att = records["ATT"]
    assert np.array_equal(np.sort(tel.attitude.roll_rad), np.sort(np.radians([r["Roll"] for r in att])))
    assert np.array_equal(np.sort(tel.attitude.yaw_rad), np.sort(np.radians([r["Yaw"] for r in att])))


@pytest.mark.parametrize("path", TLOGS, ids=lambda p: p.name)
def test_tlog_tracks_equal_message_fields(path: Path) -> None:
    _, records = oracle.tlog_messages(str(path))
    tel = _read(path)
    gpi = [r for r in records["GLOBAL_POSITION_INT"] if r["lat"] or r["lon"]]
    assert tel.position.source == "GLOBAL_POSITION_INT"
    order = np.argsort([r["time_boot_ms"] for r in gpi], kind="stable")
    assert np.array_equal(tel.position.lat_deg, np.array([gpi[i]["lat"] for i in order]) / 1e7)
    assert np.array_equal(tel.position.lon_deg, np.array([gpi[i]["lon"] for i in order]) / 1e7)
    assert np.array_equal(tel.position.alt_rel_m, np.array([gpi[i]["relative_alt"] for i in order]) / 1e3)
    att = records["ATTITUDE"]
    order = np.argsort([r["time_boot_ms"] for r in att], kind="stable")
    assert np.array_equal(tel.attitude.yaw_rad, np.array([att[i]["yaw"] for i in order]))
    assert np.array_equal(tel.attitude.pitch_rad, np.array([att[i]["pitch"] for i in order]))


@pytest.mark.parametrize("path", TLOGS, ids=lambda p: p.name)
def test_tlog_utc_from_system_time_where_present(path: Path) -> None:
    _, records = oracle.tlog_messages(str(path))
    tel = _read(path)
    st = [r for r in records.get("SYSTEM_TIME", []) if r["time_unix_usec"]]
    if not st:
        assert tel.time_source == "ground_station"
        return
    assert tel.time_source == "autopilot"
    att = records["ATTITUDE"][len(records["ATTITUDE"]) // 2]
    offset = np.median([r["time_unix_usec"] / 1e6 - r["time_boot_ms"] / 1e3 for r in st])
    t = att["time_boot_ms"] / 1e3 + offset
    i = int(np.searchsorted(tel.attitude.t_utc_s, t))
    assert tel.attitude.t_utc_s[i] == pytest.approx(t, abs=1e-6)
    assert tel.attitude.yaw_rad[i] == att["yaw"]
