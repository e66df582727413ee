"""What a log says about the vehicle: firmware banner and vehicle kind.

ArduPilot announces itself in a text message at boot ("ArduCopter V4.1.1 (01d1aa1e)",
"APM:Copter V3.3-dev (ae3192b8)"), in DataFlash MSG records and in MAVLink STATUSTEXT.
"""

from __future__ import annotations

import re

_BANNER = re.compile(
    r"^(?P<fw>(?:Ardu(?P<k1>Copter|Plane|Rover|Sub|Heli|Tracker|Blimp)"
    r"|APM:(?P<k2>Copter|Plane|Rover|Sub|Heli|Tracker)"
    r"|(?P<k3>Blimp|AntennaTracker|ArduRover|Rover))\s+V\S+(?:\s+\([0-9a-fA-F]+\))?)")

_KINDS = {"Heli": "Helicopter", "Tracker": "Antenna tracker", "AntennaTracker": "Antenna tracker",
          "ArduRover": "Rover"}


def parse_banner(text: str) -> tuple[str, str] | None:
    """(firmware, vehicle kind) of a firmware banner text, or None where it is not one."""
    m = _BANNER.match(text.strip())
    if m is None:
        return None
    kind = m.group("k1") or m.group("k2") or m.group("k3") or ""
    return m.group("fw"), _KINDS.get(kind, kind)


def first_banner(texts: list[str]) -> tuple[str, str]:
    """(firmware, vehicle kind) from the first banner among texts, ("", "") if none."""
    for text in texts:
        found = parse_banner(text)
        if found is not None:
            return found
    return "", ""


def frame_from_texts(texts: list[str]) -> str:
    """The frame ArduPilot reports ("Frame: QUAD/X" -> "QUAD/X"), "" if none."""
    for text in texts:
        if text.startswith("Frame: "):
            return text[len("Frame: "):].strip()
    return ""
