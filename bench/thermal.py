"""Thermal decode speed per format against a plain read of the same files, side by side.

For each format: frames per second of ``decode_thermal`` (parse + conversion to float32
degrees C) and of a plain read without any conversion (the file's bytes, then
``cv2.imdecode`` of a JPEG's visible picture, ``tifffile.imread`` of a TIFF, or a uint16
view of an FFF file), and their ratio. Real files from ../shared/realdata/thermal are used
where present, synthetic ones (``dronepipe.thermal.synthetic``, 640x512) otherwise and
in addition. DJI R-JPEGs are split by the SDK family, whose speeds differ a lot.

    python bench/thermal.py                # about 0.5 s of timing per row
    python bench/thermal.py --seconds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import tifffile

from dronepipe.thermal import DecodeOptions, decode_thermal, synthetic

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "thermal"


def plain_read(path: Path) -> object:
    """The file read without temperature conversion (the floor a decoder cannot beat)."""
    data = path.read_bytes()
    if data[:3] == b"\xff\xd8\xff":
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return tifffile.imread(path)
    return np.frombuffer(data[: len(data) // 2 * 2], np.uint16)


def rate(fn: Callable[[Path], object], files: list[Path], seconds: float) -> float:
    """Frames per second of ``fn`` cycling over ``files`` for about ``seconds`` (after one warm-up)."""
    for path in files:
        fn(path)
    done, start = 0, time.perf_counter()
    while True:
        for path in files:
            fn(path)
        done += len(files)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def synthetic_files(folder: Path) -> dict[str, list[Path]]:
    """640x512 synthetic frames of each format we can make."""
    scene = synthetic.FlirScene(synthetic.gradient_scene(640, 512, 5.0, 90.0))
    files = {"TIFF centikelvin (synthetic)": ("s.tif", synthetic.centikelvin_tiff_bytes(scene.celsius)),
             "FLIR R-JPEG raw (synthetic)": ("s_raw.jpg", synthetic.flir_jpeg_bytes(synthetic.fff_bytes(scene))),
             "FLIR R-JPEG PNG (synthetic)": ("s_png.jpg",
                                             synthetic.flir_jpeg_bytes(synthetic.fff_bytes(scene, png=True))),
             "FFF (synthetic)": ("s.fff", synthetic.fff_bytes(scene))}
    out = {}
    for label, (name, data) in files.items():
        (folder / name).write_bytes(data)
        out[label] = [folder / name]
    return out


def real_files() -> dict[str, list[Path]]:
    """The real files by format (empty where ../shared/realdata is absent)."""
    if not REALDATA.is_dir():
        return {}
    groups = {
        "TIFF decicelsius (DJI SDK map)": sorted(REALDATA.glob("dji_sdk_groundtruth/*.tiff")),
        "FLIR R-JPEG (XT2, E40, B60, AX8, ...)": sorted(REALDATA.glob("flir_rjpeg/*.jpg")),
        "FFF (Duo Pro R, T420)": sorted(REALDATA.glob("flir_fff/*.fff")),
    }
    if importlib.util.find_spec("dji_thermal_cli"):
        dji = sorted(REALDATA.glob("dji_rjpeg/**/*.[jJ][pP][gG]"))
        groups["DJI R-JPEG dirp (H20T, XT S)"] = [p for p in dji if "H20T" in p.as_posix() or "XTS" in p.name]
        dirp = groups["DJI R-JPEG dirp (H20T, XT S)"]
        groups["DJI R-JPEG iirp (M2EA, M3T, H20N)"] = [p for p in dji if p not in dirp]
    return {k: v for k, v in groups.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="timing per row (after a warm-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        groups = {**real_files(), **synthetic_files(Path(tmp))}
        print(f"{'format':38s} {'files':>5s} {'pixels':>9s} {'decode fps':>11s} {'plain fps':>10s} "
              f"{'plain/decode':>12s}")
        for label, files in groups.items():
            options = DecodeOptions(tiff_scale="decicelsius") if "decicelsius" in label else DecodeOptions()

            def decode(path: Path, options: DecodeOptions = options) -> object:
                return decode_thermal(path, options)

            shapes = {decode(path).shape for path in files}
            size = "{1}x{0}".format(*shapes.pop()) if len(shapes) == 1 else "mixed"
            fps_decode, fps_plain = rate(decode, files, args.seconds), rate(plain_read, files, args.seconds)
            print(f"{label:38s} {len(files):5d} {size:>9s} {fps_decode:11.1f} "
                  f"{fps_plain:10.1f} {fps_plain / fps_decode:11.1f}x")


if __name__ == "__main__":
    main()
