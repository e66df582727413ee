"""Fuzz: thousands of random mutations (bit flips, cut-offs, spliced garbage, zeroed
runs, stray headers) of real and synthetic logs. Nothing but DronepipeError may escape,
nothing but DronepipeWarning may be warned, and the vectorised record chains (DataFlash
and tlog) must equal the sequential walks. Windows of a few KB keep every parse fast."""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.flightlogs import read_telemetry_bytes, summarize
from dronepipe.flightlogs.dataflash_binary import DataFlashBinary, walk_sequential
from dronepipe.flightlogs.tlog import TlogStats, iter_tlog
from dronepipe.flightlogs.tlog_scan import scan_tlog
from tests.conftest import realdata_files
from tests.flightlogs import synth

SEED = 20240229
Mutation = Callable[[np.random.Generator, bytearray], bytearray]


def _flip(rng: np.random.Generator, b: bytearray) -> bytearray:
    for i in rng.integers(0, len(b), int(rng.integers(1, 24))):
        b[i] ^= 1 << int(rng.integers(0, 8))
    return b


def _cut(rng: np.random.Generator, b: bytearray) -> bytearray:
    return b[: int(rng.integers(0, len(b)))]


def _splice(rng: np.random.Generator, b: bytearray) -> bytearray:
    i = int(rng.integers(0, len(b) + 1))
    junk = rng.integers(0, 256, int(rng.integers(1, 600)), dtype=np.uint8).tobytes()
    return b[:i] + junk + b[i:]


def _zero(rng: np.random.Generator, b: bytearray) -> bytearray:
    i = int(rng.integers(0, len(b)))
    b[i:i + int(rng.integers(1, 2000))] = bytes(min(len(b) - i, 2000))[: len(b[i:i + 2000])]
    return b


def _headers(rng: np.random.Generator, b: bytearray) -> bytearray:
    for _ in range(int(rng.integers(1, 20))):
        i = int(rng.integers(0, len(b)))
        b[i:i] = bytes([0xA3, 0x95, int(rng.integers(0, 256))])
    return b


def _shuffle(rng: np.random.Generator, b: bytearray) -> bytearray:
    """Swap two chunks (records out of order, FMTs after their records)."""
    if len(b) < 100:
        return b
    i, j = sorted(rng.integers(0, len(b) - 50, 2).tolist())
    n = int(rng.integers(1, min(50, j - i + 1) + 1)) if j > i else 1
    b[i:i + n], b[j:j + n] = b[j:j + n], b[i:i + n]
    return b


MUTATIONS: tuple[Mutation, ...] = (_flip, _cut, _splice, _zero, _headers, _shuffle)


def _fmt_prefix(name: str, data: bytes) -> bytes:
    """The FMT records (or lines) of a log, so that a window from its middle decodes."""
    if name.endswith(".bin"):
        df = DataFlashBinary(np.frombuffer(data, dtype=np.uint8))
        pos = df.record_offsets[np.frombuffer(data, dtype=np.uint8)[df.record_offsets + 2] == 0x80]
        return b"".join(data[p:p + 89] for p in pos.tolist())
    if name.endswith(".log"):
        return b"".join(line + b"\n" for line in data.splitlines() if line.startswith(b"FMT,"))
    return b""


def _sources() -> list[tuple[str, bytes, bytes]]:
    srcs = [("synth.bin", synth.dataflash_flight()), ("synth.tlog", synth.tlog_flight(gimbal="gdas")),
            ("synth.log", synth.dataflash_flight(text=True)), ("synth1.tlog", synth.tlog_flight(mavlink1=True))]
    srcs += [(p.name, p.read_bytes()) for p in realdata_files("mavlink/*/*.bin") + realdata_files("mavlink/*/*.tlog")]
    return [(name, data, _fmt_prefix(name, data)) for name, data in srcs]


def _window(rng: np.random.Generator, name: str, data: bytes, prefix: bytes) -> bytearray:
    size = int(rng.integers(256, 16_000 if name.endswith(".bin") else 8_000))
    start = 0 if rng.random() < 0.2 else int(rng.integers(0, max(1, len(data) - size)))
    head = prefix if start and rng.random() < 0.8 else b""
    return bytearray(head + data[start:start + size])


def _exercise(name: str, data: bytes, rng: np.random.Generator) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            tel = read_telemetry_bytes(data, name)
        except DronepipeError:
            tel = None
        if tel is not None:
            summarize(tel).to_text()
            t = rng.uniform(tel.start_utc_s - 5, tel.end_utc_s + 5, 8) if np.isfinite(tel.start_utc_s) else [0.0]
            arr = tel.poses_at(t)
            for i in range(len(arr)):
                try:
                    arr.pose(i)
                except DronepipeError:
                    pass
    others = [w for w in caught if not issubclass(w.category, DronepipeWarning)]
    assert not others, f"{name}: {others[0].category.__name__}: {others[0].message}"
    arr8 = np.frombuffer(bytes(data), dtype=np.uint8)
    if name.endswith(".bin"):
        assert np.array_equal(DataFlashBinary(arr8).record_offsets, walk_sequential(arr8)[0])
    elif name.endswith(".tlog"):
        stats = TlogStats()
        frames = [m.get_msgbuf() for m, _ in iter_tlog(bytes(data), stats)]
        recs = scan_tlog(arr8)
        assert [bytes(data[q + 8:q + 8 + n]) for q, n in zip(recs.start.tolist(), recs.frame_len.tolist())] \
            == [bytes(f) for f in frames]
        assert (recs.bytes_skipped, recs.bad_crc) == (stats.bytes_skipped, stats.bad_crc)


@pytest.mark.timeout(120)
def test_fuzz_mutations_never_escape_as_anything_but_dronepipe_errors() -> None:
    rng = np.random.default_rng(SEED)
    sources = _sources()
    cases = 3000
    failures: list[str] = []
    for case in range(cases):
        name, data, prefix = sources[case % len(sources)]
        buf = _window(rng, name, data, prefix)
        for _ in range(int(rng.integers(1, 4))):
            if buf:
                buf = MUTATIONS[int(rng.integers(0, len(MUTATIONS)))](rng, buf)
        try:
            _exercise(name, bytes(buf), rng)
        except Exception:  # noqa: BLE001 - collect, report all at the end
            failures.append(f"case {case} ({name}, {len(buf)} bytes):\n{traceback.format_exc(limit=6)}")
            if len(failures) >= 5:
                break
    assert not failures, "\n".join(failures)
