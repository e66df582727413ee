"""Synthetic flight logs with known truth, written with our writers (pymavlink's encoder
for tlogs): a straight flight north with a yaw sweep across north, a nadir gimbal and
camera triggers."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from dronepipe.flightlogs.dataflash_writer import DataFlashWriter
from dronepipe.flightlogs.gpstime import GPS_EPOCH_UNIX_S
from dronepipe.flightlogs.tlog_writer import TlogWriter

GPS_WEEK = 2300
GMS0 = 388_800_000                     # ms of the week at boot time BOOT_GPS_S
BOOT_GPS_S = 10.0                      # boot time (s) at which GMS == GMS0
UTC_AT_GMS0 = GPS_EPOCH_UNIX_S + GPS_WEEK * 604800 + GMS0 / 1000 - 18
UTC_OFFSET_S = UTC_AT_GMS0 - BOOT_GPS_S   # UTC = boot + this
LAT0, LON0, HOME_ALT = 49.4447, 7.7689, 250.0
M_PER_DEG_LAT = 111_200.0
GCS_SKEW_S = 3.7                       # tlog stamps run this far ahead of true UTC


@dataclass(frozen=True)
class Truth:
    """The flight as a function of boot time (s)."""

    @staticmethod
    def lat(boot_s: np.ndarray) -> np.ndarray:
        return LAT0 + 5.0 * (boot_s - 10.0) / M_PER_DEG_LAT

    @staticmethod
    def lon(boot_s: np.ndarray) -> np.ndarray:
        return LON0 + 0.0 * boot_s

    @staticmethod
    def rel(boot_s: np.ndarray) -> np.ndarray:
        return np.clip(boot_s - 10.0, 0, 60.0)

    @staticmethod
    def yaw_deg(boot_s: np.ndarray) -> np.ndarray:
        """Sweeps from 340 to 20 degrees (through north) and back, period 40 s."""
        return (340.0 + 40.0 * (0.5 - 0.5 * np.cos(2 * math.pi * boot_s / 40.0))) % 360.0


def dataflash_flight(*, text: bool = False, old_mnt: bool = False, att_gap: tuple[float, float] = (40.0, 44.0)) -> bytes:
    """A DataFlash log: boot 10..70 s; GPS 5 Hz (first 5 without fix), ATT 10 Hz with a
    gap, MNT 5 Hz (earth-frame yaw in the first half, body-frame in the second), CAM
    every 2 s from 20 s, TRIG 50 ms before each CAM."""
    buf = io.BytesIO()
    w = DataFlashWriter(buf, text=text)
    w.write("MSG", TimeUS=1_000_000, Message="ArduCopter V4.5.7 (abcdef12)")
    w.write("MSG", TimeUS=1_000_100, Message="Frame: QUAD/X")
    w.write("ORGN", TimeUS=9_000_000, Type=1, Lat=LAT0, Lng=LON0, Alt=HOME_ALT)
    if old_mnt:
        w.define("MNT", "QccCccC", "TimeUS,TR,TP,TY,MR,MP,MY")
    for k in range(300):  # 5 Hz GPS, interleaved with the rest
        b = 10.0 + k * 0.2
        gps_fix = 3 if k >= 5 else 1
        w.write("GPS", TimeUS=int(b * 1e6), I=0, Status=gps_fix, GMS=GMS0 + round((b - BOOT_GPS_S) * 1000),
                GWk=GPS_WEEK, NSats=12 if gps_fix == 3 else 3, HDop=0.8, Lat=float(Truth.lat(np.array(b))),
                Lng=LON0, Alt=HOME_ALT + float(Truth.rel(np.array(b))), Spd=5.0)
        for j in range(2):
            ba = b + j * 0.1
            if not att_gap[0] < ba < att_gap[1]:
                w.write("ATT", TimeUS=int(ba * 1e6), Roll=1.0, Pitch=-2.0, Yaw=float(Truth.yaw_deg(np.array(ba))))
        if old_mnt:
            w.write("MNT", TimeUS=int(b * 1e6), MR=0.0, MP=-90.0, MY=20.0)
        else:
            earth = b < 40.0
            w.write("MNT", TimeUS=int(b * 1e6), I=0, Roll=0.0, Pitch=-90.0 + 0.5 * (b - 10.0),
                    YawB=20.0, YawE=(20.0 if earth else float("nan")))
        if k >= 50 and k % 10 == 0:
            img = (k - 50) // 10 + 1
            common = dict(I=0, Img=img, GPSTime=GMS0 + round((b - BOOT_GPS_S) * 1000), GPSWeek=GPS_WEEK,
                          Lat=float(Truth.lat(np.array(b))), Lng=LON0, Alt=HOME_ALT + float(Truth.rel(np.array(b))),
                          RelAlt=float(Truth.rel(np.array(b))), GPSAlt=0.0, R=1.0, P=-2.0,
                          Y=float(Truth.yaw_deg(np.array(b))))
            w.write("TRIG", TimeUS=int((b - 0.05) * 1e6), **common)
            w.write("CAM", TimeUS=int(b * 1e6), **common)
    w.close()
    return buf.getvalue()


def cam_boot_times() -> np.ndarray:
    """Boot times (s) of the CAM records of ``dataflash_flight``."""
    return np.array([10.0 + k * 0.2 for k in range(300) if k >= 50 and k % 10 == 0])


def tlog_flight(*, system_time: bool = True, mavlink1: bool = False, bad_crc_every: int = 0,
                gimbal: str = "mount", reboot_at: float | None = None, gpi: bool = True,
                camera: bool = True) -> bytes:
    """A tlog: boot 10..50 s; SYSTEM_TIME 1 Hz (the first with time_unix_usec 0), GPS_RAW_INT
    and GLOBAL_POSITION_INT 5 Hz, ATTITUDE 10 Hz, a gimbal at 5 Hz ("mount": MOUNT_STATUS,
    body-frame yaw 20 deg; "gdas": GIMBAL_DEVICE_ATTITUDE_STATUS from component 154 with
    earth-frame yaw 20 deg), camera messages every 2 s from 20 s. Ground-station stamps run
    GCS_SKEW_S ahead of UTC. ``reboot_at``: boot time after which the autopilot reboots
    (its boot clock restarts at 1 s; UTC continues)."""
    buf = io.BytesIO()
    w = TlogWriter(buf, mavlink1=mavlink1)
    m = w.mav
    n = 0

    def put(msg: object, boot: float, **kw: int) -> None:
        nonlocal n
        n += 1
        frame = bytearray(w.frame(msg, **kw))
        if bad_crc_every and n % bad_crc_every == 0:
            frame[-1] ^= 0xFF
        w.write_raw(bytes(frame), UTC_OFFSET_S + boot + GCS_SKEW_S)

    put(m.heartbeat_encode(6, 8, 0, 0, 0), 9.0, src_system=255, src_component=190)
    put(m.heartbeat_encode(2, 3, 81, 0, 4), 9.5)
    put(m.statustext_encode(6, b"ArduCopter V4.5.7 (abcdef12)"), 9.6)
    for k in range(200):
        b = 10.0 + k * 0.2
        ab = b if reboot_at is None or b <= reboot_at else b - reboot_at + 1.0   # autopilot's boot clock
        ms = round(ab * 1000)
        if k % 5 == 0 and system_time:
            put(m.system_time_encode(0 if k == 0 else round((UTC_OFFSET_S + b) * 1e6), ms), b)
        fix = 3 if k >= 3 else 1
        lat = float(Truth.lat(np.array(b)))
        rel = float(Truth.rel(np.array(b)))
        put(m.gps_raw_int_encode(ms * 1000, fix, round(lat * 1e7), round(LON0 * 1e7),
                                 round((HOME_ALT + rel) * 1000), 80, 120, 500, 0, 12), b)
        if gpi:
            put(m.global_position_int_encode(ms, round(lat * 1e7), round(LON0 * 1e7), round((HOME_ALT + rel) * 1000),
                                             round(rel * 1000), 500, 0, 0, 0), b)
        for j in range(2):
            bj = b + j * 0.1
            yaw = math.radians(float(Truth.yaw_deg(np.array(bj))))
            yaw = yaw - 2 * math.pi if yaw > math.pi else yaw
            put(m.attitude_encode(round((ab + j * 0.1) * 1000), math.radians(1.0), math.radians(-2.0), yaw, 0, 0, 0), bj)
        if gimbal == "mount":
            put(m.mount_status_encode(0, 0, -9000, 0, 2000, 2), b)
        else:
            q = _quat(0.0, -90.0 + 0.5 * (b - 10.0), 20.0)
            put(m.gimbal_device_attitude_status_encode(0, 0, ms, 16 | 64, q, 0, 0, 0, 0, 0, 0, 0), b,
                src_component=154)
        if camera and k >= 50 and k % 10 == 0:
            img = (k - 50) // 10 + 1
            yaw_deg = float(Truth.yaw_deg(np.array(b)))
            put(m.camera_feedback_encode(round((UTC_OFFSET_S + b) * 1e6), 1, 0, img, round(lat * 1e7), round(LON0 * 1e7),
                                         HOME_ALT + rel, rel, 1.0, -2.0, yaw_deg, 4.5, 0, img), b)
            put(m.camera_trigger_encode(ms * 1000, img), b)
            put(m.camera_image_captured_encode(ms, round((UTC_OFFSET_S + b) * 1e6), 0, round(lat * 1e7),
                                               round(LON0 * 1e7), round((HOME_ALT + rel) * 1000), round(rel * 1000),
                                               _quat(0.0, -90.0, yaw_deg), img, 1, b"IMG.JPG"), b,
                src_component=100)
    w.close()
    return buf.getvalue()


def _quat(roll_deg: float, pitch_deg: float, yaw_deg: float) -> list[float]:
    from dronepipe.rotations import euler_to_quat
    return [float(v) for v in euler_to_quat(*np.radians([roll_deg, pitch_deg, yaw_deg]))]
