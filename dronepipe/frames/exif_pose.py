"""Poses from the frames themselves: EXIF GPS, DJI XMP heights and gimbal angles.

This is how frames work without any log (DJI stills, the ODM Toledo set). What the
file does not say is either refused or stated in ``Pose.source``, never silently
filled in:

- heights: DJI XMP ``RelativeAltitude`` (above take-off) and ``AbsoluteAltitude``
  (above sea level); EXIF GPSAltitude counts as above sea level, unless the camera is
  known to write the height above take-off there (``exif_alt_is_takeoff``, from the
  camera table). A height that no source gives is NaN, and ``source`` says so;
- attitude: DJI XMP gimbal angles (earth frame) and flight angles; without them the
  camera is taken as looking straight down (nadir ASSUMED, said in ``source``) with
  the image top along the heading, which comes from the XMP flight yaw or else from
  the track of consecutive frames (``track_headings``). A frame with no heading at
  all is rejected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dronepipe.flightlogs.records import Pose
from dronepipe.frames.refs import FrameRef, Posed, PoseResult, Rejected
from dronepipe.geodesy import UtmFrame

NAN = float("nan")


@dataclass(frozen=True)
class Heading:
    """A heading estimate (radians clockwise from true north) and how it was found."""

    yaw_rad: float
    how: str


def pose_from_exif(frame: FrameRef, *, heading: Heading | None = None,
                   exif_alt_is_takeoff: bool = False,
                   takeoff_alt_msl_m: float | None = None) -> PoseResult:
    """The frame's own pose from its EXIF/XMP, or the reason it has none.

    ``heading``: the yaw to use where the file has no gimbal or flight yaw.
    ``takeoff_alt_msl_m``: the take-off point's height above sea level, where known,
    links the two height references.
    """
    m = frame.meta
    if not m.has_gps:
        return Rejected(frame, "no GPS position in the file's EXIF/XMP")
    heights = _heights(frame, exif_alt_is_takeoff, takeoff_alt_msl_m)
    if isinstance(heights, Rejected):
        return heights
    alt_msl, alt_rel, h_note = heights
    attitude = _attitude(frame, heading)
    if isinstance(attitude, Rejected):
        return attitude
    (roll, pitch, yaw, g_roll, g_pitch, g_yaw), a_note = attitude
    t = frame.t_camera_s if frame.t_camera_s is not None else NAN
    return Posed(frame, Pose(t, float(m.lat_deg), float(m.lon_deg), alt_msl, alt_rel,  # type: ignore[arg-type]
                             roll, pitch, yaw, g_roll, g_pitch, g_yaw,
                             source=f"exif: GPS; {h_note}; {a_note}"))


def _heights(frame: FrameRef, exif_is_takeoff: bool,
             takeoff_msl: float | None) -> tuple[float, float, str] | Rejected:
    """(alt_msl_m, alt_rel_m, note); NaN for a height no source gives."""
    m = frame.meta
    rel, rel_how = (m.alt_rel_m, "XMP RelativeAltitude") if m.alt_rel_m is not None else (None, "")
    msl, msl_how = (m.alt_abs_m, "XMP AbsoluteAltitude") if m.alt_abs_m is not None else (None, "")
    if m.gps_alt_m is not None:
        if exif_is_takeoff and rel is None:
            rel, rel_how = m.gps_alt_m, "EXIF GPSAltitude (this camera writes height above take-off)"
        elif not exif_is_takeoff and msl is None:
            msl, msl_how = m.gps_alt_m, "EXIF GPSAltitude (MSL)"
    if takeoff_msl is not None:
        if rel is None and msl is not None:
            rel, rel_how = msl - takeoff_msl, f"{msl_how} - take-off {takeoff_msl:.1f} m MSL"
        elif msl is None and rel is not None:
            msl, msl_how = rel + takeoff_msl, f"{rel_how} + take-off {takeoff_msl:.1f} m MSL"
    if rel is None and msl is None:
        return Rejected(frame, "no altitude in the file (no EXIF GPSAltitude, no DJI XMP altitudes)")
    note = f"alt_rel={rel_how or 'UNKNOWN (NaN)'}; alt_msl={msl_how or 'UNKNOWN (NaN)'}"
    return (NAN if msl is None else float(msl)), (NAN if rel is None else float(rel)), note


def _attitude(frame: FrameRef, heading: Heading | None
              ) -> tuple[tuple[float, float, float, float | None, float | None, float | None], str] | Rejected:
    """((roll, pitch, yaw, gimbal roll, pitch, yaw), note) in radians."""
    m = frame.meta
    if m.has_gimbal:
        g_yaw = m.gimbal_yaw_rad if m.gimbal_yaw_rad is not None else m.flight_yaw_rad
        if g_yaw is None:
            return Rejected(frame, "XMP gimbal pitch without gimbal or flight yaw")
        roll, pitch = m.flight_roll_rad or 0.0, m.flight_pitch_rad or 0.0
        yaw = m.flight_yaw_rad if m.flight_yaw_rad is not None else g_yaw
        note = "attitude=XMP gimbal (earth frame)" + (
            " + XMP flight angles" if m.flight_yaw_rad is not None else "; vehicle level ASSUMED")
        return (roll, pitch, yaw, m.gimbal_roll_rad or 0.0, m.gimbal_pitch_rad, g_yaw), note
    if m.flight_yaw_rad is not None:
        heading = Heading(m.flight_yaw_rad, "XMP FlightYawDegree")
    if heading is None:
        return Rejected(frame, "no gimbal angles in the file and no heading: the image cannot be "
                               "oriented (give a log, or more frames so the track gives a heading)")
    note = (f"attitude: NADIR ASSUMED (no XMP gimbal angles), vehicle level, "
            f"yaw from {heading.how}")
    return (0.0, 0.0, heading.yaw_rad, 0.0, -math.pi / 2.0, heading.yaw_rad), note


def track_headings(frames: Sequence[FrameRef], min_step_m: float = 2.0) -> list[Heading | None]:
    """Heading of each frame from the positions of its time neighbours (frames with GPS
    and capture time, in time order).

    The segment to the neighbour nearer in time is used (a frame at the end of a leg
    belongs to the leg it was flown on); both segments are averaged where they agree
    within 45 degrees and are equally near. Steps under ``min_step_m`` (hovering) give
    no heading. Weak where frames are far apart in time (the drone may have turned in
    between): the result says which segment it used.
    """
    idx = [i for i, f in enumerate(frames) if f.meta.has_gps and f.t_camera_s is not None]
    out: list[Heading | None] = [None] * len(frames)
    if len(idx) < 2:
        return out
    idx.sort(key=lambda i: frames[i].t_camera_s)  # type: ignore[arg-type, return-value]
    lon = np.array([frames[i].meta.lon_deg for i in idx])
    lat = np.array([frames[i].meta.lat_deg for i in idx])
    t = np.array([frames[i].t_camera_s for i in idx])
    utm = UtmFrame.for_point(float(lon[0]), float(lat[0]))
    e, n = utm.to_grid(lon, lat)
    conv = utm.true_north_grid_azimuth(float(lon[0]), float(lat[0]))
    az = np.arctan2(np.diff(e), np.diff(n)) - conv  # true azimuth of each segment
    step = np.hypot(np.diff(e), np.diff(n))
    dt = np.diff(t)
    for k, i in enumerate(idx):
        out[i] = _pick_segment(k, az, step, dt, min_step_m)
    return out


def _pick_segment(k: int, az: np.ndarray, step: np.ndarray, dt: np.ndarray,
                  min_step_m: float) -> Heading | None:
    prev = k - 1 if k >= 1 and step[k - 1] >= min_step_m else None
    nxt = k if k < az.size and step[k] >= min_step_m else None
    if prev is not None and nxt is not None:
        diff = abs((az[nxt] - az[prev] + math.pi) % (2 * math.pi) - math.pi)
        if diff < math.radians(45) and max(dt[prev], dt[nxt]) < 1.5 * min(dt[prev], dt[nxt]):
            mean = math.atan2(math.sin(az[prev]) + math.sin(az[nxt]), math.cos(az[prev]) + math.cos(az[nxt]))
            return Heading(mean, "track of consecutive frames (both neighbours)")
        choice: int | None = prev if dt[prev] <= dt[nxt] else nxt
    else:
        choice = prev if prev is not None else nxt
    if choice is None:
        return None
    side = "previous" if choice == prev else "next"
    return Heading(float(az[choice]), f"track to the {side} frame ({dt[choice]:.0f} s away)")


def poses_from_exif(frames: Sequence[FrameRef], *,
                    exif_alt_is_takeoff: Callable[[FrameRef], bool] = lambda f: False,
                    takeoff_alt_msl_m: float | None = None) -> list[PoseResult]:
    """``pose_from_exif`` for a whole set, with track headings per kind for frames that
    carry no yaw. ``exif_alt_is_takeoff`` says per frame whether its camera writes the
    height above take-off into EXIF GPSAltitude (``ResolvedCamera.exif_alt_is_takeoff``)."""
    results: list[PoseResult | None] = [None] * len(frames)
    for kind in ("thermal", "rgb"):
        members = [i for i, f in enumerate(frames) if f.kind == kind]
        headings = track_headings([frames[i] for i in members])
        for i, h in zip(members, headings, strict=True):
            results[i] = pose_from_exif(frames[i], heading=h, exif_alt_is_takeoff=exif_alt_is_takeoff(frames[i]),
                                        takeoff_alt_msl_m=takeoff_alt_msl_m)
    return [r for r in results if r is not None]
