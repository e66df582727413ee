"""The decoder registry: which decoder reads a file is decided by what the file is.

Each decoder looks at the file's content (magic bytes, TIFF structure, FLIR FFF
segments in APP1, DJI raw segments in APP3/APP4) through a ``Sniff``; the first
decoder in ``DEFAULT_DECODERS`` that claims the file decodes it. Camera names are
never consulted for the choice. Adding a format is adding a class to the list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from dronepipe.errors import DronepipeError, ThermalDecodeError
from dronepipe.thermal import jpeg
from dronepipe.thermal.options import DecodeOptions
from dronepipe.thermal.records import TemperatureImage

log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Sniff:
    """A file as the decoders see it: its first bytes, and (read on demand) all of it."""

    path: Path
    head: bytes

    @classmethod
    def open(cls, path: Path) -> Sniff:
        """Read the head of ``path``; a missing or unreadable file is a ``ThermalDecodeError``."""
        try:
            with open(path, "rb") as fh:
                return cls(Path(path), fh.read(HEAD_BYTES))
        except OSError as exc:
            raise ThermalDecodeError(f"{path}: cannot read ({exc.strerror or exc})") from exc

    @cached_property
    def data(self) -> bytes:
        """The whole file."""
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise ThermalDecodeError(f"{self.path}: cannot read ({exc.strerror or exc})") from exc

    @cached_property
    def jpeg_layout(self) -> jpeg.JpegLayout | None:
        """The JPEG header segments, or ``None`` when the file is not a JPEG."""
        return jpeg.read_layout(self.data) if jpeg.is_jpeg(self.head) else None


class Decoder(Protocol):
    """A thermal format: ``probe`` says whether a file is one, ``decode`` reads it."""

    name: str

    def probe(self, sniff: Sniff) -> bool:
        """Whether this decoder claims the file (content only, cheap, never raises)."""
        ...

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """The file's temperatures; raises ``ThermalDecodeError`` for a bad file."""
        ...


def default_decoders() -> tuple[Decoder, ...]:
    """The built-in decoders, most specific first (the relative-image fallback last)."""
    from dronepipe.thermal.dji import DjiRJpegDecoder
    from dronepipe.thermal.flir import FffDecoder, FlirJpegDecoder
    from dronepipe.thermal.relative import RelativeImageDecoder
    from dronepipe.thermal.tiff import TiffDecoder

    return (TiffDecoder(), FffDecoder(), FlirJpegDecoder(), DjiRJpegDecoder(), RelativeImageDecoder())


def find_decoder(sniff: Sniff, decoders: Sequence[Decoder] | None = None) -> Decoder | None:
    """The first decoder that claims the file, or ``None``."""
    for decoder in decoders if decoders is not None else default_decoders():
        try:
            if decoder.probe(sniff):
                return decoder
        except DronepipeError as exc:          # unreadable while probing: nobody claims it
            log.debug("%s: probe of %s failed: %s", sniff.path, decoder.name, exc)
            return None
    return None


def decode_thermal(path: str | Path, options: DecodeOptions | None = None,
                   decoders: Sequence[Decoder] | None = None, *,
                   keep_counts: bool = False) -> TemperatureImage:
    """Decode one thermal frame to degrees Celsius, choosing the decoder by the file's content.

    ``keep_counts``: also keep the 16-bit counts the temperatures came from, where the
    decoder has them (``TemperatureImage.linear``; a 16-bit TIFF), for a holder that
    keeps the counts rather than the degrees (2 bytes a pixel instead of 4); else the
    image holds the degrees only.

    Raises ``ThermalDecodeError`` (naming the file) for unsupported, corrupt or
    truncated files and ``MissingDependencyError`` where an optional package is needed.
    """
    path = Path(path)
    if not path.is_file():
        raise ThermalDecodeError(f"{path}: no such file")
    sniff = Sniff.open(path)
    decoder = find_decoder(sniff, decoders)
    if decoder is None:
        raise ThermalDecodeError(f"{path}: not a supported thermal image "
                                 f"(starts with {sniff.head[:8].hex(' ') or 'nothing: empty file'})")
    log.debug("%s: decoding as %s", path, decoder.name)
    try:
        image = decoder.decode(sniff, options or DecodeOptions())
    except DronepipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure on bad bytes becomes one clear error
        raise ThermalDecodeError(f"{path}: corrupt {decoder.name} file ({type(exc).__name__}: {exc})") from exc
    return image if keep_counts or image.linear is None else replace(image, linear=None)


def is_supported(path: str | Path, decoders: Sequence[Decoder] | None = None) -> bool:
    """Whether some decoder claims the file (without decoding it)."""
    try:
        return find_decoder(Sniff.open(Path(path)), decoders) is not None
    except ThermalDecodeError:
        return False
