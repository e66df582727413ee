"""Which ``CameraModel`` a frame was taken with: a table of known cameras, EXIF, or the user's TOML.

Order of trust (``resolve_camera``):

1. the user's camera file (``--cameras cameras.toml``, ``load_camera_file``): a
   calibration the user made beats any published number;
2. DJI's own per-unit calibration in the XMP ``DewarpData`` (fx, fy, cx, cy, k1, k2,
   p1, p2, k3), where the camera wrote it;
3. the table below, keyed by EXIF make, model and image size (the same model string
   can name a thermal and a visual camera: DJI writes ``ZH20T`` for all three H20T
   sensors, so the image size and the focal length decide);
4. EXIF focal length with the sensor size from FocalPlaneXResolution;
5. EXIF focal length in 35 mm equivalent (CIPA DC-008: scaled by the diagonal,
   43.27 mm for 35 mm film);
6. else a ``DronepipeError`` saying how to write the camera file.

Table entries come from the manufacturers' published specifications (sensor size or
pixel pitch, focal length, resolution), each with its source in the ``source``
field; where a number is derived (sensor width = pixels x pitch) the entry says so.
Distortion is zero unless published: registration absorbs what remains. A stored
image smaller than the native size with the same aspect ratio (a resized copy) is
scaled; a different aspect ratio (a 16:9 video crop of a 4:3 sensor) keeps the full
sensor width and is logged.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dronepipe.errors import DronepipeError
from dronepipe.stitching.camera import CameraModel
from dronepipe.stitching.georef import Mount

if TYPE_CHECKING:  # frames imports this module (the kind of a frame from the table)
    from dronepipe.frames.metadata import FrameMeta

log = logging.getLogger(__name__)

Kind = Literal["thermal", "rgb"]
Dist = tuple[float, float, float, float, float]
ZERO_DIST: Dist = (0.0, 0.0, 0.0, 0.0, 0.0)
FILM_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 43.27 mm, the 35 mm equivalent's reference


@dataclass(frozen=True)
class CameraSpec:
    """One known camera at its native image size.

    ``models``: the EXIF Model strings it writes (compared without case, spaces and
    hyphens). ``focal_mm`` None: a zoom or interchangeable lens, the focal length
    comes from EXIF. ``exif_alt_is_takeoff``: the camera writes the height above
    take-off into EXIF GPSAltitude (which EXIF defines above sea level).
    """

    label: str
    make: str
    models: tuple[str, ...]
    kind: Kind
    width: int
    height: int
    sensor_width_mm: float
    focal_mm: float | None
    source: str
    dist: Dist = ZERO_DIST
    exif_alt_is_takeoff: bool = False


# Pixel pitch x native width gives the sensor width of the microbolometers.
KNOWN_CAMERAS: tuple[CameraSpec, ...] = (
    # --- thermal ---
    CameraSpec("DJI Zenmuse H20T thermal", "DJI", ("ZH20T",), "thermal", 640, 512, 7.68, 13.5,
               "DJI Zenmuse H20 series specs: 640x512 VOx, 12 um pitch, focal 13.5 mm, DFOV 40.6 deg"),
    CameraSpec("DJI Zenmuse H20N thermal", "DJI", ("ZH20N",), "thermal", 640, 512, 7.68, None,
               "DJI Zenmuse H20N specs: 640x512 VOx, 12 um pitch, two lenses (focal from EXIF)"),
    CameraSpec("DJI Matrice 30T thermal", "DJI", ("M30T",), "thermal", 640, 512, 7.68, 9.1,
               "DJI M30 series specs: 640x512 VOx, 12 um pitch, DFOV 61 deg, 40 mm equivalent "
               "(9.1 mm, as the M30T/M3T EXIF FocalLength shows)"),
    CameraSpec("DJI Mavic 3 Thermal (M3T) thermal", "DJI", ("M3T",), "thermal", 640, 512, 7.68, 9.1,
               "DJI Mavic 3 Enterprise series specs: 640x512 VOx, 12 um pitch, DFOV 61 deg, "
               "40 mm equivalent; EXIF of a real M3T R-JPEG: 9.1 mm"),
    CameraSpec("DJI Mavic 2 Enterprise Advanced thermal", "DJI", ("MAVIC2-ENTERPRISE-ADVANCED",),
               "thermal", 640, 512, 7.68, 9.0,
               "DJI Mavic 2 Enterprise Advanced specs: 640x512 VOx, 12 um pitch, focal 9 mm, DFOV 57 deg"),
    CameraSpec("DJI Zenmuse XT2 thermal", "DJI", ("XT2", "FLIR"), "thermal", 640, 512, 10.88, None,
               "DJI Zenmuse XT2 specs: 640x512 VOx (FLIR Tau 2 core), 17 um pitch, lenses 9/13/19/25 mm "
               "(focal from EXIF; DJI writes Model 'FLIR' on XT2 R-JPEGs)"),
    CameraSpec("DJI Zenmuse XT2 thermal 336", "DJI", ("XT2", "FLIR"), "thermal", 336, 256, 5.712, None,
               "DJI Zenmuse XT2 specs: 336x256 VOx, 17 um pitch (focal from EXIF)"),
    CameraSpec("DJI Zenmuse XT S thermal", "DJI", ("XT S",), "thermal", 640, 512, 10.88, 19.0,
               "DJI Zenmuse XT S specs: 640x512 VOx, 17 um pitch, focal 19 mm"),
    CameraSpec("FLIR Duo Pro R 640", "FLIR", ("Duo Pro R",), "thermal", 640, 512, 10.88, None,
               "FLIR Duo Pro R datasheet: 640x512 VOx, 17 um pitch, lenses 13/19/25 mm (focal from EXIF)"),
    CameraSpec("FLIR Duo Pro R 336", "FLIR", ("Duo Pro R",), "thermal", 336, 256, 5.712, None,
               "FLIR Duo Pro R datasheet: 336x256 VOx, 17 um pitch (focal from EXIF)"),
    CameraSpec("FLIR Boson 640", "FLIR", ("Boson", "Boson 640"), "thermal", 640, 512, 7.68, None,
               "FLIR Boson datasheet: 640x512 VOx, 12 um pitch, lenses 4.9-75 mm (focal from EXIF "
               "or the camera file)"),
    # --- RGB ---
    CameraSpec("DJI Zenmuse X3 (FC350)", "DJI", ("FC350",), "rgb", 4000, 3000, 6.17, 3.61,
               "DJI Inspire 1 / Zenmuse X3 specs: 1/2.3in CMOS (6.17 x 4.55 mm), 4000x3000, "
               "FOV 94 deg, 20 mm equivalent; EXIF FocalLength 3.61 mm. EXIF GPSAltitude is the "
               "height above take-off: measured on the ODM Toledo set (119-120 m over ~180 m terrain)",
               exif_alt_is_takeoff=True),
    CameraSpec("DJI Phantom 3 Pro/Adv (FC300X/FC300S)", "DJI", ("FC300X", "FC300S"), "rgb",
               4000, 3000, 6.17, 3.61,
               "DJI Phantom 3 Professional specs: 1/2.3in CMOS, 4000x3000, FOV 94 deg, 20 mm equivalent"),
    CameraSpec("DJI Phantom 4 (FC330)", "DJI", ("FC330",), "rgb", 4000, 3000, 6.17, 3.61,
               "DJI Phantom 4 specs: 1/2.3in CMOS, 4000x3000, FOV 94 deg, 20 mm equivalent"),
    CameraSpec("DJI Mavic Pro (FC220)", "DJI", ("FC220",), "rgb", 4000, 3000, 6.17, 4.73,
               "DJI Mavic Pro specs: 1/2.3in CMOS, 4000x3000, FOV 78.8 deg, 26 mm equivalent (4.73 mm)"),
    CameraSpec("DJI Phantom 4 Pro/RTK (FC6310)", "DJI", ("FC6310", "FC6310S", "FC6310R"), "rgb",
               5472, 3648, 13.2, 8.8,
               "DJI Phantom 4 Pro / RTK specs: 1in CMOS (13.2 x 8.8 mm), 5472x3648, FOV 84 deg, "
               "8.8 mm (24 mm equivalent)"),
    CameraSpec("DJI Mavic 2 Pro (L1D-20c)", "Hasselblad", ("L1D-20c",), "rgb", 5472, 3648, 13.2, 10.26,
               "DJI Mavic 2 Pro specs: 1in CMOS, 5472x3648, FOV 77 deg, 28 mm equivalent (10.26 mm)"),
    CameraSpec("DJI Mavic 3 Enterprise wide (M3E)", "DJI", ("M3E",), "rgb", 5280, 3956, 17.3, 12.29,
               "DJI Mavic 3 Enterprise specs: 4/3 CMOS (17.3 x 13 mm), 5280x3956, DFOV 84 deg, "
               "24 mm equivalent (12.29 mm)"),
    CameraSpec("DJI Mavic 3 Thermal wide (M3T)", "DJI", ("M3T",), "rgb", 8000, 6000, 6.4, 4.4,
               "DJI Mavic 3 Thermal specs: 1/2in CMOS 48 MP (8000x6000, 0.8 um -> 6.4 mm), "
               "DFOV 84 deg, 24 mm equivalent"),
    CameraSpec("DJI Zenmuse H20T wide", "DJI", ("ZH20T", "ZH20"), "rgb", 4056, 3040, 6.29, 4.5,
               "DJI Zenmuse H20 series specs: 1/2.3in CMOS 12 MP (4056x3040, 1.55 um -> 6.29 mm), "
               "focal 4.5 mm, DFOV 82.9 deg"),
    CameraSpec("DJI Zenmuse H20T zoom", "DJI", ("ZH20T", "ZH20"), "rgb", 5184, 3888, 7.53, None,
               "DJI Zenmuse H20 series specs: 1/1.7in CMOS 20 MP (5184x3888, 7.53 mm wide), "
               "focal 6.83-119.94 mm (focal from EXIF)"),
    CameraSpec("DJI Matrice 30T wide", "DJI", ("M30T", "M30"), "rgb", 4000, 3000, 6.4, 4.5,
               "DJI M30 series specs: 1/2in CMOS 12 MP (4000x3000, 1.6 um -> 6.4 mm), "
               "DFOV 84 deg, 24 mm equivalent (4.5 mm)"),
    CameraSpec("DJI Mavic 2 Enterprise Advanced visual", "DJI", ("MAVIC2-ENTERPRISE-ADVANCED",),
               "rgb", 8000, 6000, 6.4, 4.5,
               "DJI Mavic 2 Enterprise Advanced specs: 1/2in CMOS 48 MP (8000x6000, 0.8 um -> 6.4 mm), "
               "DFOV 84 deg, 24 mm equivalent"),
)


@dataclass(frozen=True)
class ResolvedCamera:
    """A frame's camera model, where it came from (provenance), and its mount if known."""

    camera: CameraModel
    source: str
    kind: Kind | None = None
    mount: Mount | None = None
    exif_alt_is_takeoff: bool = False


@dataclass(frozen=True)
class CameraEntry:
    """One camera of the user's camera file: optional match keys, intrinsics, mount."""

    name: str
    kind: Kind | None
    make: str | None
    model: str | None
    camera: CameraModel
    mount: Mount | None


def _norm(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def find_spec(make: str | None, model: str | None, width: int, height: int,
              focal_mm: float | None = None) -> CameraSpec | None:
    """The table entry for a make, model and image size (either orientation), or None.

    Among entries of that make and model, one whose aspect ratio matches wins; an
    exact native size beats a scaled one; a fixed focal length that disagrees with
    the EXIF focal length by more than 10 % rules an entry out.
    """
    mk, md = _norm(make), _norm(model)
    best: tuple[int, CameraSpec] | None = None
    for spec in KNOWN_CAMERAS:
        if md not in {_norm(m) for m in spec.models} or not mk.startswith(_norm(spec.make)[:3]):
            continue
        if spec.focal_mm and focal_mm and abs(focal_mm / spec.focal_mm - 1.0) > 0.10:
            continue
        score = _size_score(spec, width, height)
        if score and (best is None or score > best[0]):
            best = (score, spec)
    return best[1] if best else None


def _size_score(spec: CameraSpec, width: int, height: int) -> int:
    """2 exact native size, 1 same aspect ratio (scaled), 0 no match."""
    w, h = (width, height) if (width >= height) == (spec.width >= spec.height) else (height, width)
    if (w, h) == (spec.width, spec.height):
        return 2
    return 1 if abs(w / h - spec.width / spec.height) < 0.01 else 0


def camera_from_spec(spec: CameraSpec, width: int, height: int,
                     focal_mm: float | None) -> CameraModel:
    """The spec's camera for a stored image of ``width`` x ``height`` pixels (square pixels;
    a resized or rotated copy scales by its long side; a crop keeps the full sensor width)."""
    focal = spec.focal_mm or focal_mm
    if focal is None:
        raise DronepipeError(f"{spec.label}: the focal length is not fixed and EXIF gives none")
    if _size_score(spec, width, height) == 0:
        log.info("%s: image %dx%d is a crop of the %dx%d sensor; full sensor width assumed",
                 spec.label, width, height, spec.width, spec.height)
    f_native_px = focal * spec.width / spec.sensor_width_mm
    f_px = f_native_px * max(width, height) / max(spec.width, spec.height)
    return CameraModel(spec.label, width, height, f_px, f_px, (width - 1) / 2.0, (height - 1) / 2.0,
                       spec.dist)


def camera_from_exif(meta: FrameMeta) -> tuple[CameraModel, str] | None:
    """A camera from EXIF alone: focal length with FocalPlaneXResolution, else the 35 mm
    equivalent; None where the file has neither. Returns the model and its provenance."""
    w, h = meta.width, meta.height
    if not w or not h:
        return None
    name = " ".join(p for p in (meta.make, meta.model) if p) or "unknown camera"
    sensor_mm = meta.sensor_width_mm
    if meta.focal_mm and meta.focal_plane_px_per_mm and sensor_mm and 1.0 <= sensor_mm <= 60.0:
        # a sensor outside 1-60 mm means FocalPlaneXResolution belongs to another image size
        scale = w / meta.exif_width if meta.exif_width else 1.0
        if meta.exif_width and meta.exif_height and (meta.exif_width >= meta.exif_height) != (w >= h):
            scale = max(w, h) / max(meta.exif_width, meta.exif_height)
        f = meta.focal_mm * meta.focal_plane_px_per_mm * scale
        return (CameraModel(name, w, h, f, f, (w - 1) / 2.0, (h - 1) / 2.0),
                "EXIF FocalLength + FocalPlaneXResolution")
    if meta.focal_35mm:
        f = meta.focal_35mm / FILM_DIAGONAL_MM * math.hypot(w, h)
        return (CameraModel(name, w, h, f, f, (w - 1) / 2.0, (h - 1) / 2.0),
                "EXIF FocalLengthIn35mmFilm (diagonal)")
    return None


def camera_from_dewarp(meta: FrameMeta) -> CameraModel | None:
    """DJI's per-unit calibration from XMP ``DewarpData`` ("date;fx,fy,cx,cy,k1,k2,p1,p2,k3",
    cx/cy from the image centre, pixels of the native image), where the image is still
    distorted (``DewarpFlag`` 0) and at its native size."""
    text = meta.xmp.get("DewarpData")
    if not text or meta.xmp.get("DewarpFlag", "0").strip() == "1" or not meta.width or not meta.height:
        return None
    try:
        values = [float(v) for v in text.split(";")[-1].split(",")]
    except ValueError:
        return None
    if len(values) != 9 or values[0] <= 0 or values[1] <= 0:
        return None
    fx, fy, dcx, dcy, k1, k2, p1, p2, k3 = values
    w, h = meta.width, meta.height
    name = " ".join(p for p in (meta.make, meta.model) if p) + " (DJI DewarpData)"
    return CameraModel(name, w, h, fx, fy, (w - 1) / 2.0 + dcx, (h - 1) / 2.0 + dcy, (k1, k2, p1, p2, k3))


def resolve_camera(meta: FrameMeta, *, kind: Kind | None = None,
                   user: Sequence[CameraEntry] = (), where: str = "frame") -> ResolvedCamera:
    """The camera model of a frame, by the order of trust in the module docstring.

    ``where`` names the frame in the error. Raises ``DronepipeError`` when nothing applies.
    """
    w, h = meta.width, meta.height
    if not w or not h:
        raise DronepipeError(f"{where}: image size unknown, so no camera model can be built")
    entry = match_entry(user, meta, kind)
    if entry is not None:
        return ResolvedCamera(_fit(entry.camera, w, h), f"camera file entry [{entry.name}]",
                              entry.kind or kind, entry.mount)
    dewarp = camera_from_dewarp(meta)
    spec = find_spec(meta.make, meta.model, w, h, meta.focal_mm)
    if dewarp is not None:
        return ResolvedCamera(dewarp, "XMP DewarpData (DJI per-unit calibration)",
                              spec.kind if spec else kind)
    if spec is not None:
        return ResolvedCamera(camera_from_spec(spec, w, h, meta.focal_mm), f"table: {spec.source}",
                              spec.kind, exif_alt_is_takeoff=spec.exif_alt_is_takeoff)
    exif = camera_from_exif(meta)
    if exif is not None:
        return ResolvedCamera(exif[0], exif[1], kind)
    raise DronepipeError(
        f"{where}: no camera model for make {meta.make!r} model {meta.model!r} ({w}x{h}): not in "
        "the table of known cameras and the EXIF has no focal length with sensor size or 35 mm "
        "equivalent. Give it in a camera file (--cameras cameras.toml), for example:\n"
        f'[{kind or "thermal"}]\nmake = "{meta.make or ""}"\nmodel = "{meta.model or ""}"\n'
        f"width = {w}\nheight = {h}\nfocal_mm = 13.0\nsensor_width_mm = 7.68  # or hfov_deg, or fx/fy/cx/cy")


def _fit(camera: CameraModel, width: int, height: int) -> CameraModel:
    return camera if (camera.width, camera.height) == (width, height) else camera.scaled(width, height)


def match_entry(entries: Sequence[CameraEntry], meta: FrameMeta, kind: Kind | None) -> CameraEntry | None:
    """The user's entry for a frame: make/model where the entry names them, else its kind;
    the image must have the entry's aspect ratio."""
    w, h = meta.width or 0, meta.height or 0
    for strict in (True, False):
        for e in entries:
            if h == 0 or abs(e.camera.width / e.camera.height - w / h) > 0.01:
                continue
            named = e.make is not None or e.model is not None
            if strict and named and _norm(e.make) in ("", _norm(meta.make)) \
                    and _norm(e.model) in ("", _norm(meta.model)):
                return e
            if not strict and not named and (e.kind is None or kind is None or e.kind == kind):
                return e
    return None


def load_camera_file(path: Path) -> tuple[CameraEntry, ...]:
    """The cameras of a user's TOML file: one table per camera, e.g.

    .. code-block:: toml

        [thermal]
        kind = "thermal"            # optional; "thermal" or "rgb" (default: the table name if it is one)
        make = "DJI"                # optional match keys (EXIF Make/Model)
        model = "XT2"
        width = 640
        height = 512
        fx = 1150.0                 # pixels; or focal_mm + sensor_width_mm; or hfov_deg
        fy = 1150.0
        cx = 319.5                  # optional, default image centre
        cy = 255.5
        dist = [0.0, 0.0, 0.0, 0.0, 0.0]   # OpenCV k1, k2, p1, p2, k3
        [thermal.mount]             # optional (dronepipe.stitching.Mount), metres and degrees
        lever_arm_body_m = [0.0, 0.0, 0.1]
        offset_gimbal_m = [0.0, 0.03, 0.0]
        boresight_deg = [0.0, 0.0, 0.0]

    Raises ``DronepipeError`` naming the file and the entry on anything malformed.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DronepipeError(f"{path}: cannot read the camera file ({exc})") from exc
    tables = data.get("camera", data)
    if isinstance(tables, list):
        tables = {str(t.get("name", f"camera{i}")): t for i, t in enumerate(tables)}
    entries = []
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            continue
        try:
            entries.append(_entry(str(name), table))
        except (KeyError, TypeError, ValueError) as exc:
            raise DronepipeError(f"{path}: camera [{name}]: {exc}") from exc
    if not entries:
        raise DronepipeError(f"{path}: no camera tables in the camera file")
    return tuple(entries)


def _entry(name: str, t: Mapping[str, Any]) -> CameraEntry:
    kind = t.get("kind", name if name in ("thermal", "rgb") else None)
    if kind not in (None, "thermal", "rgb"):
        raise ValueError(f"kind must be 'thermal' or 'rgb', not {kind!r}")
    w, h = int(t["width"]), int(t["height"])
    dist = tuple(float(d) for d in t.get("dist", ZERO_DIST))
    if len(dist) != 5:
        raise ValueError("dist needs five values k1, k2, p1, p2, k3")
    if "fx" in t:
        fx = float(t["fx"])
        cam = CameraModel(name, w, h, fx, float(t.get("fy", fx)), float(t.get("cx", (w - 1) / 2.0)),
                          float(t.get("cy", (h - 1) / 2.0)), dist)  # type: ignore[arg-type]
    elif "focal_mm" in t:
        cam = CameraModel.from_focal_mm(name, w, h, float(t["focal_mm"]), float(t["sensor_width_mm"]),
                                        dist)  # type: ignore[arg-type]
    elif "hfov_deg" in t:
        cam = CameraModel.from_fov(name, w, h, float(t["hfov_deg"]), dist)  # type: ignore[arg-type]
    else:
        raise ValueError("needs fx (pixels), focal_mm with sensor_width_mm, or hfov_deg")
    if cam.fx <= 0 or cam.fy <= 0 or w <= 0 or h <= 0:
        raise ValueError("sizes and focal lengths must be positive")
    return CameraEntry(name, kind, t.get("make"), t.get("model"), cam, _mount(t.get("mount")))


def _mount(t: Mapping[str, Any] | None) -> Mount | None:
    if t is None:
        return None
    def triple(key: str, scale: float = 1.0) -> tuple[float, float, float]:
        v = [float(x) * scale for x in t.get(key, (0.0, 0.0, 0.0))]
        if len(v) != 3:
            raise ValueError(f"mount.{key} needs three values")
        return (v[0], v[1], v[2])
    kwargs: dict[str, Any] = {"lever_arm_body_m": triple("lever_arm_body_m"),
                              "offset_gimbal_m": triple("offset_gimbal_m"),
                              "boresight_rad": triple("boresight_deg", math.pi / 180.0)}
    if "fixed_deg" in t:
        kwargs["fixed_rad"] = triple("fixed_deg", math.pi / 180.0)
    return Mount(**kwargs)


def camera_entry_toml(entry: CameraEntry) -> str:
    """The TOML text of one camera entry, in the format ``load_camera_file`` reads (for
    the simulator's ``cameras.toml`` and for users who calibrate a camera)."""
    c = entry.camera
    lines = [f"[{entry.name}]"]
    if entry.kind:
        lines.append(f'kind = "{entry.kind}"')
    lines += [f'{key} = "{value}"' for key, value in (("make", entry.make), ("model", entry.model)) if value]
    lines += [f"width = {c.width}", f"height = {c.height}", f"fx = {c.fx!r}", f"fy = {c.fy!r}",
              f"cx = {c.cx!r}", f"cy = {c.cy!r}", f"dist = [{', '.join(repr(float(d)) for d in c.dist)}]"]
    if entry.mount is not None:
        m = entry.mount

        def vec(v: Sequence[float], scale: float = 1.0) -> str:
            return "[" + ", ".join(repr(float(x) * scale) for x in v) + "]"
        lines += [f"[{entry.name}.mount]", f"lever_arm_body_m = {vec(m.lever_arm_body_m)}",
                  f"offset_gimbal_m = {vec(m.offset_gimbal_m)}",
                  f"boresight_deg = {vec(m.boresight_rad, 180.0 / math.pi)}",
                  f"fixed_deg = {vec(m.fixed_rad, 180.0 / math.pi)}"]
    return "\n".join(lines) + "\n"
