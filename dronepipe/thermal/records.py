"""The records a thermal decoder returns: ``TemperatureImage``, ``RadiometricParams``, ``CaptureMeta``.

Units are in the field names: degrees Celsius (``_c``), metres (``_m``), percent
(``_pct``), degrees of angle (``_deg``, as the files give them), UTC seconds since the
Unix epoch (``t_utc_s``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RadiometricParams:
    """The object and atmosphere parameters a temperature was computed with.

    ``None`` where the format has no such parameter (a TIFF of finished temperatures,
    a palette image). ``relative_humidity_pct`` is 0-100. For FLIR files these are the
    file's own values unless overridden through ``DecodeOptions``; for DJI they are the
    values DJI's Thermal SDK measured with.
    """

    emissivity: float | None = None
    object_distance_m: float | None = None
    reflected_temp_c: float | None = None
    atmospheric_temp_c: float | None = None
    relative_humidity_pct: float | None = None
    ir_window_temp_c: float | None = None
    ir_window_transmission: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The parameters that are set, by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class CaptureMeta:
    """What a thermal file says about where, when and how it was taken (all optional).

    The subset the temperature products carry along (``dronepipe.frames`` reads the
    full camera metadata for georeferencing); it also holds what only the thermal
    containers know, such as the time and GPS inside a FLIR FFF record.

    ``capture_time`` is the camera's clock as written (timezone-aware only where the
    file states its offset); ``t_utc_s`` is set only where the file pins UTC (an EXIF
    offset, FLIR's FFF time, DJI's ``UTCAtExposure``). ``gps_alt_exif_m`` is the EXIF
    GPSAltitude as written: EXIF defines it above sea level, but some cameras write
    a height above take-off or the ellipsoid, so treat its datum as unknown.
    ``alt_rel_m`` (DJI XMP RelativeAltitude) is the height above take-off and
    ``alt_abs_xmp_m`` DJI's AbsoluteAltitude. Gimbal and flight attitude are DJI XMP
    degrees (gimbal pitch -90 looks straight down).
    """

    make: str | None = None
    model: str | None = None
    capture_time: datetime | None = None
    t_utc_s: float | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    gps_alt_exif_m: float | None = None
    alt_rel_m: float | None = None
    alt_abs_xmp_m: float | None = None
    gimbal_roll_deg: float | None = None
    gimbal_pitch_deg: float | None = None
    gimbal_yaw_deg: float | None = None
    flight_roll_deg: float | None = None
    flight_pitch_deg: float | None = None
    flight_yaw_deg: float | None = None
    lrf_distance_m: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, by name (datetimes as ISO 8601 text)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def merged(self, other: CaptureMeta) -> CaptureMeta:
        """This record with its unset fields taken from ``other``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in values.items():
            if value is None:
                values[name] = getattr(other, name)
        return CaptureMeta(**values)


_SHARED_TABLES: dict[int, tuple[np.ndarray, Callable[..., np.ndarray], tuple[Any, ...]]] = {}


def shared_table(table: np.ndarray, make: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    """Record that ``table`` is what ``make(*args)`` returns (a cached, read-only table
    of counts to degrees C that many frames share), so that a ``LinearCounts`` holding it
    pickles as ``make`` and ``args``: a module-level function that returns a table of
    the same values on every call with them (and, cached, the same table). Returns
    ``table``."""
    _SHARED_TABLES[id(table)] = (table, make, args)
    return table


def _linear_from_recipe(counts: np.ndarray, make: Callable[..., np.ndarray],
                        args: tuple[Any, ...]) -> LinearCounts:
    counts.flags.writeable = False
    return LinearCounts(counts, make(*args))


@dataclass(frozen=True, eq=False)
class LinearCounts:
    """The 16-bit counts a frame's temperatures were converted from, and the conversion:
    ``table[counts]`` is the frame's ``celsius`` bit for bit. ``counts`` uint16 (height,
    width), ``table`` float32 (65536,) degrees C of each count (NaN: no data); both
    read-only, the table shared by every frame of a scale. Half the bytes of degrees C."""

    counts: np.ndarray
    table: np.ndarray

    def celsius(self) -> np.ndarray:
        """The degrees C (float32, a new array)."""
        return np.take(self.table, self.counts)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled with its table as the recipe that made it where the table is a shared
        one (``shared_table``): 128 kB less a frame, and the process that unpickles it
        shares the table too."""
        recipe = _SHARED_TABLES.get(id(self.table))
        if recipe is not None and recipe[0] is self.table:
            return _linear_from_recipe, (self.counts, recipe[1], recipe[2])
        return LinearCounts, (self.counts, self.table)

    @property
    def nbytes(self) -> int:
        """Bytes of the counts (the shared table not included)."""
        return int(self.counts.nbytes)


@dataclass(frozen=True, eq=False)
class TemperatureImage:
    """One decoded thermal frame.

    ``celsius`` is a read-only float32 (height, width) array in degrees Celsius; NaN
    marks pixels without a value. Where ``radiometric`` is False the values are only
    relative (a palette or 8-bit image mapped onto a span, see ``notes``): they order
    pixels from cold to hot but are not temperatures, and every product made from them
    must say so. ``decoder`` names the decoder that produced the image. ``linear``: the
    16-bit counts the temperatures came from, where asked for
    (``decode_thermal(keep_counts=True)``) and the file holds them, else None.
    """

    celsius: np.ndarray
    radiometric: bool
    source: Path
    decoder: str
    params: RadiometricParams = field(default_factory=RadiometricParams)
    meta: CaptureMeta = field(default_factory=CaptureMeta)
    notes: tuple[str, ...] = ()
    linear: LinearCounts | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        arr = np.asarray(self.celsius)
        if arr.ndim != 2:
            raise ValueError(f"celsius must be a 2-D array, got shape {arr.shape}")
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        if arr.flags.writeable:
            arr = arr.view()
            arr.flags.writeable = False
        object.__setattr__(self, "celsius", arr)
        object.__setattr__(self, "source", Path(self.source))

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.celsius.shape  # type: ignore[return-value]

    @property
    def emissivity(self) -> float | None:
        """Object emissivity used (0-1)."""
        return self.params.emissivity

    @property
    def object_distance_m(self) -> float | None:
        """Object distance used, metres."""
        return self.params.object_distance_m

    @property
    def reflected_temp_c(self) -> float | None:
        """Reflected apparent temperature used, degrees C."""
        return self.params.reflected_temp_c

    @property
    def atmospheric_temp_c(self) -> float | None:
        """Atmospheric temperature used, degrees C."""
        return self.params.atmospheric_temp_c

    @property
    def relative_humidity_pct(self) -> float | None:
        """Relative humidity used, percent."""
        return self.params.relative_humidity_pct
