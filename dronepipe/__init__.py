"""dronepipe: the drone imagery pipeline of a fire brigade.

Reads MAVLink telemetry and thermal/RGB frames, georeferences every frame, builds
orthomosaics and flags hotspots, after a flight (``dronepipe process``) and live
(``dronepipe live``). See the README and DESIGN for the stages.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dronepipe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
