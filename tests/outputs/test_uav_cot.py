"""The drone's CoT event: type, how, times, unknown height, course and remarks."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from dronepipe.outputs.uav_cot import UAV_TYPE, UavPosition, uav_cot_event

T0 = 1_714_557_600.0  # 2024-05-01T10:00:00Z


def test_uav_event_is_cot_2_with_track_and_unknown_height() -> None:
    p = UavPosition(T0, 49.4447, 7.7689, 62.4, -90.0, speed_mps=7.25)
    ev = ET.fromstring(uav_cot_event(p, now_utc_s=T0 + 0.5, uid="dp.uav", callsign="FW-Drohne 1"))
    assert ev.get("version") == "2.0" and ev.get("type") == UAV_TYPE == "a-f-A-M-H-Q"
    assert ev.get("uid") == "dp.uav" and ev.get("how") == "m-g"
    assert ev.get("time") == "2024-05-01T10:00:00.500Z"
    assert ev.get("start") == "2024-05-01T10:00:00.000Z"
    assert ev.get("stale") == "2024-05-01T10:00:15.500Z"
    pt = ev.find("point")
    assert pt is not None and pt.get("lat") == "49.4447000" and pt.get("lon") == "7.7689000"
    assert pt.get("hae") == "9999999.0"   # height above take-off is not above the ellipsoid
    assert ev.find("detail/contact").get("callsign") == "FW-Drohne 1"  # type: ignore[union-attr]
    track = ev.find("detail/track")
    assert track is not None and track.get("course") == "270.0" and track.get("speed") == "7.2"
    assert "62 m above take-off" in (ev.findtext("detail/remarks") or "")


def test_uav_event_with_ellipsoidal_height() -> None:
    p = UavPosition(T0, 49.0, 7.0, 50.0, 10.0, hae_m=412.34)
    ev = ET.fromstring(uav_cot_event(p, now_utc_s=T0))
    assert ev.find("point").get("hae") == "412.3"  # type: ignore[union-attr]
    assert ev.find("detail/track").get("speed") is None  # type: ignore[union-attr]
