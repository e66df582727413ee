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
unchanged accuracy (bench/accuracy.py, the Toledo set):

- thermal 640x512: ``"corners"``: up to 800 Shi-Tomasi corners found to sub-pixel on the
  full 640 px frame, described by SIFT on the 320 px working image at SIFT's octave 0
  with a fixed scale (sigma 2 working pixels) and turned so that map north is their up
  (the pose's heading; ``corner_features``). SIFT itself spends its CPU on what the pose
  already tells: it upsamples the 320 px image 2x for its first octave (OpenCV's
  firstOctave -1: a 640x512 scale space), searches scales and orientations, and
  describes keypoints of every size. Measured side by side on the shared machine
  (bench/registration.py's 640x512 thermal block of 300 frames, CPU, one process):
  extraction 46.7 -> 23.9 ms a frame (SIFT 800 on 320 px: detectAndCompute 42 ms of
  it; corners: finding 10, describing 9, the 640 px working image 3), matching and
  solve 6.8 -> 6.4 ms a pair (647 keypoints a frame instead of 800, as many ties), seam
  median 0.175 -> 0.150 px (p90 0.56 -> 0.68), placement 0.188 m both: corners on the
  full frame are placed twice as well as SIFT's on the half-size one (0.11 against
  0.22 px median between overlapping frames, through the true geometry);
  bench/accuracy.py unchanged (mosaic RMSE 0.685 / 0.963 m median / worst, 27/27 ember
  nests, 2 false alarms in 8 flights). A flat scene, where few corners stand above the
  noise (``corner_min_eig``), gets SIFT's keypoints of the full frame added (the
  fallback's job, as for SIFT: blob centres stay placed where corners of smooth shapes
  do not; on a simulated flat field, 12 frames, as SIFT's fallback: 19/22 pairs against
  18/22, internal error 0.027 against 0.026 m).
  Where the heading is unknown (taken from the track: ``rotation_invariant``, chosen by
  ``register``) or the frame is no larger than the working image (a 320 px camera),
  thermal frames use SIFT as before: 800 keypoints on the 320 px working image, again
  at full size where a low-texture scene gives under half of that (about 30-40 ms CPU a
  frame instead of 100; 1500 on the full frame);
- RGB 2000x1500: 1000 keypoints on a 1000 px working image (an exact halving, which
  OpenCV's area resize does fast): 270 ms instead of 460 (1500 on 1200 px).

Tried for thermal and not taken (60 frames of that block side by side, loaded machine:
SIFT 800 on 320 px 59 ms CPU a frame, seam 0.187 px): SIFT on a 240 px working image
32 ms, seam 0.242 px (coarser working pixels); SIFT 600 on 320 px 47 ms, seam 0.198;
2 scale layers instead of 3: 59 ms, no saving; corners on the 320 px working image
itself (16 ms against SIFT's 52) put the seam at 0.37 px (corners placed to 0.46 px).
North-aligned corners alone (no ``corner_min_eig``, no SIFT fallback) registered a flat
field twice as badly (internal error 0.059 against 0.026 m): their noise corners matched.

Matching works in working pixels of ground (``FrameFeatures.work_gsd_m``, ``work_gsd_m``
before extraction), so the frames of a pair may have different working scales.

SIFT descriptors are integers 0..255 in OpenCV, so they are kept as uint8 (128 bytes a
keypoint): 1000 keypoints cost about 160 kB a frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from dronepipe.stitching.geoframe import GeoFrame
from dronepipe.stitching.georef import pixels_to_ground
from dronepipe.stitching.normalise import NormaliseConfig, WorkImage, work_image, work_scale
from dronepipe.stitching.orb import ORB_LEVELS, ORB_SCALE, orb_positions

F64 = NDArray[np.float64]
Detector = Literal["sift", "orb", "corners"]


@dataclass(frozen=True)
class FeatureConfig:
    """``detector``: ``"sift"``, ``"orb"`` or ``"corners"`` (``corner_features``);
    ``max_features`` per frame;
    ``sift_contrast``: SIFT's contrast threshold (lower finds more in flat thermal scenes);
    ``normalise``: the working image (size, CLAHE, thermal stretch);
    ``fallback_side_px``: where fewer than ``fallback_below`` x ``max_features`` keypoints
    are found, extract again on a working image of this longer side (pixels; 0 = never,
    and never where it is no larger than the first); ``orb_subpixel``: move ORB
    keypoints to the sub-pixel peak of the Harris response on their pyramid level;
    ``corner_side_px``: ``"corners"`` finds its corners on an image of this longer side
    (pixels; its descriptors stay on the working image); ``corner_quality``: it keeps
    corners whose Shi-Tomasi response is at least this fraction of the frame's best and
    at least ``corner_min_eig`` (``cv2.cornerMinEigenVal`` of the 8-bit image: 0.003 is
    above the sensor noise of a flat thermal scene, 0.0004-0.0018 there, and under 90 %
    of the corners of a textured one, 0.002-0.09), then adds SIFT's keypoints of the
    ``fallback_side_px`` image where fewer than ``fallback_below`` x ``max_features``
    are found;
    ``corner_gap_px``: their least distance and ``corner_window_px`` the half side of
    their sub-pixel search (pixels of that image); ``descriptor_layer``: the SIFT scale
    layer of octave 0 their descriptors are computed at (Gaussian sigma 1.6 x
    2^(layer/3) working pixels)."""

    detector: Detector = "sift"
    max_features: int = 1500
    sift_contrast: float = 0.03
    normalise: NormaliseConfig = NormaliseConfig()
    fallback_side_px: int = 0
    fallback_below: float = 0.5
    orb_subpixel: bool = False
    corner_side_px: int = 0
    corner_quality: float = 0.01
    corner_min_eig: float = 0.003
    corner_gap_px: float = 3.0
    corner_window_px: int = 5
    descriptor_layer: int = 1


# 640x512 thermal: SIFT on half size ties frames as well (a working pixel is 0.2 m of
# ground at 70 m); a low-texture scene (water, a bare field) goes back to full size
THERMAL_FEATURES = FeatureConfig(detector="corners", max_features=800,
                                 normalise=NormaliseConfig(max_side_px=320), fallback_side_px=640,
                                 corner_side_px=640)
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
    fc = _sift_if_no_finer(config_for(config, gf.kind), pixels.shape)
    north = north_deg(gf) if fc.detector == "corners" else 0.0
    img, uv_w, desc = _detect(pixels, gf.kind, fc, fc.normalise, north)
    if _wants_fallback(fc, len(uv_w), pixels.shape[:2]):
        big = replace(fc.normalise, max_side_px=fc.fallback_side_px)
        img2, uv2, desc2 = _detect(pixels, gf.kind, fc, big, north)
        if len(uv2) > len(uv_w):
            img, uv_w, desc = img2, uv2, desc2
    if not len(uv_w):
        return _empty(gf, img.scale, fc)
    u, v = img.to_full_px(uv_w[:, 0], uv_w[:, 1])
    raw = raw_map(gf, u, v)
    ok = np.isfinite(raw).all(axis=1)
    return FrameFeatures(gf.frame_id, np.stack([u, v], -1)[ok], raw[ok],
                         np.ascontiguousarray(desc[ok]), _norm(fc), gf.gsd_m * img.scale)


def rotation_invariant(config: AnyFeatures) -> AnyFeatures:
    """The settings with SIFT's own keypoints and orientations where ``"corners"`` would
    align descriptors to a heading that is not known (a heading from the flight track)."""
    if isinstance(config, KindFeatures):
        return KindFeatures(_sift_if_corners(config.thermal), _sift_if_corners(config.rgb))
    return _sift_if_corners(config)


def _sift_if_corners(config: FeatureConfig) -> FeatureConfig:
    return replace(config, detector="sift") if config.detector == "corners" else config


def _sift_if_no_finer(config: FeatureConfig, shape: tuple[int, ...]) -> FeatureConfig:
    """SIFT in place of ``"corners"`` where the frame has no image finer than the working
    one to find corners on (a 320 px thermal camera): SIFT's 2x upsampled first octave
    then places keypoints better than corners on the working image itself."""
    if config.detector != "corners":
        return config
    h, w = shape[0], shape[1]
    finer = replace(config.normalise, max_side_px=config.corner_side_px)
    return config if work_scale(w, h, finer) < work_scale(w, h, config.normalise) else _sift_if_corners(config)


def _wants_fallback(config: FeatureConfig, found: int, shape: tuple[int, ...]) -> bool:
    """Whether too few keypoints were found and a larger working image exists (not for
    ``"corners"``, found on the larger image already)."""
    if (config.detector == "corners" or not config.fallback_side_px
            or found >= config.fallback_below * config.max_features):
        return False
    h, w = shape[0], shape[1]
    big = replace(config.normalise, max_side_px=config.fallback_side_px)
    return work_scale(w, h, big) < work_scale(w, h, config.normalise)


def _detect(pixels: np.ndarray, kind: str, config: FeatureConfig, norm: NormaliseConfig,
            north: float = 0.0) -> tuple[WorkImage, F64, NDArray[np.uint8]]:
    """The working image, its keypoints (N, 2 working pixels, centre convention) and
    uint8 descriptors (N, D); ``north``: the direction of map north in the image
    (degrees, ``north_deg``; ``"corners"`` only)."""
    if config.detector == "corners":
        return corner_features(pixels, kind, config, norm, north)
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


# cornerSubPix: at most 10 iterations, or until a step is under 0.01 px
SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 10, 0.01)
SIFT_SIGMA = 1.6  # OpenCV SIFT's Gaussian sigma of an octave's first layer (its pixels)
SIFT_LAYERS = 3


def corner_features(pixels: np.ndarray, kind: str, config: FeatureConfig, norm: NormaliseConfig,
                    north: float) -> tuple[WorkImage, F64, NDArray[np.uint8]]:
    """``"corners"``: the working image, keypoints (N, 2 working pixels, centre
    convention) and SIFT descriptors (N, 128, uint8) oriented to map north (see
    ``corner_descriptors``). The corners are found, to sub-pixel, on an image of
    ``corner_side_px`` (sharper than the working image: their placement error between
    overlapping frames is half SIFT's on the working image), then described on the
    working image (that image area-reduced, so the same grey levels). Where fewer than
    ``fallback_below`` x ``max_features`` corners stand above the noise (water, a bare
    field), SIFT's scale-space extrema on the ``fallback_side_px`` image are added: blob
    centres stay well placed where corners of smooth shapes do not."""
    det = work_image(pixels, kind, replace(norm, max_side_px=max(norm.max_side_px, config.corner_side_px)))
    img = _reduced(det, pixels.shape[1], pixels.shape[0], norm)
    uv_full = np.stack(det.to_full_px(*corner_positions(det, config).T), -1)
    if config.fallback_side_px and len(uv_full) < config.fallback_below * config.max_features:
        uv_full = np.vstack([uv_full, _blob_positions(pixels, kind, config, norm, det)])
        uv_full = thinned(uv_full, config.corner_gap_px * det.scale)[:config.max_features]
    if not len(uv_full):
        return img, np.zeros((0, 2)), np.zeros((0, 128), np.uint8)
    uv = (uv_full + 0.5) / img.scale - 0.5
    kps, desc = corner_descriptors(img.gray, uv, north, config)
    if desc is None or not len(kps):
        return img, np.zeros((0, 2)), np.zeros((0, 128), np.uint8)
    return img, np.array([k.pt for k in kps], dtype=np.float64), np.rint(desc).astype(np.uint8)


def _blob_positions(pixels: np.ndarray, kind: str, config: FeatureConfig, norm: NormaliseConfig,
                    det: WorkImage) -> F64:
    """SIFT keypoint positions (N, 2 full-frame pixels, strongest first) on the
    ``fallback_side_px`` working image (``det`` itself where it has that size)."""
    big = replace(norm, max_side_px=config.fallback_side_px)
    h, w = pixels.shape[:2]
    fb = det if work_scale(w, h, big) == det.scale else work_image(pixels, kind, big)
    kps = _detector(replace(config, detector="sift")).detect(fb.gray, fb.mask)
    kps = sorted(kps, key=lambda k: -k.response)
    if not kps:
        return np.zeros((0, 2))
    uv = np.array([k.pt for k in kps], dtype=np.float64)
    return np.stack(fb.to_full_px(uv[:, 0], uv[:, 1]), -1)


def _reduced(det: WorkImage, width: int, height: int, norm: NormaliseConfig) -> WorkImage:
    """The working image of ``norm`` made from a larger one by area reduction."""
    scale = work_scale(width, height, norm)
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    if size == (det.gray.shape[1], det.gray.shape[0]):
        return det
    gray = cv2.resize(det.gray, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(det.mask, size, interpolation=cv2.INTER_NEAREST)
    return WorkImage(np.asarray(gray, np.uint8), np.asarray(mask, np.uint8), width / size[0])


def corner_positions(img: WorkImage, config: FeatureConfig) -> F64:
    """The strongest Shi-Tomasi corners of an image (at most ``max_features``, at least
    ``corner_gap_px`` apart, strongest first; (N, 2) pixels, sub-pixel, OpenCV's
    pixel-index convention: pixel centres are integers): local maxima of the smaller
    eigenvalue of the 3 x 3 gradient matrix above ``corner_quality`` x the frame's
    largest and above ``corner_min_eig`` (as ``cv2.goodFeaturesToTrack``, with the
    absolute floor that keeps sensor noise out of a flat scene)."""
    eig = cv2.cornerMinEigenVal(img.gray, 3)
    thr = max(config.corner_min_eig, config.corner_quality * float(eig.max()))
    peak = (eig >= cv2.dilate(eig, np.ones((3, 3), np.uint8))) & (eig > thr) & (img.mask > 0)
    v, u = np.nonzero(peak)
    if not len(u):
        return np.zeros((0, 2))
    order = np.argsort(-eig[v, u], kind="stable")[:4 * config.max_features]
    uv = thinned(np.stack([u[order], v[order]], -1).astype(np.float64), config.corner_gap_px)
    c = np.ascontiguousarray(uv[:config.max_features], np.float32).reshape(-1, 1, 2)
    w = config.corner_window_px
    c = cv2.cornerSubPix(img.gray, c, (w, w), (-1, -1), SUBPIX_CRITERIA)
    return thinned(np.asarray(c, np.float64).reshape(-1, 2), config.corner_gap_px)


def thinned(uv: F64, gap_px: float) -> F64:
    """Points (N, 2, strongest first) without any that lies within ``gap_px`` of a
    stronger one kept: corners a few pixels apart can converge to one sub-pixel peak,
    and a pair of equal descriptors fails every ratio test (and costs the matcher's
    tie handling)."""
    close = cKDTree(uv).query_pairs(gap_px, output_type="ndarray")
    if not len(close):
        return uv
    later = np.sort(close, axis=1)  # (stronger, weaker) index pairs
    keep = np.ones(len(uv), bool)
    for i, j in later[np.lexsort((later[:, 1], later[:, 0]))].tolist():
        if keep[i]:
            keep[j] = False
    return uv[keep]


def corner_descriptors(gray: NDArray[np.uint8], uv: F64, north: float,
                       config: FeatureConfig) -> tuple[list[cv2.KeyPoint], NDArray[np.float32] | None]:
    """SIFT descriptors at given positions (pixels of ``gray``) on SIFT's octave 0 (the
    image itself: no 2x upsampling, no scale space searched), layer
    ``descriptor_layer``, turned so that map north is their up (``north``: its direction
    in the image, degrees as ``cv2.KeyPoint.angle``): the pose gives rotation and the
    GSD scale, which SIFT would otherwise search for (see module)."""
    layer = config.descriptor_layer
    size = 2.0 * SIFT_SIGMA * 2.0 ** (layer / SIFT_LAYERS)  # OpenCV's size: 2 sigma
    packed = pack_octave(0, layer)
    kps = [cv2.KeyPoint(float(x), float(y), size, north, 0.0, packed) for x, y in uv]
    sift = cv2.SIFT_create(config.max_features, SIFT_LAYERS, config.sift_contrast, 10.0, SIFT_SIGMA)  # type: ignore[attr-defined]
    out, desc = sift.compute(gray, kps)
    return list(out), desc


def pack_octave(octave: int, layer: int) -> int:
    """``cv2.KeyPoint.octave`` as OpenCV SIFT packs it: octave in the low byte (two's
    complement, -1 = the 2x upsampled image), layer in the next, sub-layer offset (0..255,
    here 128: none) in the third. Given keypoints decide the octaves SIFT builds: the
    lowest one's octave is its first, so octave 0 means no upsampling."""
    if not (-1 <= octave < 128 and 0 <= layer <= SIFT_LAYERS):
        raise ValueError(f"SIFT keypoint octave {octave} / layer {layer} out of range")
    return (octave & 255) | (layer << 8) | (128 << 16)


def north_deg(gf: GeoFrame) -> float:
    """The direction of map north in the frame at its centre, through the raw geometry:
    degrees as ``cv2.KeyPoint.angle`` (from +u towards +v, v down; 0 where unknown)."""
    cx, cy = (gf.camera.width - 1) / 2.0, (gf.camera.height - 1) / 2.0
    m = raw_map(gf, np.array([cx, cx + 10.0, cx]), np.array([cy, cy, cy + 10.0]))
    jac = np.stack([m[1] - m[0], m[2] - m[0]], axis=-1)  # map metres per 10 px of u, v
    if not np.isfinite(jac).all() or abs(np.linalg.det(jac)) < 1e-12:
        return 0.0
    du, dv = np.linalg.solve(jac, [0.0, 1.0])
    return math.degrees(math.atan2(dv, du)) % 360.0


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
