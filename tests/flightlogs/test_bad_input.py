"""Bad input: clear LogFormatError where nothing is usable, counted warnings otherwise."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import DronepipeWarning, LogFormatError
from dronepipe.flightlogs import read_telemetry, read_telemetry_bytes
from dronepipe.flightlogs.dataflash_writer import DataFlashWriter
from tests.flightlogs import oracle, synth


def test_empty_missing_folder_and_live_strings(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(LogFormatError, match="empty.bin: empty file"):
        read_telemetry(empty)
    with pytest.raises(LogFormatError, match="no such file"):
        read_telemetry(tmp_path / "nope.tlog")
    with pytest.raises(LogFormatError, match="a folder"):
        read_telemetry(tmp_path)
    with pytest.raises(LogFormatError, match="open_live"):
        read_telemetry("udpin:0.0.0.0:14550")


@pytest.mark.parametrize("content", [b"hello world\n" * 100, bytes(range(256)) * 40,
                                     b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(5000)],
                         ids=["text", "bytes", "jpeg"])
def test_not_a_log(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "flight.tlog"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match="flight.tlog: not a flight log"):
        read_telemetry(path)


def test_garbage_inside_a_dataflash_log_is_skipped_and_counted(tmp_path: Path) -> None:
    clean = synth.dataflash_flight()
    rng = np.random.default_rng(7)
    garbage = bytes(b for b in rng.integers(0, 256, 3000, dtype=np.uint8).tobytes() if b != 0xA3)[:2000]
    cut = clean.find(b"\xa3\x95", len(clean) // 2)
    path = tmp_path / "garbage.bin"
    path.write_bytes(clean[:cut] + garbage + clean[cut:])
    with pytest.warns(DronepipeWarning, match=r"skipped 2000 of \d+ bytes in 1 places"):
        tel = read_telemetry(path)
    counts, _ = oracle.dataflash_messages(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        clean_counts = dict(read_telemetry_bytes(clean, "c.bin").messages)
    assert dict(tel.messages) == dict(counts) == clean_counts


def test_unknown_record_types_are_skipped(tmp_path: Path) -> None:
    clean = synth.dataflash_flight()
    cut = clean.find(b"\xa3\x95", len(clean) // 3)
    data = clean[:cut] + b"\xa3\x95\xf0" + bytes(40) + clean[cut:]
    with pytest.warns(DronepipeWarning, match="1 messages of unknown type"):
        tel = read_telemetry_bytes(data, "u.bin")
    assert tel.stats.bytes_skipped == 43 and tel.stats.unknown_messages == 1


def test_truncated_logs_keep_what_is_there() -> None:
    clean = synth.dataflash_flight()
    with pytest.warns(DronepipeWarning, match="1 message cut off at the end"):
        tel = read_telemetry_bytes(clean[: len(clean) * 2 // 3 + 5], "cut.bin")
    assert tel.stats.truncated_records == 1 and len(tel.attitude) > 300
    tlog = synth.tlog_flight()
    with pytest.warns(DronepipeWarning, match="cut off"):
        tel = read_telemetry_bytes(tlog[: len(tlog) // 2 + 3], "cut.tlog")
    assert len(tel.attitude) > 150


def _gps_only(status: int, with_att: bool) -> bytes:
    buf = io.BytesIO()
    with DataFlashWriter(buf) as w:
        for k in range(20):
            w.write("GPS", TimeUS=k * 200_000, Status=status, GWk=0, GMS=0, Lat=0.0, Lng=0.0)
            if with_att:
                w.write("ATT", TimeUS=k * 200_000, Roll=1.0, Pitch=2.0, Yaw=3.0)
    return buf.getvalue()


def test_no_gps_fix_at_all() -> None:
    with pytest.warns(DronepipeWarning) as caught:
        tel = read_telemetry_bytes(_gps_only(1, with_att=True), "nofix.bin")
    text = " ".join(str(w.message) for w in caught)
    assert "20 positions without a 3D GPS fix dropped" in text and "no GPS time" in text
    assert len(tel.position) == 0 and len(tel.attitude) == 20 and tel.time_source == "boot"
    with pytest.raises(LogFormatError, match=r"nofix.bin: nothing usable .* 20 positions without a 3D GPS fix"):
        read_telemetry_bytes(_gps_only(1, with_att=False), "nofix.bin")


def test_only_format_records_is_nothing_usable() -> None:
    buf = io.BytesIO()
    with DataFlashWriter(buf) as w:
        w.format_of("GPS")
        w.format_of("ATT")
    with pytest.raises(LogFormatError, match="nothing usable"):
        read_telemetry_bytes(buf.getvalue(), "fmt.bin")


def test_tlog_of_heartbeats_only_is_nothing_usable() -> None:
    from dronepipe.flightlogs.tlog_writer import TlogWriter
    buf = io.BytesIO()
    w = TlogWriter(buf)
    for i in range(10):
        w.write(w.mav.heartbeat_encode(2, 3, 0, 0, 4), 1.7e9 + i)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(LogFormatError, match="10 messages read"):
            read_telemetry_bytes(buf.getvalue(), "hb.tlog")
