"""DJI SRT subtitle telemetry: ``read_srt(path) -> SrtLog`` with a ``Telemetry`` inside.

DJI drones write a subtitle file beside each video with one entry per second (older
models) or per frame (newer). The layouts differ by model and firmware, for example::

    GPS(149.0251,-20.2533,16) BAROMETER:1.9          Mavic Pro 2017: lon, lat, satellites
    GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M         Matrice 300:     lat, lon, altitude
    ... GPS (-121.7458, 48.0771, 17), D 221.21m, H 200.70m, H.S n/a ...      Mavic Mini
    [latitude: 47.1] [longitude: 8.1] [rel_alt: 50.0 abs_alt: 500.0] [gb_yaw: ...]  newer
    RTK (120.08, 30.21, 28), ... F.PRY (-5.3°, 2.1°, 28.3°), G.PRY (-40.0°, 0.0°, 28.2°)  P4 RTK

so this reader does not trust one layout: it pulls every ``key: value`` and
``KEY(a, b, c)`` out of each entry and maps the keys it knows, ignoring the rest.
Where latitude and longitude come unnamed in a tuple their order is decided for the
whole file: a value beyond +-90 can only be a longitude (certain); outside -80..84
(no UTM zone: this pipeline could not map it anyway) almost certainly; else a ``near_lonlat`` hint (a frame's EXIF
position, a home point) picks the order that lies near it; else the layout decides
(an altitude with an ``M`` unit marks the newer lat, lon order, otherwise DJI's older
lon, lat order), and ``SrtLog.order_how`` says which rule decided.

Times: the SRT date stamps are the aircraft's local clock without a zone; they are
read as if UTC (``utc_offset_s`` corrects them where the zone is known). The clock
time of the video's first frame (``video_start_s``) is fitted over all entries from
the date stamps and the subtitle start times, allowing for stamps truncated to whole
seconds; each sample's time is then ``video_start_s`` + its subtitle start time, so
video frames and telemetry share one clock exactly. Without date stamps the times are
seconds from the video start (``Telemetry.time_source == "video"``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from dronepipe.errors import DronepipeWarning, LogFormatError
from dronepipe.flightlogs.telemetry import ReadStats, Telemetry
from dronepipe.flightlogs.tracks import AttitudeTrack, GimbalTrack, PositionTrack

log = logging.getLogger(__name__)

LatLonOrder = Literal["latlon", "lonlat"]

_TIMING = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{1,3})")
_DATE = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})[ T](\d{1,2}):(\d\d):(\d\d)(?:[.,:](\d{1,6}))?")
_KV = re.compile(r"([A-Za-z_][\w.]*)\s*:\s*([-+]?\d+(?:\.\d+)?)")
_TUPLE = re.compile(r"([A-Za-z][\w.]*)\s*\(([^()]*)\)")
_SPACED = re.compile(r"(?<![\w.])(D|H|H\.S|V\.S)\s+([-+]?\d+(?:\.\d+)?)\s*m\b")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class SrtEntry:
    """One subtitle entry: its video time span (s) and the fields found in its text."""

    start_s: float
    end_s: float
    text: str
    values: dict[str, float]
    tuples: dict[str, tuple[tuple[float, str], ...]]
    date: datetime | None


@dataclass(frozen=True)
class SrtLog:
    """A DJI SRT file, read.

    ``telemetry``: positions (and attitudes where the file has them) on the SRT clock;
    ``video_start_s``: that clock's time at video time 0 (a video frame at ``v``
    seconds was taken at ``video_start_s + v``); ``layout``: which position fields the
    file uses; ``latlon_order`` and ``order_how``: how unnamed lat/lon tuples were
    read; ``entries``/``skipped``: subtitle entries read and entries without a
    position.
    """

    telemetry: Telemetry
    video_start_s: float
    layout: str
    latlon_order: LatLonOrder | None
    order_how: str
    entries: int
    skipped: int


def parse_srt_entries(text: str) -> list[SrtEntry]:
    """Subtitle entries of an SRT text (HTML tags removed, fields extracted)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    entries: list[SrtEntry] = []
    current: tuple[float, float, list[str]] | None = None
    for line in lines:
        m = _TIMING.search(line)
        if m:
            if current is not None:
                entries.append(_entry(*current))
            g = [int(x) for x in m.groups()]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 10 ** len(m.group(4))
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 10 ** len(m.group(8))
            current = (start, end, [])
        elif current is not None:
            current[2].append(line)
    if current is not None:
        entries.append(_entry(*current))
    return entries


def _entry(start: float, end: float, lines: list[str]) -> SrtEntry:
    # a trailing bare number is the next entry's index
    while lines and (not lines[-1].strip() or lines[-1].strip().isdigit()):
        lines = lines[:-1]
    text = re.sub(r"<[^>]*>", " ", "\n".join(lines))
    values: dict[str, float] = {}
    tuples: dict[str, tuple[tuple[float, str], ...]] = {}
    for m in _TUPLE.finditer(text):
        parts = [p.strip() for p in m.group(2).split(",") if p.strip()]
        nums = [(_NUMBER.match(p), p) for p in parts]
        if nums and all(n is not None for n, _ in nums):
            tuples[m.group(1).upper()] = tuple((float(n.group(0)), p[n.end():].strip())  # type: ignore[union-attr]
                                               for n, p in nums)
    rest = _TUPLE.sub(" ", text)
    for m in _KV.finditer(rest):
        values.setdefault(m.group(1).lower(), float(m.group(2)))
    for m in _SPACED.finditer(rest):
        values.setdefault(m.group(1), float(m.group(2)))
    return SrtEntry(start, end, text.strip(), values, tuples, _date(text))


def _date(text: str) -> datetime | None:
    m = _DATE.search(text)
    if not m:
        return None
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        moment = datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None
    frac = m.group(7)
    if frac:
        moment = moment.replace(microsecond=int(frac[:3].ljust(3, "0")) * 1000)
    return moment


def read_srt(path: Path, *, latlon_order: LatLonOrder | None = None,
             near_lonlat: tuple[float, float] | None = None, utc_offset_s: float | None = None,
             video_start_s: float | None = None, assume_nadir: bool = False) -> SrtLog:
    """Read a DJI SRT file into telemetry on the SRT clock.

    ``latlon_order`` forces the order of unnamed GPS tuples; ``near_lonlat`` (lon,
    lat in degrees) lets a known nearby point decide it. ``utc_offset_s``: the zone of
    the date stamps (seconds east of UTC; None: read as UTC). ``video_start_s``: the
    clock time of video time 0 where the file has no date stamps. ``assume_nadir``:
    where the file has no attitude, make a level vehicle and a nadir gimbal with the
    yaw along the course over ground (stated in the tracks' ``source``) instead of
    leaving the attitude empty (then ``pose_at`` refuses). Raises ``LogFormatError``
    naming the file when it holds no positions.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read ({exc})") from exc
    entries = parse_srt_entries(text)
    rows, layout = _positions(entries, path)
    lat, lon, order, how = _latlon(rows, latlon_order, near_lonlat, path)
    start = _video_start(entries, utc_offset_s, video_start_s)
    used = [e for e, r in zip(entries, rows, strict=True) if r is not None]
    t = np.array([e.start_s for e in used]) + (start if start is not None else 0.0)
    tel = _telemetry(path, used, t, lat, lon, assume_nadir, "camera" if start is not None else "video")
    skipped = len(entries) - len(used)
    if skipped:
        import warnings
        warnings.warn(DronepipeWarning(f"{path}: {skipped} of {len(entries)} subtitle entries have no "
                                       "position and were skipped"), stacklevel=2)
    log.info("%s: %d samples, layout %s, lat/lon order %s (%s)", path, len(used), layout, order, how)
    return SrtLog(tel, start if start is not None else 0.0, layout, order, how, len(entries), skipped)


Row = tuple[float, float, bool, str]  # (a, b, named (a=lat, b=lon), unit of the tuple's third value)


def _positions(entries: Sequence[SrtEntry], path: Path) -> tuple[list[Row | None], str]:
    """Per entry (a, b, named, unit) or None; named rows are (lat, lon)."""
    rows: list[Row | None] = []
    layouts: set[str] = set()
    for e in entries:
        v = e.values
        lat = v.get("latitude", v.get("lat"))
        lon = v.get("longitude", v.get("longtitude", v.get("lon")))
        if lat is not None and lon is not None:
            rows.append(None if lat == 0.0 and lon == 0.0 else (lat, lon, True, ""))
            layouts.add("named latitude/longitude")
            continue
        key = "GPS" if "GPS" in e.tuples else "RTK" if "RTK" in e.tuples else None
        tup = e.tuples.get(key) if key else None
        if tup is None or len(tup) < 2 or (tup[0][0] == 0.0 and tup[1][0] == 0.0):
            rows.append(None)
            continue
        rows.append((tup[0][0], tup[1][0], False, tup[2][1] if len(tup) > 2 else ""))
        layouts.add(f"{key}(a, b, ...) tuple")
    if not any(r is not None for r in rows):
        raise LogFormatError(f"{path}: no positions in {len(entries)} subtitle entries "
                             "(not a DJI telemetry SRT, or GPS was off)")
    return rows, " + ".join(sorted(layouts))


def _latlon(rows: Sequence[Row | None], order: LatLonOrder | None, near: tuple[float, float] | None,
            path: Path) -> tuple[np.ndarray, np.ndarray, LatLonOrder | None, str]:
    """(lat, lon) arrays of the rows with a position, and how the tuple order was decided."""
    good = [r for r in rows if r is not None]
    a = np.array([r[0] for r in good])
    b = np.array([r[1] for r in good])
    named = np.array([r[2] for r in good])
    if named.all():
        return a, b, None, "named fields"
    tup = ~named
    decided, how = (order, "given") if order else _decide_order(a[tup], b[tup], near, good)
    if decided == "lonlat":
        a, b = np.where(tup, b, a), np.where(tup, a, b)
    if np.any(np.abs(a) > 90.0):
        raise LogFormatError(f"{path}: latitudes beyond 90 degrees with order {decided} ({how})")
    return a, b, decided, how


def _decide_order(a: np.ndarray, b: np.ndarray, near: tuple[float, float] | None,
                  rows: Sequence[Row]) -> tuple[LatLonOrder, str]:
    if np.any(np.abs(a) > 90.0) != np.any(np.abs(b) > 90.0):
        return ("lonlat" if np.any(np.abs(a) > 90.0) else "latlon"), "a value beyond 90 degrees (certain)"
    a_bad, b_bad = np.any((a < -80.0) | (a > 84.0)), np.any((b < -80.0) | (b > 84.0))
    if a_bad != b_bad:
        return ("lonlat" if a_bad else "latlon"), "a value outside the UTM latitudes -80..84 (plausibility)"
    if near is not None:
        lon0, lat0 = near
        d_latlon = float(np.median(np.hypot(a - lat0, (b - lon0) * math.cos(math.radians(lat0)))))
        d_lonlat = float(np.median(np.hypot(b - lat0, (a - lon0) * math.cos(math.radians(lat0)))))
        return ("latlon" if d_latlon < d_lonlat else "lonlat"), "nearest to the given reference point"
    units = {r[3].lower() for r in rows if r[3]}
    import warnings
    if "m" in units:
        warnings.warn(DronepipeWarning("lat/lon order of the SRT GPS tuple taken from its layout "
                                       "(altitude with unit: lat, lon); values alone cannot tell"), stacklevel=4)
        return "latlon", "layout: altitude with unit M (newer firmware: lat, lon)"
    warnings.warn(DronepipeWarning("lat/lon order of the SRT GPS tuple taken from its layout "
                                   "(DJI's older lon, lat); values alone cannot tell"), stacklevel=4)
    return "lonlat", "layout: DJI's older GPS(lon, lat, satellites)"


def _video_start(entries: Sequence[SrtEntry], utc_offset_s: float | None,
                 given: float | None) -> float | None:
    """Clock time of video time 0 from the date stamps (None where there are none)."""
    dated = [(e.date, e.start_s) for e in entries if e.date is not None]
    if not dated:
        return given
    zone = utc_offset_s or 0.0
    d = np.array([dt.replace(tzinfo=UTC).timestamp() - zone - s for dt, s in dated])
    if any(dt.microsecond for dt, _ in dated):
        return float(np.median(d))
    lower, upper = float(d.max()), float(d.min()) + 1.0  # stamps truncated to whole seconds
    return (lower + upper) / 2.0 if lower <= upper else float(np.median(d)) + 0.5


def _first(e: SrtEntry, keys: Sequence[str]) -> float:
    for k in keys:
        if k in e.values:
            return e.values[k]
    return math.nan


def _telemetry(path: Path, used: Sequence[SrtEntry], t: np.ndarray, lat: np.ndarray, lon: np.ndarray,
               assume_nadir: bool, time_source: str) -> Telemetry:
    rel = np.array([_first(e, ("rel_alt", "H", "barometer")) for e in used])
    msl = np.array([_first(e, ("abs_alt", "altitude")) if not math.isnan(_first(e, ("abs_alt", "altitude")))
                    else _tuple_alt(e) for e in used])
    sats = np.array([_tuple_sats(e) for e in used])
    lat, lon, note = _smooth_if_coarse(t, lat, lon, used)
    n = t.size
    pos = PositionTrack(t, lat, lon, msl, rel, np.full(n, np.nan), np.full(n, -1), sats, np.full(n, np.nan),
                        source=f"DJI SRT{note}").sorted()
    att, gim = _attitudes(used, t, pos, assume_nadir)
    dt = np.diff(pos.t_utc_s)
    max_gap = max(2.0, 2.5 * float(np.median(dt))) if dt.size else 2.0
    return Telemetry(str(path), "dji-srt", pos, att, gim, time_source=time_source, max_gap_s=max_gap,
                     stats=ReadStats(bytes_total=path.stat().st_size))


def _tuple_alt(e: SrtEntry) -> float:
    """The GPS tuple's third value where it carries a unit (an altitude); 0 means none."""
    tup = e.tuples.get("GPS") or e.tuples.get("RTK") or ()
    if len(tup) > 2 and tup[2][1].lower().startswith("m") and tup[2][0] != 0.0:
        return tup[2][0]
    return math.nan


def _tuple_sats(e: SrtEntry) -> int:
    """The GPS tuple's third value where it is a bare integer (older layouts: satellites)."""
    tup = e.tuples.get("GPS") or ()
    if len(tup) > 2 and not tup[2][1] and float(tup[2][0]).is_integer():
        return int(tup[2][0])
    return -1


def _smooth_if_coarse(t: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                      used: Sequence[SrtEntry]) -> tuple[np.ndarray, np.ndarray, str]:
    """Older layouts print 4 decimals (about 11 m steps): such positions are smoothed by a
    centred running mean over about 5 s, and the track's source says so."""
    decimals = max((len(m.group(1)) for e in used[:50]
                    for m in re.finditer(r"\d\.(\d+)", e.text.split("GPS")[-1][:40])), default=6)
    if decimals > 4 or t.size < 5:
        return lat, lon, ""
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    k = max(3, round(5.0 / max(dt, 1e-3)) | 1)
    kernel = np.ones(k) / k

    def run(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([np.full(k // 2, x[0]), x, np.full(k // 2, x[-1])])
        return np.convolve(padded, kernel, mode="valid")

    return run(lat), run(lon), f" (positions of {decimals} decimals smoothed over {k} samples)"


def _attitudes(used: Sequence[SrtEntry], t: np.ndarray, pos: PositionTrack,
               assume_nadir: bool) -> tuple[AttitudeTrack, GimbalTrack | None]:
    """Vehicle attitude from F.PRY, gimbal from G.PRY or gb_yaw/gb_pitch/gb_roll (degrees, earth
    frame); what the file lacks is empty, or assumed (nadir, course over ground) on request."""
    def pry(key: str) -> np.ndarray:
        return np.array([[v[0] for v in e.tuples[key][:3]] if len(e.tuples.get(key, ())) >= 3
                         else [math.nan] * 3 for e in used])
    f, g = np.radians(pry("F.PRY")), np.radians(pry("G.PRY"))
    gb = np.radians(np.array([[_first(e, (k,)) for k in ("gb_pitch", "gb_roll", "gb_yaw")] for e in used]))
    g = np.where(np.isnan(g), gb, g)
    gim = None
    okg = np.all(np.isfinite(g), axis=1)
    if okg.any():
        gim = GimbalTrack(t[okg], g[okg, 1], g[okg, 0], g[okg, 2], np.ones(okg.sum(), bool), g[okg, 2],
                          source="DJI SRT gimbal (earth frame)").sorted()
    okf = np.all(np.isfinite(f), axis=1)
    if okf.any():
        return AttitudeTrack(t[okf], f[okf, 1], f[okf, 0], f[okf, 2], source="DJI SRT F.PRY").sorted(), gim
    if gim is not None:
        return AttitudeTrack(gim.t_utc_s, np.zeros(len(gim)), np.zeros(len(gim)), gim.yaw_rad,
                             source="not in SRT: level, yaw = gimbal yaw ASSUMED (lever arm only)"), gim
    if not assume_nadir:
        return AttitudeTrack.empty("DJI SRT (no attitude)"), None
    return _assumed_nadir(pos)


def _assumed_nadir(pos: PositionTrack, min_speed_m_s: float = 1.0) -> tuple[AttitudeTrack, GimbalTrack]:
    """Level vehicle, nadir gimbal, yaw along the course over ground; samples slower than
    ``min_speed_m_s`` (hovering: no course) are left out, so poses there are refused."""
    t = pos.t_utc_s
    north = (pos.lat_deg - pos.lat_deg[0]) * 111_132.0
    east = (pos.lon_deg - pos.lon_deg[0]) * 111_320.0 * np.cos(np.radians(pos.lat_deg))
    if t.size < 2:
        return AttitudeTrack.empty("ASSUMED nadir: too few samples"), GimbalTrack.empty("ASSUMED nadir")
    ve, vn = np.gradient(east, t), np.gradient(north, t)
    ok = np.hypot(ve, vn) >= min_speed_m_s
    yaw = np.arctan2(ve, vn)[ok]
    zero = np.zeros(int(ok.sum()))
    how = "ASSUMED: level vehicle, nadir gimbal, yaw = course over ground"
    return (AttitudeTrack(t[ok], zero, zero, yaw, source=how),
            GimbalTrack(t[ok], zero, zero - math.pi / 2.0, yaw, np.ones(zero.size, bool), yaw, source=how))
