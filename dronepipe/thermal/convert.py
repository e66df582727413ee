"""Batch conversion of thermal frames to float32 degrees-C TIFFs (``dronepipe thermal``).

Files named explicitly are converted (or reported as failures); folders are scanned
recursively for files a decoder claims, mirroring their sub-folders in the output,
and the files no decoder claims are counted in one warning. A frame that cannot be
decoded gives one warning line and the run goes on. Non-radiometric pictures are
skipped (counted) unless ``include_relative`` is set.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dronepipe.errors import DronepipeError, DronepipeWarning
from dronepipe.outputs.temperature_tiff import temperature_tiff_name, write_temperature_tiff
from dronepipe.thermal.options import DecodeOptions
from dronepipe.thermal.registry import decode_thermal, is_supported

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ConvertReport:
    """What a conversion did: ``written`` (source, output) pairs, ``failed`` (source, reason)
    pairs, ``unsupported`` files found in folders, ``relative_skipped`` non-radiometric frames."""

    written: tuple[tuple[Path, Path], ...]
    failed: tuple[tuple[Path, str], ...]
    unsupported: tuple[Path, ...]
    relative_skipped: tuple[Path, ...]


def collect_inputs(inputs: Iterable[Path], out_dir: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """([(file, output sub-folder)], [unsupported files found in folders]).

    Files inside ``out_dir`` are never inputs (a rerun must not convert its own outputs).
    """
    jobs: list[tuple[Path, Path]] = []
    unsupported: list[Path] = []
    out_resolved = out_dir.resolve()
    for item in inputs:
        item = Path(item)
        if not item.is_dir():
            jobs.append((item, Path()))
            continue
        for path in sorted(p for p in item.rglob("*") if p.is_file()):
            if out_resolved in path.resolve().parents:
                continue
            if is_supported(path):
                jobs.append((path, path.parent.relative_to(item)))
            else:
                unsupported.append(path)
    return jobs, unsupported


def convert_thermal(inputs: Sequence[Path], out_dir: Path, options: DecodeOptions | None = None, *,
                    include_relative: bool = False, progress: ProgressFn | None = None) -> ConvertReport:
    """Write ``<stem>_temp_c.tif`` (float32 degrees C) into ``out_dir`` for every thermal frame."""
    out_dir = Path(out_dir)
    jobs, unsupported = collect_inputs(inputs, out_dir)
    if unsupported:
        kinds = sorted({p.suffix.lower() or "(no suffix)" for p in unsupported})
        warnings.warn(f"{len(unsupported)} files are not supported thermal images and were skipped "
                      f"({', '.join(kinds[:8])})", DronepipeWarning, stacklevel=2)
    written: list[tuple[Path, Path]] = []
    failed: list[tuple[Path, str]] = []
    relative: list[Path] = []
    claimed: dict[Path, Path] = {}
    for done, (src, sub) in enumerate(jobs):
        if progress:
            progress("thermal", done, len(jobs))
        target = out_dir / sub / temperature_tiff_name(src)
        reason = _convert_one(src, target, claimed, options, include_relative, relative, written)
        if reason:
            failed.append((src, reason))
            warnings.warn(reason, DronepipeWarning, stacklevel=2)
    if progress:
        progress("thermal", len(jobs), len(jobs))
    if relative:
        warnings.warn(f"{len(relative)} frames are not radiometric (relative values only) and were skipped",
                      DronepipeWarning, stacklevel=2)
    return ConvertReport(tuple(written), tuple(failed), tuple(unsupported), tuple(relative))


def _convert_one(src: Path, target: Path, claimed: dict[Path, Path], options: DecodeOptions | None,
                 include_relative: bool, relative: list[Path], written: list[tuple[Path, Path]]) -> str | None:
    """Decode and write one frame; the failure reason, or None."""
    if target in claimed:
        return f"{src}: its output {target.name} would overwrite that of {claimed[target]}; rename one"
    try:
        image = decode_thermal(src, options)
    except DronepipeError as exc:
        return str(exc)
    if not image.radiometric and not include_relative:
        relative.append(src)
        return None
    claimed[target] = src
    try:
        write_temperature_tiff(target, image)
    except OSError as exc:                   # the output folder is unusable: stop the run
        raise DronepipeError(f"{target}: cannot write ({exc.strerror or exc})") from exc
    written.append((src, target))
    log.info("%s -> %s", src, target)
    return None
