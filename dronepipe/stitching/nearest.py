"""The two nearest descriptors of each keypoint within a gate on the map, exactly as
OpenCV's ``BFMatcher.knnMatch(k=2)`` with a mask finds them, at a fraction of its CPU.

``knnMatch`` with a mask visits every entry of an Na x Nb mask and computes each allowed
distance in its own loop; building the mask (a k-d tree and an Na x Nb array) costs about
as much again. Here the keypoints of ``b`` are sorted into square cells about the size of
the gate radius, so that a keypoint of ``a`` meets only the keypoints of ``b`` in its 3 x 3
neighbouring cells, and then only those within the radius:

* dense neighbourhoods (many candidates per keypoint, a wide gate): per cell of ``a``, one
  matrix product of its descriptor rows against the neighbourhood's (BLAS), squared
  distances as ``|a|^2 + |b|^2 - 2 a.b``;
* sparse neighbourhoods (a few candidates, e.g. the tight second pass around a RANSAC
  similarity): the candidate pairs are listed and their dot products taken pair by pair.

Without a gate every keypoint of ``b`` is a candidate (the dense products, in row blocks).

Why the answers are OpenCV's to the bit: SIFT descriptors are integers 0..255, so for
128-wide rows every product and partial sum of a squared distance is an integer below
2**24, and float32 arithmetic is exact in any summation order (wider rows use float64).
The distance is the float32 square root of that integer, as OpenCV's, which ranks by the
root: two squared distances with the same float32 root tie. Ties go to the lower index in
``b``, as OpenCV's insertion keeps the first. Binary descriptors (ORB, Hamming) become rows
of bits, whose squared L2 distance is the Hamming distance. The gate is the test of
``scipy.spatial.cKDTree.sparse_distance_matrix``: ``dx*dx + dy*dy <= r*r`` in float64.
Matrix products are split so that rows x columns x width stays at or below 2**19: above
that OpenBLAS starts threads, whose spinning costs more CPU than they save on these sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
Rows = NDArray[np.float32] | NDArray[np.float64]

BLAS_MAX_MNK = 2**19  # largest product OpenBLAS runs on one thread
DENSE_FROM = 32.0  # candidates per keypoint of a (3 x 3 cells) from which products pay
BLOCK_ELEMENTS = 2**16  # distances held at once in the unguided row blocks
_NONE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class DescriptorRows:
    """A frame's descriptors ready for matrix products: ``rows`` (N, D) float32 (float64
    where float32 would not be exact), the uint8 descriptors (L2) or their bits
    (``hamming``), and ``sq_norm`` (N,) each row's squared norm, in the same dtype."""

    rows: Rows
    sq_norm: Rows
    hamming: bool

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of(cls, descriptors: NDArray[np.uint8], norm: int) -> DescriptorRows:
        """Rows of uint8 ``descriptors`` (N, D) compared by OpenCV ``norm`` (NORM_L2 or
        NORM_HAMMING)."""
        if descriptors.dtype != np.uint8 or descriptors.ndim != 2:
            raise ValueError(f"descriptors must be a 2-D uint8 array, got {descriptors.dtype} "
                             f"with shape {descriptors.shape}")
        if norm == cv2.NORM_HAMMING:
            bits = np.unpackbits(descriptors, axis=1)
            return cls(bits.astype(np.float32), bits.sum(axis=1, dtype=np.int64).astype(np.float32),
                       True)
        if norm == cv2.NORM_L2:
            exact32 = 2 * descriptors.shape[1] * 255**2 <= 2**24
            rows = descriptors.astype(np.float32 if exact32 else np.float64)
            return cls(rows, np.einsum("ij,ij->i", rows, rows), False)
        raise ValueError(f"descriptor norm {norm} not supported: NORM_L2 ({cv2.NORM_L2}) or "
                         f"NORM_HAMMING ({cv2.NORM_HAMMING})")


@dataclass(frozen=True)
class TwoNearest:
    """Per keypoint of ``a``: ``best`` the index in ``b`` of the nearest descriptor (-1: no
    candidate), ``d1`` its distance and ``d2`` the second nearest's (float32 as OpenCV
    reports them: L2 or bit count; inf where there is no such candidate)."""

    best: I64
    d1: F32
    d2: F32

    @classmethod
    def none(cls, n: int) -> TwoNearest:
        """n keypoints without candidates (arrays to be filled)."""
        return cls(np.full(n, -1, np.int64), np.full(n, np.inf, np.float32),
                   np.full(n, np.inf, np.float32))


@dataclass(frozen=True)
class CellGrid:
    """Points sorted into square cells of ``size_m`` about ``origin_m``: a point's cell is
    (cx, cy) = floor((p - origin) / size) + 1 and its key ``cx * ny + cy``; ``order`` the
    points by key, ``keys`` their sorted keys. The +1 and ``ny`` (rows + 3) leave empty
    cells around, so that neighbouring keys never wrap into the next column."""

    origin_m: F64
    size_m: float
    ny: int
    order: I64
    keys: I64

    @classmethod
    def of(cls, b_m: F64, lo_m: F64, hi_m: F64, radius_m: float) -> CellGrid:
        """Cells for the points ``b_m`` (N, 2) and the gate ``radius_m``, where all points
        of the pair lie within ``lo_m``..``hi_m``."""
        size = cell_size_m(radius_m, lo_m, hi_m)
        ny = int((hi_m[1] - lo_m[1]) // size) + 4
        grid = cls(lo_m, size, ny, np.zeros(0, np.int64), np.zeros(0, np.int64))
        keys = grid.keys_of(b_m)
        order = np.argsort(keys, kind="stable")
        return cls(lo_m, size, ny, order, keys[order])

    def keys_of(self, p_m: F64) -> I64:
        """The cell keys of points (N, 2)."""
        c = np.floor((p_m - self.origin_m) / self.size_m).astype(np.int64) + 1
        return c[:, 0] * self.ny + c[:, 1]

    def neighbour_ranges(self, keys: I64) -> tuple[I64, I64]:
        """For cell keys (N,): start and end (N, 3) in ``order`` of the points in the three
        columns of 3 cells around each cell."""
        centre = keys[:, None] + self.ny * np.array([-1, 0, 1], np.int64)
        return (np.searchsorted(self.keys, centre - 1, "left"),
                np.searchsorted(self.keys, centre + 1, "right"))


def cell_size_m(radius_m: float, lo_m: F64, hi_m: F64) -> float:
    """A cell side (metres) such that two points within ``radius_m`` (by the float64 gate
    test) are never more than one cell apart, whatever the rounding of the coordinates;
    at least 2**-20 of the extent, so that cell numbers stay small."""
    big = float(np.abs(np.concatenate([lo_m, hi_m])).max())
    slack = 8.0 * big * 2.0**-52 + 2.0**-40
    return max(radius_m * (1.0 + 2.0**-30) + slack, float((hi_m - lo_m).max()) * 2.0**-20, slack)


def two_nearest(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64,
                radius_m: float | None) -> TwoNearest:
    """The two nearest descriptors in ``b`` of each keypoint of ``a`` among the keypoints
    of ``b`` whose map positions ``b_m`` (Nb, 2, metres) lie within ``radius_m`` of its own
    ``a_m`` (Na, 2); ``None``: among all (see module)."""
    _check(ra, rb, a_m, b_m, radius_m)
    out = TwoNearest.none(len(ra))
    if len(ra) == 0 or len(rb) == 0 or (radius_m is not None and radius_m < 0.0):
        return out
    lo = np.minimum(a_m.min(axis=0), b_m.min(axis=0))
    hi = np.maximum(a_m.max(axis=0), b_m.max(axis=0))
    if radius_m is None or radius_m >= float(np.hypot(*(hi - lo))) * (1.0 + 1e-9):
        _all_pairs(ra, rb, out)
        return out
    grid = CellGrid.of(b_m, lo, hi, radius_m)
    keys = grid.keys_of(a_m)
    start, end = grid.neighbour_ranges(keys)
    if (end - start).sum() >= DENSE_FROM * len(ra):
        _by_cells(ra, rb, a_m, b_m, radius_m, grid, keys, (start, end), out)
    else:
        _by_pairs(ra, rb, a_m, b_m, radius_m, grid, (start, end), out)
    return out


def _check(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64,
           radius_m: float | None) -> None:
    if ra.hamming != rb.hamming or ra.rows.shape[1] != rb.rows.shape[1]:
        raise ValueError(f"descriptors of a and b differ: {ra.rows.shape[1]} vs "
                         f"{rb.rows.shape[1]} columns, hamming {ra.hamming} vs {rb.hamming}")
    for name, p, rows in (("a", a_m, ra), ("b", b_m, rb)):
        if p.shape != (len(rows), 2):
            raise ValueError(f"positions of {name} must be ({len(rows)}, 2), got {p.shape}")
        if not np.isfinite(p).all():
            raise ValueError(f"positions of {name} must be finite")
    if radius_m is not None and math.isnan(radius_m):
        raise ValueError("gate radius is NaN")


def _all_pairs(ra: DescriptorRows, rb: DescriptorRows, out: TwoNearest) -> None:
    """Every keypoint of b a candidate: row blocks of about ``BLOCK_ELEMENTS`` distances."""
    jb = np.arange(len(rb))
    step = max(1, BLOCK_ELEMENTS // len(rb))
    for i0 in range(0, len(ra), step):
        ia = np.arange(i0, min(i0 + step, len(ra)))
        _block(ra, rb, ia, jb, None, out)


def _by_cells(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64, radius_m: float,
              grid: CellGrid, keys: I64, ranges: tuple[I64, I64], out: TwoNearest) -> None:
    """Per cell of a, its keypoints against the neighbourhood's within the radius."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    bounds = np.r_[first, len(order)]
    r2 = radius_m * radius_m
    for c, i0 in enumerate(first):
        k = order[i0]
        jb = np.sort(np.concatenate([grid.order[s:e] for s, e in zip(ranges[0][k], ranges[1][k],
                                                                       strict=True)]))
        if len(jb) == 0:
            continue
        ia = order[i0:bounds[c + 1]]
        for r0 in range(0, len(ia), max(1, 4 * BLOCK_ELEMENTS // len(jb))):
            rows = ia[r0:r0 + max(1, 4 * BLOCK_ELEMENTS // len(jb))]
            _block(ra, rb, rows, jb, _outside(a_m[rows], b_m[jb], r2), out)


def _outside(a_m: F64, b_m: F64, r2: float) -> NDArray[np.bool_]:
    """(Na, Nb): True where the two points are farther apart than sqrt(r2) (the k-d tree's
    test, in float64)."""
    dx = np.subtract.outer(a_m[:, 0], b_m[:, 0])
    dy = np.subtract.outer(a_m[:, 1], b_m[:, 1])
    np.multiply(dx, dx, out=dx)
    np.multiply(dy, dy, out=dy)
    np.add(dx, dy, out=dx)
    return np.greater(dx, r2)


def _block(ra: DescriptorRows, rb: DescriptorRows, ia: I64, jb: I64,
           outside: NDArray[np.bool_] | None, out: TwoNearest) -> None:
    """The two nearest among columns ``jb`` (ascending) for rows ``ia``, into ``out``."""
    d = _minus2_dots(ra.rows[ia], rb.rows[jb])
    d += ra.sq_norm[ia][:, None]
    d += rb.sq_norm[jb][None, :]
    key = _distances(d, ra.hamming)
    if outside is not None:
        np.copyto(key, np.float32(np.inf), where=outside)
    k = np.arange(len(ia))
    j = np.argmin(key, axis=1)
    d1 = key[k, j]
    key[k, j] = np.inf
    found = np.isfinite(d1)
    out.best[ia] = np.where(found, jb[j], -1)
    out.d1[ia] = d1
    out.d2[ia] = key.min(axis=1)


def _minus2_dots(a: Rows, b: Rows) -> Rows:
    """-2 a.b for every pair of rows (Na, Nb), in products of at most ``BLAS_MAX_MNK``."""
    a2 = a * a.dtype.type(-2)
    out = np.empty((len(a), len(b)), a.dtype)
    width = max(1, a.shape[1])
    tr = max(1, min(len(a), math.isqrt(BLAS_MAX_MNK // width)))
    tc = max(1, BLAS_MAX_MNK // (width * tr))
    for i0 in range(0, len(a), tr):
        for j0 in range(0, len(b), tc):
            np.matmul(a2[i0:i0 + tr], b[j0:j0 + tc].T, out=out[i0:i0 + tr, j0:j0 + tc])
    return out


def _distances(sq: Rows, hamming: bool) -> F32:
    """OpenCV's distances (float32) from exact squared distances: their float32 square
    roots, or for Hamming rows the bit counts themselves; may overwrite ``sq``."""
    key = sq if sq.dtype == np.float32 else sq.astype(np.float32)
    if not hamming:
        np.sqrt(key, out=key)
    return key


def _by_pairs(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64, radius_m: float,
              grid: CellGrid, ranges: tuple[I64, I64], out: TwoNearest) -> None:
    """The candidate pairs listed (grouped by a), their distances pair by pair."""
    ia, ib = _candidate_pairs(a_m, b_m, radius_m, grid, ranges)
    if len(ia) == 0:
        return
    dots = np.einsum("ij,ij->i", ra.rows[ia], rb.rows[ib])
    sq = ra.sq_norm[ia] + rb.sq_norm[ib] - 2 * dots
    _segment_two_smallest(ia, ib, _distances(sq, ra.hamming), out)


def _candidate_pairs(a_m: F64, b_m: F64, radius_m: float, grid: CellGrid,
                     ranges: tuple[I64, I64]) -> tuple[I64, I64]:
    """All (i, j) with b_j within ``radius_m`` of a_i, ordered by i."""
    start, count = ranges[0].ravel(), (ranges[1] - ranges[0]).ravel()
    total = int(count.sum())
    ia = np.repeat(np.repeat(np.arange(len(a_m)), 3), count)
    skip = np.repeat(start - (np.cumsum(count) - count), count)
    ib = grid.order[np.arange(total) + skip]
    dx = a_m[ia, 0] - b_m[ib, 0]
    dy = a_m[ia, 1] - b_m[ib, 1]
    keep = dx * dx + dy * dy <= radius_m * radius_m
    return ia[keep], ib[keep]


def _segment_two_smallest(ia: I64, ib: I64, key: F32, out: TwoNearest) -> None:
    """Per run of equal ``ia``: the smallest and second smallest ``key`` (ties to the lower
    ``ib``), as one int64 (the float32's bits, then the index), into ``out``."""
    packed = (key.view(np.int32).astype(np.int64) << 32) | ib
    first = np.flatnonzero(np.r_[True, ia[1:] != ia[:-1]])
    size = np.diff(np.r_[first, len(ia)])
    best = np.minimum.reduceat(packed, first)
    rest = np.where(packed == np.repeat(best, size), _NONE, packed)
    second = np.minimum.reduceat(rest, first)
    rows = ia[first]
    out.best[rows] = best & 0xFFFFFFFF
    out.d1[rows] = (best >> 32).astype(np.int32).view(np.float32)
    out.d2[rows] = np.where(second == _NONE, np.float32(np.inf),
                            (second >> 32).astype(np.int32).view(np.float32))
