"""Radiometric decoding of thermal frames into degrees Celsius (and, later, hotspots).

    from dronepipe.thermal import decode_thermal, DecodeOptions
    img = decode_thermal("DJI_0001_R.JPG", DecodeOptions(emissivity=0.95))
    img.celsius            # float32 (H, W) degrees C, NaN = no value
    img.radiometric        # False for palette/8-bit pictures: relative values only
    img.params, img.meta   # parameters used; time, GPS, attitude from the file

The decoder is chosen by the file's content (``registry``): TIFF (linear counts or
float temperatures), FLIR R-JPEG and FFF (our own parser, ``fff`` and ``planck``), DJI
R-JPEG (optional extra ``dronepipe[dji]``), and plain pictures as relative values.
``convert_thermal`` writes float32 degrees-C TIFFs for many files.
"""

from dronepipe.thermal.convert import ConvertReport, convert_thermal
from dronepipe.thermal.options import TIFF_SCALE_PRESETS, DecodeOptions, TiffScale, tiff_scale
from dronepipe.thermal.records import CaptureMeta, LinearCounts, RadiometricParams, TemperatureImage
from dronepipe.thermal.registry import Decoder, Sniff, decode_thermal, default_decoders, is_supported
from dronepipe.thermal.relative import relative_image

__all__ = [
    "ConvertReport", "DecodeOptions", "Decoder", "CaptureMeta", "LinearCounts", "RadiometricParams",
    "Sniff", "TIFF_SCALE_PRESETS", "TemperatureImage", "TiffScale", "convert_thermal", "decode_thermal",
    "default_decoders", "is_supported", "relative_image", "tiff_scale",
]
