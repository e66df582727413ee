"""FLIR radiometric frames: R-JPEGs (FFF in APP1 ``FLIR`` segments) and bare ``.fff`` files.

The FFF container is read by ``dronepipe.thermal.fff`` and the raw signal converted by
``dronepipe.thermal.planck`` with the file's own object and atmosphere parameters,
each overridable through ``DecodeOptions``. Cameras with a FLIR core inside another
brand (DJI Zenmuse XT2, XT) are FLIR files and decode here.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from dronepipe.thermal import fff, jpeg, metadata, planck
from dronepipe.thermal.options import DecodeOptions
from dronepipe.thermal.records import CaptureMeta, RadiometricParams, TemperatureImage
from dronepipe.thermal.registry import Sniff

log = logging.getLogger(__name__)

_OVERRIDABLE = ("emissivity", "object_distance_m", "reflected_temp_c", "atmospheric_temp_c",
                "relative_humidity_pct", "ir_window_temp_c", "ir_window_transmission")


def effective_params(own: RadiometricParams, options: DecodeOptions) -> RadiometricParams:
    """The file's parameters with every override the options set."""
    changes = {name: getattr(options, name) for name in _OVERRIDABLE if getattr(options, name) is not None}
    return dataclasses.replace(own, **changes)


def flir_temperature_image(frame: fff.FlirFrame, sniff: Sniff, options: DecodeOptions,
                           outer_meta: CaptureMeta, decoder: str) -> TemperatureImage:
    """A ``TemperatureImage`` from a parsed FFF frame (``outer_meta``: the JPEG's EXIF/XMP)."""
    cam = frame.camera
    params = effective_params(cam.params, options)
    celsius = planck.raw_to_celsius(frame.raw, cam.planck, cam.atmosphere, params)
    notes = [f"FLIR raw {frame.raw.shape[1]}x{frame.raw.shape[0]} ({frame.raw_storage}), Planck "
             f"R1={cam.planck.r1:g} R2={cam.planck.r2:g} B={cam.planck.b:g} F={cam.planck.f:g} O={cam.planck.o:g}"]
    undefined = int(np.count_nonzero(np.isnan(celsius)))
    if undefined:
        notes.append(f"{undefined} pixels have no temperature (signal below the calibration)")
        log.warning("%s: %d pixels have no temperature (signal below the calibration)", sniff.path, undefined)
    fff_meta = CaptureMeta(model=cam.model, capture_time=cam.capture_time, t_utc_s=cam.t_utc_s,
                         lat_deg=frame.lat_deg, lon_deg=frame.lon_deg, gps_alt_exif_m=frame.gps_alt_m)
    timing = CaptureMeta(capture_time=cam.capture_time, t_utc_s=cam.t_utc_s)  # FFF time has ms and zone
    meta = timing.merged(outer_meta).merged(fff_meta)
    return TemperatureImage(celsius, True, sniff.path, decoder, params, meta, tuple(notes))


class FlirJpegDecoder:
    """FLIR radiometric JPEG: an FFF container in APP1 segments starting ``FLIR\\0``."""

    name = "flir-rjpeg"

    def probe(self, sniff: Sniff) -> bool:
        """A JPEG with at least one APP1 ``FLIR`` segment."""
        layout = sniff.jpeg_layout
        return layout is not None and bool(layout.payloads(sniff.data, jpeg.APP1, fff.FLIR_APP1_PREFIX))

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """Parse the FFF records and convert the raw signal to degrees C."""
        layout = sniff.jpeg_layout
        assert layout is not None
        source = str(sniff.path)
        frame = fff.parse_fff(fff.fff_from_jpeg(sniff.data, layout, source), source)
        return flir_temperature_image(frame, sniff, options, metadata.jpeg_meta(sniff.data, layout), self.name)


class FffDecoder:
    """A bare FLIR FFF frame (``.fff``, or the first frame of a ``.seq``), starting ``FFF\\0``."""

    name = "flir-fff"

    def probe(self, sniff: Sniff) -> bool:
        """The FFF magic at offset 0."""
        return fff.is_fff(sniff.head)

    def decode(self, sniff: Sniff, options: DecodeOptions) -> TemperatureImage:
        """Parse the FFF records and convert the raw signal to degrees C."""
        frame = fff.parse_fff(sniff.data, str(sniff.path))
        return flir_temperature_image(frame, sniff, options, CaptureMeta(), self.name)
