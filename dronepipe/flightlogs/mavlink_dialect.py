"""The one place where dronepipe imports pymavlink's MAVLink code.

We use the generated ``ardupilotmega`` dialect module directly (MAVLink 2 module, which
also parses MAVLink 1 frames) and never ``pymavlink.mavutil``: mavutil picks its dialect
and protocol version from environment variables at import time, rewrites
``os.environ``, and switches protocol globally when it sees the first frame. A parser
made here is a plain object with no shared state, so several can run in threads.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dronepipe.errors import MissingDependencyError


def dialect() -> ModuleType:
    """pymavlink's MAVLink 2 ``ardupilotmega`` dialect module (imported on first use)."""
    try:
        from pymavlink.dialects.v20 import ardupilotmega
    except ImportError as exc:  # pragma: no cover - pymavlink is a dependency
        raise MissingDependencyError(
            "reading MAVLink needs pymavlink: pip install 'pymavlink>=2.4.40'") from exc
    return ardupilotmega


def new_parser(src_system: int = 255, src_component: int = 190) -> Any:
    """A fresh MAVLink 1+2 parser/encoder that reports bad data instead of raising."""
    mav = dialect().MAVLink(None, srcSystem=src_system, srcComponent=src_component)
    mav.robust_parsing = True
    return mav


def enum_name(enum: str, value: int) -> str:
    """Readable name of a MAVLink enum value ("MAV_TYPE", 2 -> "Quadrotor"), "" if unknown."""
    entry = dialect().enums.get(enum, {}).get(value)
    if entry is None or entry.name.endswith("_ENUM_END"):
        return ""
    name = entry.name[len(enum) + 1:] if entry.name.startswith(enum + "_") else entry.name
    return name.replace("_", " ").capitalize()
