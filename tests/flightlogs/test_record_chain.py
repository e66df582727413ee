"""The vectorised building blocks: chain reachability (both algorithms), the MAVLink
checksum over many frames, header search."""

from __future__ import annotations

import numpy as np
import pytest

from dronepipe.flightlogs import record_chain
from dronepipe.flightlogs.dataflash_binary import find_headers
from dronepipe.flightlogs.mavlink_dialect import dialect
from dronepipe.flightlogs.record_chain import reachable
from dronepipe.flightlogs.tlog import iter_tlog
from dronepipe.flightlogs.tlog_scan import scan_tlog, x25_many
from tests.conftest import realdata_files


def _walk(succ: np.ndarray) -> np.ndarray:
    on, i, m = np.zeros(succ.size - 1, dtype=bool), 0, succ.size - 1
    while i < m:
        on[i] = True
        i = succ[i]
    return on


@pytest.mark.parametrize("passes", [24, 0])
def test_reachable_equals_a_plain_walk(monkeypatch: pytest.MonkeyPatch, passes: int) -> None:
    monkeypatch.setattr(record_chain, "_FIXPOINT_PASSES", passes)  # 0: pointer doubling only
    rng = np.random.default_rng(3)
    for _ in range(200):
        m = int(rng.integers(1, 300))
        succ = np.minimum(np.arange(m) + rng.integers(1, 6, m), m)
        succ = np.append(succ, m)
        assert np.array_equal(reachable(succ), _walk(succ))


def test_long_false_chains_fall_back_to_doubling() -> None:
    # two interleaved chains of 100 nodes: the odd one never merges, needs 100 passes
    m = 200
    succ = np.minimum(np.arange(m) + 2, m)
    assert np.array_equal(reachable(np.append(succ, m)), np.arange(m) % 2 == 0)


def test_x25_many_equals_pymavlink() -> None:
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, 5000, dtype=np.uint8)
    start = rng.integers(0, 4700, 300)
    length = rng.integers(1, 280, 300)
    extra = rng.integers(0, 256, 300)
    ours = x25_many(data, start, length, extra)
    for s, n, e, c in zip(start, length, extra, ours):
        buf = bytearray(data[s:s + n].tobytes()) + bytes([e])
        assert dialect().x25crc(buf).crc == c


def test_find_headers_across_chunk_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    from dronepipe.flightlogs import dataflash_binary
    monkeypatch.setattr(dataflash_binary, "_CHUNK", 7)
    data = np.frombuffer(b"\xa3\x95\x01xx\xa3\xa3\x95\x02\xa3\x95", dtype=np.uint8)
    assert find_headers(data).tolist() == [0, 6]


@pytest.mark.parametrize("path", realdata_files("mavlink/*/*.tlog"), ids=lambda p: p.name)
def test_vectorised_tlog_framing_equals_the_sequential_walk(path) -> None:  # type: ignore[no-untyped-def]
    data = path.read_bytes()
    recs = scan_tlog(np.frombuffer(data, dtype=np.uint8))
    frames = [bytes(m.get_msgbuf()) for m, _ in iter_tlog(data)]
    assert [data[s + 8:s + 8 + n] for s, n in zip(recs.start.tolist(), recs.frame_len.tolist())] == frames


def _pymavlink_fields(msg) -> dict:  # type: ignore[no-untyped-def]
    return {k: getattr(msg, "_" + k + "_raw", getattr(msg, k)) for k in msg.ordered_fieldnames}


@pytest.mark.parametrize("kind", ["synthetic", "real"])
def test_columnar_decoding_equals_pymavlink(kind: str) -> None:
    from dronepipe.flightlogs.mavlink_collect import MavlinkCollector
    from dronepipe.flightlogs.tlog_decode import decode_frames, payload_dtype
    from tests.flightlogs import synth
    if kind == "synthetic":
        blobs = [synth.tlog_flight(gimbal="gdas"), synth.tlog_flight(mavlink1=True)]
    else:
        blobs = [p.read_bytes() for p in realdata_files("mavlink/*/*.tlog")]
        if not blobs:
            pytest.skip("no real tlogs here")
    used = MavlinkCollector.used_types()
    checked = set()
    for data in blobs:
        arr = np.frombuffer(data, dtype=np.uint8)
        recs = scan_tlog(arr)
        mav = dialect().MAVLink(None)
        for msgid, name in recs.names.items():
            sel = np.flatnonzero(recs.msgid == msgid)
            if name not in used or not sel.size:
                continue
            msgtype = dialect().mavlink_map[msgid]
            ours = decode_frames(arr, recs.start[sel] + 8, msgtype, payload_dtype(msgtype))
            for m, s, n in zip(ours, recs.start[sel].tolist(), recs.frame_len[sel].tolist()):
                ref = mav.decode(bytearray(data[s + 8:s + 8 + n]))
                assert {k: getattr(m, k) for k in ref.ordered_fieldnames} == _pymavlink_fields(ref)
                assert (m.get_type(), m.get_srcSystem(), m.get_srcComponent()) == \
                    (ref.get_type(), ref.get_srcSystem(), ref.get_srcComponent())
            checked.add(name)
    assert {"ATTITUDE", "GLOBAL_POSITION_INT", "GPS_RAW_INT", "HEARTBEAT"} <= checked
