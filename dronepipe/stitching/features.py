"""Image features of one frame, placed on the map: extract once, match many times.

A frame's keypoints are found on its contrast-normalised working image
(``normalise``), described (SIFT by default: scale and rotation invariant, which the
frames of a lawn-mower pattern need, flown in opposite directions; ORB is faster and
coarser), and projected to the ground through the frame's raw geometry (GNSS pose,
camera, ground, no correction). A correction is a map transform, so the corrected
position of a keypoint is ``correction.apply(raw_m)``: matching and adjustment never
touch pixels again. Keypoints whose rays miss the ground are dropped.

SIFT descriptors are integers 0..255 in OpenCV, so they are kept as uint8 (128 bytes a
keypoint): 1500 keypoints cost about 250 kB a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.georef import pixels_to_ground
from dronepipe.stitching.normalise import NormaliseConfig, work_image

F64 = NDArray[np.float64]
Detector = Literal["sift", "orb"]


@dataclass(frozen=True)
class FeatureConfig:
    """``detector``: ``"sift"`` or ``"orb"``; ``max_features`` per frame;
    ``sift_contrast``: SIFT's contrast threshold (lower finds more in flat thermal scenes);
    ``normalise``: the working image (size, CLAHE, thermal stretch)."""

    detector: Detector = "sift"
    max_features: int = 1500
    sift_contrast: float = 0.03
    normalise: NormaliseConfig = NormaliseConfig()


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
                     config: FeatureConfig = FeatureConfig()) -> FrameFeatures:
    """Keypoints and descriptors of a frame's pixels, placed on the ground (see module)."""
    img = work_image(pixels, gf.kind, config.normalise)
    detector = _detector(config)
    kps, desc = detector.detectAndCompute(img.gray, img.mask)
    if not kps or desc is None:
        return _empty(gf, img.scale, config)
    uv_w = np.array([k.pt for k in kps], dtype=np.float64)
    u, v = img.to_full_px(uv_w[:, 0], uv_w[:, 1])
    raw = raw_map(gf, u, v)
    ok = np.isfinite(raw).all(axis=1)
    desc = np.rint(desc).astype(np.uint8) if desc.dtype != np.uint8 else desc
    return FrameFeatures(gf.frame_id, np.stack([u, v], -1)[ok], raw[ok],
                         np.ascontiguousarray(desc[ok]), _norm(config), gf.gsd_m * img.scale)


def _detector(config: FeatureConfig) -> cv2.Feature2D:
    if config.detector == "sift":
        # precise upscaling: without it OpenCV's keypoints sit 0.25 px off (down-right),
        # which frames flown in opposite directions see as a 0.5 px seam
        return cv2.SIFT_create(config.max_features, 3, config.sift_contrast, 10.0, 1.6, True)  # type: ignore[attr-defined]
    if config.detector == "orb":
        return cv2.ORB_create(config.max_features, 1.2, 8, 31, 0, 2, cv2.ORB_HARRIS_SCORE, 31, 10)  # type: ignore[attr-defined]
    raise ValueError(f"feature detector must be 'sift' or 'orb', got {config.detector!r}")


def _norm(config: FeatureConfig) -> int:
    return cv2.NORM_HAMMING if config.detector == "orb" else cv2.NORM_L2


def _empty(gf: GeoFrame, scale: float, config: FeatureConfig) -> FrameFeatures:
    width = 32 if config.detector == "orb" else 128
    return FrameFeatures(gf.frame_id, np.zeros((0, 2)), np.zeros((0, 2)),
                         np.zeros((0, width), np.uint8), _norm(config), gf.gsd_m * scale)
