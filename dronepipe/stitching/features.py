"""Image features of one frame, placed on the map: extract once, match many times.

A frame's keypoints are found on its contrast-normalised working image
(``normalise``), described (SIFT by default: scale and rotation invariant, which the
frames of a lawn-mower pattern need, flown in opposite directions; ORB is faster and
coarser, its positions put in SIFT's pixel-centre convention by ``orb``), and projected
to the ground through the frame's raw geometry (GNSS pose, camera, ground, no
correction). A correction is a map transform, so the corrected position of a keypoint
is ``correction.apply(raw_m)``: matching and adjustment never touch pixels again.
Keypoints whose rays miss the ground are dropped.

Each frame kind has its own settings (``KindFeatures``), chosen by CPU per frame at
unchanged accuracy (bench/accuracy.py, the Toledo set). Batch registration ties thermal
frames by guided flow instead (``flow``) wherever their headings are known; the thermal
settings here serve the live mode and blocks with an unknown heading:

- thermal 640x512: 800 keypoints on a 320 px working image; where a low-texture scene
  (water, a bare field) gives under half of that, again at full size. About 30-40 ms
  CPU a frame instead of 100 (1500 on the full frame);
- RGB 2000x1500: 1000 keypoints on a 1000 px working image (an exact halving, which
  OpenCV's area resize does fast): 270 ms instead of 460 (1500 on 1200 px).

Matching works in working pixels of ground (``FrameFeatures.work_gsd_m``, ``work_gsd_m``
before extraction), so the frames of a pair may have different working scales.

SIFT descriptors are integers 0..255 in OpenCV, so they are kept as uint8 (128 bytes a
keypoint): 1000 keypoints cost about 160 kB a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.georef import pixels_to_ground
from dronepipe.stitching.normalise import NormaliseConfig, WorkImage, work_image, work_scale
from dronepipe.stitching.orb import ORB_LEVELS, ORB_SCALE, orb_positions

F64 = NDArray[np.float64]
Detector = Literal["sift", "orb"]


@dataclass(frozen=True)
class FeatureConfig:
    """``detector``: ``"sift"`` or ``"orb"``; ``max_features`` per frame;
    ``sift_contrast``: SIFT's contrast threshold (lower finds more in flat thermal scenes);
    ``normalise``: the working image (size, CLAHE, thermal stretch);
    ``fallback_side_px``: where fewer than ``fallback_below`` x ``max_features`` keypoints
    are found, extract again on a working image of this longer side (pixels; 0 = never,
    and never where it is no larger than the first); ``orb_subpixel``: move ORB
    keypoints to the sub-pixel peak of the Harris response on their pyramid level."""

    detector: Detector = "sift"
    max_features: int = 1500
    sift_contrast: float = 0.03
    normalise: NormaliseConfig = NormaliseConfig()
    fallback_side_px: int = 0
    fallback_below: float = 0.5
    orb_subpixel: bool = False


# 640x512 thermal: SIFT on half size ties frames as well (a working pixel is 0.2 m of
# ground at 70 m); a low-texture scene (water, a bare field) goes back to full size
THERMAL_FEATURES = FeatureConfig(max_features=800, normalise=NormaliseConfig(max_side_px=320),
                                 fallback_side_px=640)
RGB_FEATURES = FeatureConfig(max_features=1000, normalise=NormaliseConfig(max_side_px=1000))


@dataclass(frozen=True)
class KindFeatures:
    """Feature settings by frame kind: each frame's ``kind`` picks its own."""

    thermal: FeatureConfig = THERMAL_FEATURES
    rgb: FeatureConfig = RGB_FEATURES

    def of(self, kind: str) -> FeatureConfig:
        """The settings of a frame kind (``"thermal"``, else RGB)."""
        return self.thermal if kind == "thermal" else self.rgb


AnyFeatures = FeatureConfig | KindFeatures


def config_for(config: AnyFeatures, kind: str) -> FeatureConfig:
    """The settings that apply to a frame of ``kind``."""
    return config.of(kind) if isinstance(config, KindFeatures) else config


def work_gsd_m(gf: GeoFrame, config: AnyFeatures) -> float:
    """Ground size (metres, at the image centre) of one pixel of the frame's working
    image, before any fallback (which only makes it smaller)."""
    n = config_for(config, gf.kind).normalise
    return gf.gsd_m * work_scale(gf.camera.width, gf.camera.height, n)


@dataclass(frozen=True)
class FrameFeatures:
    """Keypoints of one frame: ``uv_px`` (N, 2) in the frame's own pixels, ``raw_m``
    (N, 2) their ground points (easting, northing, metres) through the uncorrected
    geometry, ``descriptors`` (N, D) (uint8), ``norm`` the OpenCV norm that compares them,
    ``work_gsd_m`` the ground size of one working pixel at the image centre (metres)."""

    frame_id: str
    uv_px: F64 = field(repr=False)
    raw_m: F64 = field(repr=False)
    descriptors: NDArray[np.uint8] = field(repr=False)
    norm: int
    work_gsd_m: float

    def __len__(self) -> int:
        return len(self.uv_px)

    @property
    def nbytes(self) -> int:
        return self.uv_px.nbytes + self.raw_m.nbytes + self.descriptors.nbytes


def raw_map(gf: GeoFrame, u: F64, v: F64) -> F64:
    """Ground points (N, 2) seen at full-frame pixels through the uncorrected geometry."""
    return pixels_to_ground(gf.pose, gf.camera, u, v, gf.ground)[..., :2]


def extract_features(gf: GeoFrame, pixels: np.ndarray,
                     config: AnyFeatures = KindFeatures()) -> FrameFeatures:
    """Keypoints and descriptors of a frame's pixels, placed on the ground (see module);
    with ``KindFeatures`` the frame's kind picks the settings."""
    fc = config_for(config, gf.kind)
    img, uv_w, desc = _detect(pixels, gf.kind, fc, fc.normalise)
    if _wants_fallback(fc, len(uv_w), pixels.shape[:2]):
        big = replace(fc.normalise, max_side_px=fc.fallback_side_px)
        img2, uv2, desc2 = _detect(pixels, gf.kind, fc, big)
        if len(uv2) > len(uv_w):
            img, uv_w, desc = img2, uv2, desc2
    if not len(uv_w):
        return _empty(gf, img.scale, fc)
    u, v = img.to_full_px(uv_w[:, 0], uv_w[:, 1])
    raw = raw_map(gf, u, v)
    ok = np.isfinite(raw).all(axis=1)
    return FrameFeatures(gf.frame_id, np.stack([u, v], -1)[ok], raw[ok],
                         np.ascontiguousarray(desc[ok]), _norm(fc), gf.gsd_m * img.scale)


def _wants_fallback(config: FeatureConfig, found: int, shape: tuple[int, ...]) -> bool:
    """Whether too few keypoints were found and a larger working image exists."""
    if not config.fallback_side_px or found >= config.fallback_below * config.max_features:
        return False
    h, w = shape[0], shape[1]
    big = replace(config.normalise, max_side_px=config.fallback_side_px)
    return work_scale(w, h, big) < work_scale(w, h, config.normalise)


def _detect(pixels: np.ndarray, kind: str, config: FeatureConfig,
            norm: NormaliseConfig) -> tuple[WorkImage, F64, NDArray[np.uint8]]:
    """The working image, its keypoints (N, 2 working pixels, centre convention) and
    uint8 descriptors (N, D)."""
    img = work_image(pixels, kind, norm)
    kps, desc = _detector(config).detectAndCompute(img.gray, img.mask)
    if not kps or desc is None:
        return img, np.zeros((0, 2)), np.zeros((0, _width(config)), np.uint8)
    if config.detector == "orb":
        uv = orb_positions(kps, img.gray, config.orb_subpixel)
    else:
        uv = np.array([k.pt for k in kps], dtype=np.float64)
    desc = np.rint(desc).astype(np.uint8) if desc.dtype != np.uint8 else desc
    return img, uv, desc


def _detector(config: FeatureConfig) -> cv2.Feature2D:
    if config.detector == "sift":
        # precise upscaling: without it OpenCV's keypoints sit 0.25 px off (down-right),
        # which frames flown in opposite directions see as a 0.5 px seam
        return cv2.SIFT_create(config.max_features, 3, config.sift_contrast, 10.0, 1.6, True)  # type: ignore[attr-defined]
    if config.detector == "orb":
        return cv2.ORB_create(config.max_features, ORB_SCALE, ORB_LEVELS, 31, 0, 2, cv2.ORB_HARRIS_SCORE, 31, 10)  # type: ignore[attr-defined]
    raise ValueError(f"feature detector must be 'sift' or 'orb', got {config.detector!r}")


def _norm(config: FeatureConfig) -> int:
    return cv2.NORM_HAMMING if config.detector == "orb" else cv2.NORM_L2


def _width(config: FeatureConfig) -> int:
    return 32 if config.detector == "orb" else 128


def _empty(gf: GeoFrame, scale: float, config: FeatureConfig) -> FrameFeatures:
    return FrameFeatures(gf.frame_id, np.zeros((0, 2)), np.zeros((0, 2)),
                         np.zeros((0, _width(config)), np.uint8), _norm(config), gf.gsd_m * scale)
