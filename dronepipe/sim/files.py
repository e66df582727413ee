"""The flight folder's frame files, video and camera file, as the equipment writes them.

- ``thermal/TH_0001.tiff``: uint16 TLinear centi-kelvin (value / 100 - 273.15 = degrees
  C; saturates at 65535 = 382.2 C), Deflate + predictor, EXIF Make/Model/DateTime,
  DateTimeOriginal + SubSecTimeOriginal + OffsetTimeOriginal (camera clock, local
  time), FocalLength, GPS (``dronepipe.outputs.tiff_ifd``).
- ``rgb/RGB_0001.jpg``: 8-bit RGB JPEG with the same EXIF (focal length of that camera).
- ``video/thermal.avi``: 8-bit grey MPEG-4 Part 2 (lossy, as drones stream), grey
  ``g`` = temperature mapped linearly from ``span_c[0]`` (0) to ``span_c[1]`` (255);
  ``video/thermal.json`` the sidecar saying so, with the frame rate and the start time
  on the camera's clock.
- ``cameras.toml``: both cameras in the camera-file format of
  ``dronepipe.stitching.cameras.load_camera_file`` (intrinsics, distortion, mount).

Every file is written to a temporary name beside its target and renamed.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from dronepipe.outputs.tiff_ifd import ASCII, Tag, exif_block, tiff_bytes
from dronepipe.sim.config import SimCamera
from dronepipe.sim.exif import frame_entries, gps_entries

VIDEO_FOURCC = "mp4v"


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Pretty JSON, keys in insertion order, newline-terminated, atomically."""
    write_atomic(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode("utf-8"))


def _exif(cam: SimCamera, t_camera_utc_s: float, utc_offset_h: int, lat: float, lon: float,
          alt_msl: float) -> tuple[list, list, list]:
    ifd0, exif = frame_entries(cam.make, cam.model, t_camera_utc_s, utc_offset_h,
                               cam.focal_length_mm, cam.width, cam.height, cam.hfov_deg,
                               cam.pixel_pitch_um)
    return ifd0, exif, gps_entries(lat, lon, alt_msl)


def thermal_tiff(counts: NDArray[np.uint16], cam: SimCamera, t_camera_utc_s: float,
                 utc_offset_h: int, lat: float, lon: float, alt_msl: float,
                 compression: str = "deflate") -> bytes:
    """A radiometric TIFF (TLinear centi-kelvin) with EXIF time and GPS."""
    ifd0, exif, gps = _exif(cam, t_camera_utc_s, utc_offset_h, lat, lon, alt_msl)
    ifd0.append(Tag(270, ASCII, "TLinear: value / 100 = kelvin"))
    return tiff_bytes(counts, ifd0, exif, gps, compression, predictor=True)


def rgb_jpeg(rgb: NDArray[np.uint8], cam: SimCamera, t_camera_utc_s: float, utc_offset_h: int,
             lat: float, lon: float, alt_msl: float) -> bytes:
    """A JPEG with EXIF time, focal length and GPS."""
    ifd0, exif, gps = _exif(cam, t_camera_utc_s, utc_offset_h, lat, lon, alt_msl)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=cam.jpeg_quality,
                                     exif=exif_block(ifd0, exif, gps))
    return buf.getvalue()


class GreyVideo:
    """An 8-bit grey video written frame by frame to a temporary file, renamed on close."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self.tmp = path.with_name(path.stem + ".tmp" + path.suffix)
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*VIDEO_FOURCC),
                                      fps, size, False)
        if not self.writer.isOpened():
            raise RuntimeError(f"{path}: OpenCV cannot write {VIDEO_FOURCC} video here")
        self.frames = 0

    def write(self, grey: NDArray[np.uint8]) -> None:
        self.writer.write(grey)
        self.frames += 1

    def close(self) -> None:
        self.writer.release()
        os.replace(self.tmp, self.path)


def video_sidecar(video_name: str, fps: float, frames: int, width: int, height: int,
                  span_c: tuple[float, float], start_camera_utc_s: float, utc_offset_h: int,
                  camera_name: str) -> dict[str, Any]:
    """The sidecar describing a grey thermal video (see the module docstring)."""
    from dronepipe.sim.exif import exif_datetime
    when, subsec, offset = exif_datetime(start_camera_utc_s, utc_offset_h)
    return {
        "format": "dronepipe-thermal-video/1",
        "file": video_name,
        "camera": camera_name,
        "codec": "MPEG-4 Part 2 (lossy; grey levels within about 2 of the span mapping)",
        "fps": fps, "frame_count": frames, "width": width, "height": height,
        "kind": "thermal-gray",
        "span_c": [span_c[0], span_c[1]],
        "mapping": "temperature_c = span_c[0] + grey / 255 * (span_c[1] - span_c[0]); "
                   "grey 0 and 255 are clipped",
        "radiometric": False,
        "start_time_camera": f"{when.replace(':', '-', 2).replace(' ', 'T')}.{subsec}{offset}",
        "start_t_camera_s": round(start_camera_utc_s, 3),
        "clock": "the camera's own clock (frame n at start + n / fps); its offset against "
                 "the autopilot's UTC is not known to the camera",
        "telemetry": "thermal.tlog",
    }


def cameras_toml(cams: Sequence[SimCamera], lever_arm_body_m: Sequence[float],
                 frames: dict[str, str]) -> str:
    """The camera file (``load_camera_file`` format) describing the simulated cameras."""
    def arr(v: Sequence[float]) -> str:
        return "[" + ", ".join(repr(float(x)) for x in v) + "]"
    out = ["# Cameras of this flight, in dronepipe's camera-file format",
           "# (dronepipe.stitching.cameras.load_camera_file; dronepipe process --cameras).",
           "# Pixels: OpenCV convention (centre of the top-left pixel is 0,0); dist: OpenCV",
           "# Brown-Conrady k1, k2, p1, p2, k3 on normalised coordinates. Mount: lever arm of",
           "# the gimbal from the GNSS antenna in body axes (x forward, y right, z down),",
           "# camera offset on the gimbal in gimbal axes, boresight roll/pitch/yaw degrees.", ""]
    for c in cams:
        m = c.camera_model
        out += [f"[{c.kind}]", f'kind = "{c.kind}"', f'make = "{c.make}"', f'model = "{c.model}"',
                f'frames = "{frames.get(c.kind, "")}"',
                f"width = {c.width}", f"height = {c.height}",
                f"fx = {m.fx!r}", f"fy = {m.fy!r}", f"cx = {m.cx!r}", f"cy = {m.cy!r}",
                f"dist = {arr(m.dist)}", f"hfov_deg = {c.hfov_deg!r}",
                f"focal_length_mm = {round(c.focal_length_mm, 4)!r}",
                f"pixel_pitch_um = {round(c.pixel_pitch_um, 4)!r}",
                'radiometric = "' + ("tlinear-centikelvin" if c.kind == "thermal" else "none") + '"',
                "", f"[{c.kind}.mount]", f"lever_arm_body_m = {arr(lever_arm_body_m)}",
                f"offset_gimbal_m = {arr(c.offset_gimbal_m)}",
                f"boresight_deg = {arr(c.boresight_deg)}", ""]
    return "\n".join(out)
