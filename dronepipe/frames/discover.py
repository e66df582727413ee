"""Finding the frames of a flight: ``discover_frames(folder or files) -> Discovery``.

A flight folder with ``thermal/`` and/or ``rgb/`` subfolders (the simulator's layout,
and the usual way crews copy cards) is read from those subfolders, each giving the
kind by its name; any other folder is read flat (no recursion into ``truth/``,
``video/`` or outputs) and each frame's kind comes from its content. Frames are sorted
by kind, then capture time, then name. Files that cannot be read are listed with the
reason and counted in one ``DronepipeWarning``; the rest go on.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.frames.metadata import FrameMeta, read_frame_meta
from dronepipe.frames.refs import FrameKind, FrameRef
from dronepipe.stitching.cameras import find_spec

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".png", ".fff"})
FOLDER_KINDS: dict[str, FrameKind] = {
    "thermal": "thermal", "ir": "thermal", "tir": "thermal", "lwir": "thermal",
    "infrared": "thermal", "radiometric": "thermal",
    "rgb": "rgb", "visual": "rgb", "visible": "rgb", "vis": "rgb", "color": "rgb",
    "colour": "rgb", "wide": "rgb", "zoom": "rgb",
}
# Microbolometer array sizes; no visible-light camera writes these (5:4 and odd sizes).
THERMAL_SIZES = frozenset({(640, 512), (336, 256), (320, 256), (160, 128), (1280, 1024),
                           (384, 288), (160, 120), (80, 60)})
_XMP_SOURCES: dict[str, FrameKind] = {"infraredcamera": "thermal", "widecamera": "rgb",
                                      "zoomcamera": "rgb", "visiblecamera": "rgb"}


@dataclass(frozen=True)
class Discovery:
    """The frames found (sorted) and the files that could not be read, with reasons."""

    frames: tuple[FrameRef, ...]
    unreadable: tuple[tuple[Path, str], ...] = ()

    def of_kind(self, kind: FrameKind) -> tuple[FrameRef, ...]:
        """The frames of one kind, in order."""
        return tuple(f for f in self.frames if f.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        """Number of thermal, rgb and unreadable files."""
        return {"thermal": len(self.of_kind("thermal")), "rgb": len(self.of_kind("rgb")),
                "unreadable": len(self.unreadable)}


def discover_frames(inputs: Path | Sequence[Path], kind: FrameKind | None = None,
                    kinds: Collection[FrameKind] | None = None) -> Discovery:
    """Find and read the frames in folders and/or files.

    ``kind`` forces every frame's kind; otherwise a folder's name decides (``thermal/``,
    ``rgb/`` and synonyms), then the content (``content_kind``). ``kinds``: only frames
    of these kinds are wanted, so files whose folder names another kind are not even
    read (a thermal-only job skips the metadata of every RGB frame); frames whose kind
    only their content tells are read and returned whatever it is. Raises
    ``DronepipeError`` when an input does not exist or nothing readable is found.
    """
    paths = [inputs] if isinstance(inputs, Path) else list(inputs)
    candidates: list[tuple[Path, FrameKind | None]] = []
    for p in paths:
        if not p.exists():
            raise DronepipeError(f"{p}: no such file or folder")
        candidates.extend(_candidates(p) if p.is_dir() else [(p, _kind_of_folder(p.parent))])
    frames, bad, seen = [], [], set()
    for path, folder_kind in candidates:
        key = path.resolve()
        known = kind or folder_kind
        if key in seen or (kinds is not None and known is not None and known not in kinds):
            continue
        seen.add(key)
        try:
            meta = _fff_meta(path) if path.suffix.lower() == ".fff" else read_frame_meta(path)
        except DronepipeError as exc:
            bad.append((path, str(exc)))
            continue
        frames.append(_frame(path, meta, kind or folder_kind or content_kind(meta)))
    return _finish(paths, frames, bad)


def _finish(paths: Sequence[Path], frames: list[FrameRef], bad: list[tuple[Path, str]]) -> Discovery:
    if bad:
        warnings.warn(DronepipeWarning(
            f"{len(bad)} of {len(bad) + len(frames)} image files unreadable and skipped "
            f"(first: {bad[0][1]})"), stacklevel=3)
    if not frames:
        raise DronepipeError(f"{', '.join(map(str, paths))}: no readable frames found")
    frames.sort(key=lambda f: (f.kind != "thermal", f.t_camera_s is None, f.t_camera_s or 0.0,
                               str(f.path)))
    log.info("found %d thermal and %d rgb frames (%d unreadable)",
             sum(f.kind == "thermal" for f in frames), sum(f.kind == "rgb" for f in frames), len(bad))
    return Discovery(tuple(frames), tuple(bad))


def _fff_meta(path: Path) -> FrameMeta:
    """Metadata of a FLIR FFF record (no EXIF: the time and GPS live inside the record,
    which the thermal decoder parses); the FFF time is UTC."""
    from dronepipe.thermal import decode_thermal  # only FFF needs the decoder here

    img = decode_thermal(path)
    m = img.meta
    height, width = img.shape
    offset = None
    if m.capture_time is not None and m.capture_time.utcoffset() is not None:
        offset = m.capture_time.utcoffset().total_seconds()  # type: ignore[union-attr]
    return FrameMeta(make=m.make, model=m.model, width=width, height=height, t_camera_s=m.t_utc_s,
                     utc_offset_s=offset if m.t_utc_s is not None else None, time_resolution_s=0.001,
                     lat_deg=m.lat_deg, lon_deg=m.lon_deg, gps_alt_m=m.gps_alt_exif_m,
                     pixel_mode="I;16", embedded_thermal="FLIR FFF")


def _frame(path: Path, meta: FrameMeta, kind: FrameKind) -> FrameRef:
    return FrameRef(path=path, kind=kind, t_camera_s=meta.t_camera_s, width=meta.width or 0,
                    height=meta.height or 0, meta=meta)


def _candidates(folder: Path) -> list[tuple[Path, FrameKind | None]]:
    """Image files of a folder: from its kind-named subfolders where it has any, else flat."""
    subs = [(d, FOLDER_KINDS[d.name.lower()]) for d in sorted(folder.iterdir())
            if d.is_dir() and d.name.lower() in FOLDER_KINDS]
    if subs:
        return [(f, k) for d, k in subs for f in _images(d.rglob("*"))]
    return [(f, _kind_of_folder(folder)) for f in _images(folder.iterdir())]


def _images(paths: Iterable[Path]) -> list[Path]:
    return sorted(p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _kind_of_folder(folder: Path) -> FrameKind | None:
    return FOLDER_KINDS.get(folder.name.lower())


def content_kind(meta: FrameMeta) -> FrameKind:
    """Thermal or RGB from what the file holds: a radiometric payload, DJI's XMP
    ``ImageSource``, the camera table, a single-channel 16-bit or float image, a
    microbolometer array size; RGB otherwise."""
    if meta.embedded_thermal:
        return "thermal"
    source = _XMP_SOURCES.get((meta.image_source or "").lower())
    if source:
        return source
    w, h = meta.width or 0, meta.height or 0
    spec = find_spec(meta.make, meta.model, w, h, meta.focal_mm)
    if spec is not None:
        return spec.kind
    if meta.pixel_mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return "thermal"
    return "thermal" if (max(w, h), min(w, h)) in THERMAL_SIZES else "rgb"
