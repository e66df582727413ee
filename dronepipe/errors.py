"""Errors and warnings of dronepipe.

Every error a user can cause with bad input is a ``DronepipeError`` (or a subclass)
whose message names the file and what is wrong; the CLI prints it on one line and
exits with code 1. Problems where the rest of the input is usable are reported as a
``DronepipeWarning`` with counts, and the run goes on.
"""

from __future__ import annotations


class DronepipeError(Exception):
    """A problem with the user's input or environment that stops the current job."""


class LogFormatError(DronepipeError):
    """A flight log that cannot be read, or holds nothing usable."""


class NoPoseError(DronepipeError):
    """No pose can be given for a time (outside the log, or across a gap)."""


class ThermalDecodeError(DronepipeError):
    """A thermal frame that cannot be decoded to temperatures."""


class MissingDependencyError(DronepipeError):
    """An optional dependency is needed for this input; the message says how to install it."""


class DronepipeWarning(UserWarning):
    """Input was partly unusable (counts in the message); the run went on with the rest."""


class GeoreferenceError(DronepipeError):
    """A frame that cannot be placed on the map (its centre does not see the ground, ...)."""


class VerticalDatumError(DronepipeError):
    """Heights in different vertical datums (MSL, ellipsoid) mixed without the offset between them."""


class LinkError(DronepipeError):
    """A live telemetry link that cannot be opened or has failed (the message names it)."""
