"""Columnar telemetry tracks: position, vehicle attitude, gimbal attitude.

Each track is a frozen dataclass of equally long, read-only numpy arrays sorted by
``t_utc_s`` (UTC seconds since the Unix epoch); each track keeps its own clock (its
own sample times). ``source`` names the message the samples came from.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

T = TypeVar("T", bound="_Track")


def int16_column(values: ArrayLike) -> NDArray[np.int16]:
    """Integers as int16, -1 where a value is NaN or out of range (unknown)."""
    src = np.asarray(values)
    if src.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(src) & (src >= -32768) & (src <= 32767)
        src = np.where(ok, src, -1)
    return np.asarray(src, dtype=np.int16)


def _frozen_array(values: ArrayLike, dtype: Any) -> NDArray:
    """A read-only 1-D copy (integer columns: -1 for NaN or out-of-range values)."""
    src = int16_column(values) if np.dtype(dtype) == np.int16 else values
    arr = np.array(src, dtype=dtype, copy=True).reshape(-1)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class _Track:
    """Common behaviour: arrays of one length, sorted by time, read-only."""

    def __post_init__(self) -> None:
        lengths = set()
        for f in fields(self):
            if f.name == "source":
                continue
            arr = _frozen_array(getattr(self, f.name), self._dtype_of(f.name))
            object.__setattr__(self, f.name, arr)
            lengths.add(arr.size)
        if len(lengths) > 1:
            raise ValueError(f"{type(self).__name__}: columns of different lengths {sorted(lengths)}")

    def _dtype_of(self, name: str) -> Any:
        return np.float64

    def __len__(self) -> int:
        return int(self.t_utc_s.size)  # type: ignore[attr-defined]

    def column_names(self) -> list[str]:
        """Names of the array columns."""
        return [f.name for f in fields(self) if f.name != "source"]

    def take(self: T, index: ArrayLike) -> T:
        """A new track of the rows at ``index`` (an index array or boolean mask)."""
        kwargs = {name: getattr(self, name)[index] for name in self.column_names()}
        return type(self)(**kwargs, source=self.source)  # type: ignore[call-arg,attr-defined]

    @classmethod
    def empty(cls: type[T], source: str = "") -> T:
        """A track without samples."""
        names = [f.name for f in fields(cls) if f.name != "source"]
        return cls(**{n: np.zeros(0) for n in names}, source=source)  # type: ignore[call-arg]

    def sorted(self: T) -> T:
        """The same samples sorted by time (stable), non-finite times dropped."""
        t = self.t_utc_s  # type: ignore[attr-defined]
        keep = np.flatnonzero(np.isfinite(t))
        order = keep[np.argsort(t[keep], kind="stable")]
        return self.take(order)


@dataclass(frozen=True, eq=False)
class PositionTrack(_Track):
    """Vehicle positions. Latitude/longitude WGS84 degrees; ``alt_msl_m`` metres above
    mean sea level; ``alt_rel_m`` metres above take-off (home); ``ground_speed_m_s``;
    GNSS quality of the fix in force: ``fix_type`` (MAVLink GPS_FIX_TYPE, 3 = 3D; -1
    unknown), ``satellites`` (-1 unknown), ``hdop`` (NaN unknown)."""

    t_utc_s: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    alt_msl_m: NDArray[np.float64]
    alt_rel_m: NDArray[np.float64]
    ground_speed_m_s: NDArray[np.float64]
    fix_type: NDArray[np.int16]
    satellites: NDArray[np.int16]
    hdop: NDArray[np.float64]
    source: str = ""

    def _dtype_of(self, name: str) -> Any:
        return np.int16 if name in ("fix_type", "satellites") else np.float64


@dataclass(frozen=True, eq=False)
class AttitudeTrack(_Track):
    """Vehicle attitude: Z-Y-X Euler angles in radians against local NED (yaw clockwise
    from true north)."""

    t_utc_s: NDArray[np.float64]
    roll_rad: NDArray[np.float64]
    pitch_rad: NDArray[np.float64]
    yaw_rad: NDArray[np.float64]
    source: str = ""


@dataclass(frozen=True, eq=False)
class GimbalTrack(_Track):
    """Gimbal attitude in radians: roll and pitch against the horizon (pitch -pi/2 is
    straight down), ``yaw_rad`` as logged, in the frame ``yaw_is_earth`` says (True:
    clockwise from true north; False: relative to the vehicle's heading), and
    ``yaw_earth_rad``, the yaw turned into the earth frame with the vehicle's yaw at the
    sample time (NaN where the vehicle's yaw is not known then)."""

    t_utc_s: NDArray[np.float64]
    roll_rad: NDArray[np.float64]
    pitch_rad: NDArray[np.float64]
    yaw_rad: NDArray[np.float64]
    yaw_is_earth: NDArray[np.bool_]
    yaw_earth_rad: NDArray[np.float64]
    source: str = ""

    def _dtype_of(self, name: str) -> Any:
        return bool if name == "yaw_is_earth" else np.float64
