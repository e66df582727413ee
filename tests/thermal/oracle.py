"""Test oracles for FLIR files, written independently of the library.

* ``exiftool_fields``: ExifTool's own reading of a file, from the ``*.exiftool.txt`` dump
  beside it, or from a live ``exiftool`` run (Debian's libimage-exiftool-perl) where
  there is no dump; ``None`` where neither is available.
* ``exiftool_raw``: ExifTool's extracted RawThermalImage as an array (live exiftool only).
* ``flir_formula_celsius``: the published FLIR raw-to-temperature formula (ExifTool
  forum thread 4898 / Thermimage ``raw2temp``), evaluated pixel by pixel in plain
  Python floats from the constants as ExifTool prints them.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import tifffile


def exiftool_available() -> bool:
    return shutil.which("exiftool") is not None


def _parse(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields


def exiftool_fields(path: Path) -> dict[str, str] | None:
    dump = path.with_suffix(".exiftool.txt")
    if dump.is_file():
        return _parse(dump.read_text(encoding="utf-8", errors="replace"))
    if not exiftool_available():
        return None
    out = subprocess.run(["exiftool", str(path)], capture_output=True, text=True, check=True, timeout=60)
    return _parse(out.stdout)


def exiftool_raw(path: Path) -> np.ndarray | None:
    if not exiftool_available():
        return None
    blob = subprocess.run(["exiftool", "-b", "-RawThermalImage", str(path)], capture_output=True,
                          check=True, timeout=60).stdout
    if blob.startswith(b"\x89PNG"):
        # ExifTool extracts the PNG as stored; FLIR's samples inside are little-endian
        return cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED).byteswap()
    return tifffile.imread(__import__("io").BytesIO(blob))


def number(text: str) -> float:
    """The leading number of an ExifTool value ('2.00 m', '21.0 C', '49.0 %')."""
    match = re.match(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)
    assert match, text
    return float(match.group(0))


def flir_formula_celsius(raw: np.ndarray, f: dict[str, str]) -> np.ndarray:
    """Object temperature per pixel by FLIR's formula, constants from ExifTool fields."""
    r1, r2, b = number(f["Planck R1"]), number(f["Planck R2"]), number(f["Planck B"])
    pf, po = number(f["Planck F"]), number(f["Planck O"])
    emis, dist = number(f["Emissivity"]), number(f["Object Distance"])
    t_refl, t_atm = number(f["Reflected Apparent Temperature"]), number(f["Atmospheric Temperature"])
    t_win, trans_win = number(f["IR Window Temperature"]), number(f["IR Window Transmission"])
    rh = number(f["Relative Humidity"])
    a1, a2 = number(f["Atmospheric Trans Alpha 1"]), number(f["Atmospheric Trans Alpha 2"])
    b1, b2 = number(f["Atmospheric Trans Beta 1"]), number(f["Atmospheric Trans Beta 2"])
    x = number(f["Atmospheric Trans X"])

    def raw_of(t_c: float) -> float:
        return r1 / (r2 * (math.exp(b / (t_c + 273.15)) - pf)) - po

    h2o = rh / 100 * math.exp(1.5587 + 0.06939 * t_atm - 0.00027816 * t_atm ** 2 + 0.00000068455 * t_atm ** 3)
    half = math.sqrt(dist / 2)
    tau = (x * math.exp(-half * (a1 + b1 * math.sqrt(h2o)))
           + (1 - x) * math.exp(-half * (a2 + b2 * math.sqrt(h2o))))
    refl1 = (1 - emis) / emis * raw_of(t_refl)
    atm1 = (1 - tau) / emis / tau * raw_of(t_atm)
    wind = (1 - trans_win) / emis / tau / trans_win * raw_of(t_win)
    atm2 = (1 - tau) / emis / tau / trans_win / tau * raw_of(t_atm)

    def temp(s: int) -> float:
        obj = s / emis / tau / trans_win / tau - atm1 - atm2 - wind - refl1
        return b / math.log(r1 / (r2 * (obj + po)) + pf) - 273.15

    values, inverse = np.unique(raw, return_inverse=True)
    return np.array([temp(int(v)) for v in values])[inverse].reshape(raw.shape)
