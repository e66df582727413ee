"""The two nearest descriptors of each keypoint within a gate on the map, exactly as
OpenCV's ``BFMatcher.knnMatch(k=2)`` with a mask finds them, at a fraction of its CPU.

``knnMatch`` with a mask visits every entry of an Na x Nb mask and computes each allowed
distance in its own loop; building the mask (a k-d tree and an Na x Nb array) costs about
as much again. Here the keypoints are sorted into square cells of about the gate radius, so
that a keypoint of ``a`` meets only the keypoints of ``b`` in its 3 x 3 neighbouring cells,
and of those only the ones within the radius. ``b`` is sorted by column of cells, each
keypoint listed in its own column and in the two beside it ("bands"), so that the 3 x 3
neighbourhood of a cell, or of a run of cells in one column, is one slice of the list:

* dense neighbourhoods (many candidates per keypoint, a wide gate): per run of cells of
  ``a``, one matrix product of its descriptor rows with the slice's (BLAS), squared
  distances as ``|a|^2 + |b|^2 - 2 a.b``;
* sparse neighbourhoods (a few candidates, e.g. the tight second pass around a RANSAC
  similarity): the candidate pairs are listed and their dot products taken pair by pair.

Without a gate every keypoint of ``b`` is a candidate (the products, in row blocks). An
estimate of each way's CPU picks one; both give the same answer.

Why the answers are OpenCV's to the bit: SIFT descriptors are integers 0..255, so for
128-wide rows every product and partial sum of a squared distance is an integer below
2**24, and float32 arithmetic is exact in any summation order (wider rows use float64).
The distance is the float32 square root of that integer, as OpenCV's, which ranks by the
root: two squared distances with one float32 root tie. Below 2**22 distinct integers have
distinct float32 roots, so there ranking by ``|b|^2 - 2 a.b`` (the row's ``|a|^2`` left
out) is the same ranking. Ties go to the lower index in ``b``, as OpenCV's insertion keeps
the first. Binary descriptors (ORB, Hamming) become rows of bits, whose squared L2
distance is the Hamming distance. The gate is the test of
``scipy.spatial.cKDTree.sparse_distance_matrix``: ``dx*dx + dy*dy <= r*r`` in float64.
Matrix products are split so that rows x columns x width stays at or below 2**19: above
that OpenBLAS starts threads, whose spinning costs more CPU than they save at these sizes.
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
Block = tuple[int, int, int, int]  # rows a0:a1 of sorted a against entries b0:b1 of the bands

BLAS_MAX_MNK = 2**19  # largest product OpenBLAS runs on one thread
BLOCK_ELEMENTS = 2**16  # distances held at once
RUN_KEYPOINTS = 32  # keypoints of a gathered into one run of cells (one product)
ROOTS_DISTINCT = 2**22  # squared distances below this have distinct float32 roots
# CPU estimates (ns) that choose between products and listed pairs; measured on sim flights
NS_PER_BLOCK, NS_PER_PRODUCT, NS_PER_PAIR = 20_000.0, 9.0, 60.0
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
class Bands:
    """Keypoints of ``b`` in square cells of ``size_m`` about ``origin_m``: a point's cell
    is (cx, cy) = floor((p - origin) / size) + 1, its key ``cx * ny + cy``. Each keypoint
    is listed three times, under its own column and the two beside it; ``keys`` the sorted
    keys of the list, ``order`` the keypoint of each entry. The 3 x 3 cells around cell
    key k are then the entries with keys k - 1 ... k + 1. The +1 and ``ny`` (rows + 4)
    leave empty cells around, so that keys never wrap into the next column."""

    origin_m: F64
    size_m: float
    ny: int
    keys: I64
    order: I64

    @classmethod
    def of(cls, b_m: F64, lo_m: F64, hi_m: F64, radius_m: float) -> Bands:
        """Bands of the points ``b_m`` (N, 2) for the gate ``radius_m``, where all points of
        the pair lie within ``lo_m``..``hi_m``."""
        size = cell_size_m(radius_m, lo_m, hi_m)
        ny = int((hi_m[1] - lo_m[1]) // size) + 4
        empty = np.zeros(0, np.int64)
        own = cls(lo_m, size, ny, empty, empty).keys_of(b_m)
        keys = np.concatenate([own - ny, own, own + ny])
        order = np.argsort(keys, kind="stable")
        return cls(lo_m, size, ny, keys[order], order % len(b_m))

    def keys_of(self, p_m: F64) -> I64:
        """The cell keys of points (N, 2)."""
        c = np.floor((p_m - self.origin_m) / self.size_m).astype(np.int64) + 1
        return c[:, 0] * self.ny + c[:, 1]

    def around(self, first_key: I64, last_key: I64) -> tuple[I64, I64]:
        """Start and end entries of the neighbourhoods of runs of cells ``first_key`` ..
        ``last_key`` (one column each)."""
        return (np.searchsorted(self.keys, first_key - 1, "left"),
                np.searchsorted(self.keys, last_key + 1, "right"))


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
        every = np.arange(len(rb))
        step = max(1, BLOCK_ELEMENTS // len(rb))
        blocks = [(i, min(i + step, len(ra)), 0, len(rb)) for i in range(0, len(ra), step)]
        _products(ra, rb, np.arange(len(ra)), every, blocks, None, out)
        return out
    bands = Bands.of(b_m, lo, hi, radius_m)
    keys = bands.keys_of(a_m)
    start, end = bands.around(keys, keys)
    listed = float((end - start).sum())
    a_order, blocks = runs(bands, keys)
    work = sum((a1 - a0) * (b1 - b0) for a0, a1, b0, b1 in blocks)
    if NS_PER_BLOCK * len(blocks) + NS_PER_PRODUCT * work < NS_PER_PAIR * listed:
        gate = (a_m[a_order], b_m[bands.order], radius_m * radius_m)
        _products(ra, rb, a_order, bands.order, blocks, gate, out)
    else:
        _pairs(ra, rb, a_m, b_m, radius_m, bands.order, (start, end), out)
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


def runs(bands: Bands, keys: I64) -> tuple[I64, list[Block]]:
    """The keypoints of ``a`` (cell ``keys``) sorted by cell, and blocks of them: runs of
    cells in one column with about ``RUN_KEYPOINTS`` keypoints, rows ``a0:a1`` of the
    sorted keypoints against entries ``b0:b1`` of the bands."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    before = first  # keypoints of a before each cell
    col, cy = np.divmod(ks[first], bands.ny)
    new_col = np.r_[True, (col[1:] != col[:-1]) | (cy[1:] - cy[:-1] > 2)]
    in_col = before - np.maximum.accumulate(np.where(new_col, before, 0))
    group = in_col // RUN_KEYPOINTS
    start = np.flatnonzero(new_col | np.r_[True, group[1:] != group[:-1]])
    last = np.r_[start[1:], len(first)] - 1
    b0, b1 = bands.around(ks[first[start]], ks[first[last]])
    a1 = np.r_[first[start[1:]], len(ks)]
    return order, [(int(s), int(e), int(p), int(q))
                   for s, e, p, q in zip(first[start], a1, b0, b1, strict=True) if q > p]


def _products(ra: DescriptorRows, rb: DescriptorRows, a_order: I64, b_order: I64,
              blocks: list[Block], gate: tuple[F64, F64, float] | None, out: TwoNearest) -> None:
    """The two nearest by matrix products over ``blocks`` of a (in ``a_order``) and of b
    (entries ``b_order``); ``gate``: the sorted positions of a, of b's entries, and the
    squared radius. Results into ``out``."""
    a2 = ra.rows[a_order]
    a2 *= a2.dtype.type(-2)
    b = rb.rows[b_order]
    nb = rb.sq_norm[b_order]
    na = ra.sq_norm[a_order]
    bound = (math.sqrt(float(ra.sq_norm.max())) + math.sqrt(float(rb.sq_norm.max()))) ** 2
    by_sq = ra.hamming or bound < ROOTS_DISTINCT  # rank by |b|^2 - 2 a.b, |a|^2 added after
    found = np.full(len(a2), -1, np.int64)
    v1 = np.full(len(a2), np.inf, a2.dtype)
    v2 = np.full(len(a2), np.inf, a2.dtype)
    for a0, a1, b0, b1 in blocks:
        step = max(1, BLOCK_ELEMENTS // (b1 - b0))
        for r0 in range(a0, a1, step):
            r1 = min(r0 + step, a1)
            g = _minus2_dots(a2[r0:r1], b[b0:b1])
            g += nb[b0:b1]
            if not by_sq:
                g += na[r0:r1, None]
                np.sqrt(g, out=g)
            if gate is not None:
                np.copyto(g, np.inf, where=_outside(gate[0][r0:r1], gate[1][b0:b1], gate[2]))
            j, v1[r0:r1], v2[r0:r1] = _two_smallest(g, b_order[b0:b1])
            found[r0:r1] = np.where(np.isfinite(v1[r0:r1]), j + b0, -1)
    if by_sq:
        v1 += na
        v2 += na
    _finish(found, v1, v2, a_order, b_order, ra.hamming or not by_sq, out)


def _finish(found: I64, v1: Rows, v2: Rows, a_order: I64, b_order: I64, final: bool,
            out: TwoNearest) -> None:
    """Sorted results to ``out``: entries ``found`` to keypoints of b, squared distances
    to distances (``final``: already distances)."""
    d1, d2 = v1.astype(np.float32), v2.astype(np.float32)
    if not final:
        np.sqrt(d1, out=d1)
        np.sqrt(d2, out=d2)
    out.best[a_order] = np.where(found >= 0, b_order[found], -1)
    out.d1[a_order] = d1
    out.d2[a_order] = d2


def _two_smallest(g: Rows, labels: I64) -> tuple[I64, Rows, Rows]:
    """Per row of ``g``: the column of the smallest value (ties: the lowest ``labels``),
    the smallest and the second smallest values. Overwrites ``g``."""
    rows = np.arange(len(g))
    j = np.argmin(g, axis=1)
    m1 = g[rows, j]
    g[rows, j] = np.inf
    m2 = g.min(axis=1)
    for i in np.flatnonzero((m1 == m2) & np.isfinite(m1)):  # rare: several at the minimum
        cols = np.r_[j[i], np.flatnonzero(g[i] == m1[i])]
        j[i] = cols[np.argmin(labels[cols])]
    return j, m1, m2


def _outside(a_m: F64, b_m: F64, r2: float) -> NDArray[np.bool_]:
    """(Na, Nb): True where the two points are farther apart than sqrt(r2) (the k-d tree's
    test, in float64)."""
    dx = np.subtract.outer(a_m[:, 0], b_m[:, 0])
    dy = np.subtract.outer(a_m[:, 1], b_m[:, 1])
    np.multiply(dx, dx, out=dx)
    np.multiply(dy, dy, out=dy)
    np.add(dx, dy, out=dx)
    return np.greater(dx, r2)


def _minus2_dots(a2: Rows, b: Rows) -> Rows:
    """``a2 . b`` for every pair of rows (Na, Nb), in products of at most ``BLAS_MAX_MNK``."""
    out = np.empty((len(a2), len(b)), a2.dtype)
    width = max(1, a2.shape[1])
    tr = max(1, min(len(a2), math.isqrt(BLAS_MAX_MNK // width)))
    tc = max(1, BLAS_MAX_MNK // (width * tr))
    for i0 in range(0, len(a2), tr):
        for j0 in range(0, len(b), tc):
            np.matmul(a2[i0:i0 + tr], b[j0:j0 + tc].T, out=out[i0:i0 + tr, j0:j0 + tc])
    return out


def _pairs(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64, radius_m: float,
           b_order: I64, ranges: tuple[I64, I64], out: TwoNearest) -> None:
    """The candidate pairs listed (grouped by a), their distances pair by pair."""
    ia, ib = _candidate_pairs(a_m, b_m, radius_m, b_order, ranges)
    if len(ia) == 0:
        return
    dots = np.einsum("ij,ij->i", ra.rows[ia], rb.rows[ib])
    sq = ra.sq_norm[ia] + rb.sq_norm[ib] - 2 * dots
    key = sq.astype(np.float32)
    if not ra.hamming:
        np.sqrt(key, out=key)
    _segment_two_smallest(ia, ib, key, out)


def _candidate_pairs(a_m: F64, b_m: F64, radius_m: float, b_order: I64,
                     ranges: tuple[I64, I64]) -> tuple[I64, I64]:
    """All (i, j) with b_j within ``radius_m`` of a_i, ordered by i; ``ranges``: the
    entries of ``b_order`` around each keypoint of a."""
    start, count = ranges[0], ranges[1] - ranges[0]
    ia = np.repeat(np.arange(len(a_m)), count)
    skip = np.repeat(start - (np.cumsum(count) - count), count)
    ib = b_order[np.arange(len(ia)) + skip]
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
