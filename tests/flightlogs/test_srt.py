"""DJI SRT telemetry: every real layout parses, lat/lon the right way round, times from the stamps."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dronepipe.errors import DronepipeWarning, LogFormatError, NoPoseError
from dronepipe.flightlogs.srt import parse_srt_entries, read_srt

SRT = Path("video/dji_srt")


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# file: (entries, lat, lon, order, rule, first stamp or None) -- values as printed in the files
REAL = {
    "mavic_pro.SRT": (468, -20.2533, 149.0251, "lonlat", "certain", "2017-08-05 14:11:51"),
    "mavic_mini.SRT": (117, 48.0771, -121.7458, "lonlat", "certain", None),
    "matrice_300.srt": (381, 36.6146, -6.1120, "latlon", "layout", "2022-06-21 16:06:17"),
    "webodm_video.srt": (3, 27.7716, -82.6669, "lonlat", "UTM latitudes", None),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_layouts(realdata: Path, name: str) -> None:
    n, lat0, lon0, order, rule, stamp = REAL[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)  # the layout rule warns
        srt = read_srt(realdata / SRT / name)
    pos = srt.telemetry.position
    assert srt.entries == n and srt.skipped == 0 and len(pos) == n
    assert srt.latlon_order == order and rule in srt.order_how
    # the first sample lies where the file says (smoothing of 4-decimal positions moves it < 1e-3 deg)
    assert pos.lat_deg[0] == pytest.approx(lat0, abs=1e-3) and pos.lon_deg[0] == pytest.approx(lon0, abs=1e-3)
    assert np.all(np.abs(pos.lat_deg - lat0) < 0.01) and np.all(np.abs(pos.lon_deg - lon0) < 0.01)
    assert np.all(np.diff(pos.t_utc_s) > 0)
    if stamp is None:
        assert srt.telemetry.time_source == "video" and pos.t_utc_s[0] == 0.0
    else:
        assert srt.telemetry.time_source == "camera"
        first = parse_srt_entries((realdata / SRT / name).read_text())[0].start_s
        assert srt.video_start_s + first == pytest.approx(_utc(stamp), abs=1.0)


def test_heights_and_satellites(realdata: Path) -> None:
    pro = read_srt(realdata / SRT / "mavic_pro.SRT").telemetry.position
    assert np.nanmax(pro.alt_rel_m) == pytest.approx(118.65, abs=0.1)  # BAROMETER, as DJI_SRT_Parser reads it
    assert set(np.unique(pro.satellites)) <= set(range(5, 25))       # GPS(lon, lat, 16): 16 satellites
    assert np.all(np.isnan(pro.alt_msl_m))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DronepipeWarning)
        m300 = read_srt(realdata / SRT / "matrice_300.srt").telemetry.position
    assert np.nanmax(m300.alt_rel_m) > 80 and np.all(np.isnan(m300.alt_msl_m))  # "0.0M": no altitude
    mini = read_srt(realdata / SRT / "mavic_mini.SRT").telemetry.position
    assert mini.alt_rel_m[0] == pytest.approx(200.7)  # "H 200.70m"


def test_no_attitude_means_no_pose_unless_nadir_is_assumed(realdata: Path) -> None:
    plain = read_srt(realdata / SRT / "mavic_pro.SRT")
    t = float(plain.telemetry.position.t_utc_s[200])
    with pytest.raises(NoPoseError, match="no attitude"):
        plain.telemetry.pose_at(t)
    nadir = read_srt(realdata / SRT / "mavic_pro.SRT", assume_nadir=True)
    assert "ASSUMED" in nadir.telemetry.attitude.source
    pose = nadir.telemetry.pose_at(t)
    assert pose.gimbal_pitch_rad == pytest.approx(-math.pi / 2)


NEW_LAYOUT = """1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
2024-08-07 12:34:24.380
[iso: 100] [shutter: 1/3200.0] [fnum: 1.7] [ev: 0] [color_md: default] [focal_len: 24.00] [latitude: 49.444700] [longitude: 7.768900] [rel_alt: 80.100 abs_alt: 315.200] [gb_yaw: 20.1 gb_pitch: -90.0 gb_roll: 0.0] [ct: 5310] </font>

2
00:00:00,033 --> 00:00:00,066
<font size="28">FrameCnt: 2, DiffTime: 33ms
2024-08-07 12:34:24.413
[iso: 100] [latitude: 49.444710] [longitude: 7.768910] [rel_alt: 80.200 abs_alt: 315.300] [gb_yaw: 20.3 gb_pitch: -89.9 gb_roll: 0.1] </font>

3
00:00:00,066 --> 00:00:00,100
<font size="28">FrameCnt: 3, DiffTime: 33ms
2024-08-07 12:34:24.446
[iso: 100] [latitude: 0.000000] [longitude: 0.000000] [rel_alt: 0.000 abs_alt: 0.000] </font>
"""

P4RTK = """36
00:00:35,000 --> 00:00:36,000
F/6.3, SS 60, ISO 100, EV 0, RTK (120.083799, 30.213635, 28), HOME (120.084146, 30.214243, 103.55m), D 75.36m, H 76.19m, H.S 0.30m/s, V.S 0.00m/s, F.PRY (-5.3°, 2.1°, 28.3°), G.PRY (-40.0°, 0.0°, 28.2°)

37
00:00:36,000 --> 00:00:37,000
F/6.3, SS 60, ISO 100, EV 0, RTK (120.083899, 30.213735, 28), HOME (120.084146, 30.214243, 103.55m), D 75.36m, H 76.29m, H.S 0.30m/s, V.S 0.00m/s, F.PRY (-5.1°, 2.0°, 28.5°), G.PRY (-40.0°, 0.0°, 28.4°)
"""


def test_named_layout_with_gimbal_and_a_zero_fix(tmp_path: Path) -> None:
    path = tmp_path / "DJI_0001.SRT"
    path.write_text(NEW_LAYOUT, encoding="utf-8")
    with pytest.warns(DronepipeWarning, match="1 of 3 subtitle entries have no position"):
        srt = read_srt(path, utc_offset_s=7200.0)
    tel = srt.telemetry
    assert srt.order_how == "named fields" and len(tel.position) == 2
    assert tel.position.alt_rel_m[1] == 80.2 and tel.position.alt_msl_m[0] == 315.2
    assert srt.video_start_s == pytest.approx(_utc("2024-08-07 10:34:24.380"), abs=1e-3)
    pose = tel.pose_at(srt.video_start_s + 0.033)
    assert math.degrees(pose.gimbal_yaw_rad) == pytest.approx(20.3) and math.degrees(pose.gimbal_pitch_rad) == pytest.approx(-89.9)
    assert "ASSUMED" in tel.attitude.source  # vehicle attitude not in this layout


def test_p4rtk_layout_flight_and_gimbal_angles(tmp_path: Path) -> None:
    path = tmp_path / "p4rtk.SRT"
    path.write_text(P4RTK, encoding="utf-8")
    srt = read_srt(path, video_start_s=1_700_000_000.0)
    tel = srt.telemetry
    assert srt.latlon_order == "lonlat" and "certain" in srt.order_how
    assert tel.position.lat_deg[0] == pytest.approx(30.213635) and tel.position.alt_rel_m[0] == 76.19
    assert tel.position.t_utc_s[0] == 1_700_000_035.0
    assert math.degrees(tel.attitude.yaw_rad[0]) == pytest.approx(28.3)
    assert math.degrees(tel.attitude.pitch_rad[0]) == pytest.approx(-5.3)
    assert math.degrees(tel.gimbal.pitch_rad[1]) == pytest.approx(-40.0)


def test_ambiguous_order_decided_by_a_reference_point(tmp_path: Path) -> None:
    path = tmp_path / "m300.srt"
    text = "".join(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n2022.06.21 16:06:{17 + i:02d}\n"
                   f"GPS(36.6146,-6.{1120 + i},0.0M) BAROMETER:30.0M\n\n" for i in range(5))
    path.write_text(text, encoding="utf-8")
    near_cadiz = read_srt(path, near_lonlat=(-6.1, 36.6))
    assert near_cadiz.latlon_order == "latlon" and "reference" in near_cadiz.order_how
    near_tanzania = read_srt(path, near_lonlat=(36.6, -6.1))
    assert near_tanzania.telemetry.position.lat_deg[0] == pytest.approx(-6.1120, abs=1e-3)
    forced = read_srt(path, latlon_order="latlon")
    assert forced.order_how == "given"


def test_not_telemetry(tmp_path: Path) -> None:
    path = tmp_path / "film.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello there\n", encoding="utf-8")
    with pytest.raises(LogFormatError, match="film.srt: no positions"):
        read_srt(path)
