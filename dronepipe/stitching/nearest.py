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
Matrix products are split so that rows x columns x width stays below 2**19: from there on
OpenBLAS starts threads, whose spinning costs 2 to 10 times the CPU of the product itself
at these sizes.
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

BLAS_MAX_MNK = 2**19 - 1  # largest product OpenBLAS runs on one thread (rows x cols x width)
BLOCK_ELEMENTS = 2**16  # distances held at once
RUN_KEYPOINTS = 32  # keypoints of a gathered into one run of cells (one product)
ROOTS_DISTINCT = 2**22  # squared distances below this have distinct float32 roots
# CPU estimates (ns) that choose between products and listed pairs; measured on sim flights
NS_PER_BLOCK, NS_PER_PRODUCT, NS_PER_PAIR = 20_000.0, 9.0, 60.0
_NONE = np.iinfo(np.int64).max
_FAR = np.float32(1e30)  # added to candidates outside the gate: beyond any real distance


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

    def subset(self, idx: I64) -> DescriptorRows:
        """The rows ``idx`` (in that order)."""
        return DescriptorRows(self.rows[idx], self.sq_norm[idx], self.hamming)

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
        order = np.argsort(keys)
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
    if len(ra) == 0 or len(rb) == 0:
        return out
    if radius_m is not None:
        radius_m = abs(radius_m)  # as the k-d tree's test, which squares it
    lo = np.minimum(a_m.min(axis=0), b_m.min(axis=0))
    hi = np.maximum(a_m.max(axis=0), b_m.max(axis=0))
    if radius_m is None or radius_m >= float(np.hypot(*(hi - lo))) * (1.0 + 1e-9):
        _everywhere(ra, rb, out)
    else:
        _within(ra, rb, a_m, b_m, radius_m, Bands.of(b_m, lo, hi, radius_m), out)
    return out


def _check(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64,
           radius_m: float | None) -> None:
    """ValueError for descriptors or positions that cannot be matched."""
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


def _everywhere(ra: DescriptorRows, rb: DescriptorRows, out: TwoNearest) -> None:
    """No gate: every keypoint of b a candidate, products in row blocks."""
    step = max(1, BLOCK_ELEMENTS // len(rb))
    a0 = np.arange(0, len(ra), step)
    blocks = np.stack([a0, np.minimum(a0 + step, len(ra)), np.zeros_like(a0),
                       np.full_like(a0, len(rb))], axis=1)
    _products(ra, rb, np.arange(len(ra)), np.arange(len(rb)), blocks, None, out)
    _resolve_ties(ra, rb, None, out)


def _within(ra: DescriptorRows, rb: DescriptorRows, a_m: F64, b_m: F64, radius_m: float,
            bands: Bands, out: TwoNearest) -> None:
    """Within the gate: products per run of cells, or listed pairs, whichever the CPU
    estimate prefers (the runs are not even formed where the pairs are surely cheaper)."""
    keys = bands.keys_of(a_m)
    start, end = bands.around(keys, keys)
    listed = end - start
    pairs_ns = NS_PER_PAIR * float(listed.sum())
    least_blocks = math.ceil(np.count_nonzero(listed) / (2 * RUN_KEYPOINTS))
    if pairs_ns > NS_PER_BLOCK * least_blocks + NS_PER_PRODUCT * float(listed.sum()):
        a_order, blocks = runs(bands, keys)
        work = float(((blocks[:, 1] - blocks[:, 0]) * (blocks[:, 3] - blocks[:, 2])).sum())
        if NS_PER_BLOCK * len(blocks) + NS_PER_PRODUCT * work < pairs_ns:
            gate = Gate.of(a_m[a_order], b_m[bands.order], radius_m)
            _products(ra, rb, a_order, bands.order, blocks, gate, out)
            _resolve_ties(ra, rb, Gate.of(a_m, b_m, radius_m), out)
            return
    _pairs(ra, rb, Gate.of(a_m, b_m, radius_m), bands.order, (start, end), out)


def runs(bands: Bands, keys: I64) -> tuple[I64, I64]:
    """The keypoints of ``a`` (cell ``keys``) sorted by cell, and blocks of them (K, 4):
    runs of cells in one column with about ``RUN_KEYPOINTS`` keypoints, rows ``a0:a1`` of
    the sorted keypoints against entries ``b0:b1`` of the bands (none empty)."""
    order = np.argsort(keys)
    ks = keys[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])  # = keypoints before each cell
    col, cy = np.divmod(ks[first], bands.ny)
    new_col = np.r_[True, (col[1:] != col[:-1]) | (cy[1:] - cy[:-1] > 2)]
    in_col = first - np.maximum.accumulate(np.where(new_col, first, 0))
    group = in_col // RUN_KEYPOINTS
    start = np.flatnonzero(new_col | np.r_[True, group[1:] != group[:-1]])
    last = np.r_[start[1:], len(first)] - 1
    b0, b1 = bands.around(ks[first[start]], ks[first[last]])
    blocks = np.stack([first[start], np.r_[first[start[1:]], len(ks)], b0, b1], axis=1)
    return order, blocks[b1 > b0]


@dataclass(frozen=True)
class Gate:
    """Map positions (metres) of the keypoints of a (``ax``, ``ay``) and of b (``bx``,
    ``by``), each contiguous, and the gate ``radius_m``."""

    ax: F64
    ay: F64
    bx: F64
    by: F64
    radius_m: float

    @classmethod
    def of(cls, a_m: F64, b_m: F64, radius_m: float) -> Gate:
        """The gate between positions ``a_m`` (Na, 2) and ``b_m`` (Nb, 2)."""
        a, b = np.ascontiguousarray(a_m.T), np.ascontiguousarray(b_m.T)
        return cls(a[0], a[1], b[0], b[1], radius_m)

    def outside(self, a: slice | I64, b: slice | I64) -> NDArray[np.bool_]:
        """(na, nb): True where b lies farther than the radius from a, by the k-d tree's
        test: dx*dx + dy*dy > r*r in float64."""
        dx = np.subtract.outer(self.ax[a], self.bx[b])
        dy = np.subtract.outer(self.ay[a], self.by[b])
        np.multiply(dx, dx, out=dx)
        np.multiply(dy, dy, out=dy)
        np.add(dx, dy, out=dx)
        return np.greater(dx, self.radius_m * self.radius_m)


def _products(ra: DescriptorRows, rb: DescriptorRows, a_order: I64, b_order: I64,
              blocks: I64, gate: Gate | None, out: TwoNearest) -> None:
    """The two nearest by matrix products over ``blocks`` (K, 4: a0, a1, b0, b1) of a in
    ``a_order`` and of b's entries ``b_order``; ``gate`` in the same orders. Into
    ``out``; where the nearest is tied, ``best`` is one of them (``_resolve_ties``)."""
    a2 = ra.rows[a_order]
    a2 *= a2.dtype.type(-2)
    b, nb = rb.rows[b_order], rb.sq_norm[b_order]
    bound = (math.sqrt(float(ra.sq_norm.max())) + math.sqrt(float(rb.sq_norm.max()))) ** 2
    by_sq = ra.hamming or bound * (1.0 + 1e-9) < ROOTS_DISTINCT  # rank by |b|^2 - 2 a.b
    na = ra.sq_norm[a_order][:, None]
    pos = np.zeros(len(a2), np.int64)
    v1 = np.full(len(a2), np.inf, a2.dtype)
    v2 = np.full(len(a2), np.inf, a2.dtype)
    rows = np.arange(min(len(a2), BLOCK_ELEMENTS))
    for a0, a1, b0, b1 in blocks.tolist():
        step = max(1, BLOCK_ELEMENTS // (b1 - b0))
        for r0 in range(a0, a1, step):
            r1 = min(r0 + step, a1)
            g = _dots(a2[r0:r1], b[b0:b1])
            g += nb[b0:b1]
            if not by_sq:
                g += na[r0:r1]
                np.sqrt(g, out=g)
            if gate is not None:  # cheaper than a masked copy
                g += gate.outside(slice(r0, r1), slice(b0, b1)) * _FAR
            j = g.argmin(axis=1)
            k = rows[:r1 - r0]
            v1[r0:r1] = g[k, j]
            g[k, j] = np.inf
            g.min(axis=1, out=v2[r0:r1])
            pos[r0:r1] = j + b0
    v1[v1 >= _FAR] = np.inf
    v2[v2 >= _FAR] = np.inf
    if by_sq:
        v1 += na[:, 0]
        v2 += na[:, 0]
    d1, d2 = v1.astype(np.float32), v2.astype(np.float32)
    if by_sq and not ra.hamming:
        np.sqrt(d1, out=d1)
        np.sqrt(d2, out=d2)
    out.best[a_order] = np.where(np.isfinite(d1), b_order[pos], -1)
    out.d1[a_order] = d1
    out.d2[a_order] = d2


def _dots(a2: Rows, b: Rows) -> Rows:
    """``a2 . b`` for every pair of rows (Na, Nb), in products of at most ``BLAS_MAX_MNK``:
    whole rows of the result where a few fit (numpy hands BLAS only contiguous outputs),
    else tiles of 32 rows through a copy."""
    out = np.empty((len(a2), len(b)), a2.dtype)
    width = max(1, a2.shape[1])
    tr = BLAS_MAX_MNK // (len(b) * width)
    if tr >= min(8, len(a2)):
        for i0 in range(0, len(a2), tr):
            np.matmul(a2[i0:i0 + tr], b.T, out=out[i0:i0 + tr])
        return out
    tr = min(32, len(a2))
    tc = max(1, BLAS_MAX_MNK // (tr * width))
    for i0 in range(0, len(a2), tr):
        for j0 in range(0, len(b), tc):
            out[i0:i0 + tr, j0:j0 + tc] = a2[i0:i0 + tr] @ b[j0:j0 + tc].T
    return out


def _distances(sq: Rows, hamming: bool) -> F32:
    """OpenCV's distances (float32) from exact squared distances: their float32 square
    roots, or for Hamming rows the bit counts themselves."""
    key = sq.astype(np.float32)
    if not hamming:
        np.sqrt(key, out=key)
    return key


def _resolve_ties(ra: DescriptorRows, rb: DescriptorRows, gate: Gate | None,
                  out: TwoNearest) -> None:
    """Where the nearest distance is tied (rare), the lowest index of b among the tied,
    as OpenCV: the keypoint's distances to every candidate again."""
    for i in np.flatnonzero((out.d1 == out.d2) & np.isfinite(out.d1)).tolist():
        dots = np.einsum("ij,j->i", rb.rows, ra.rows[i])
        key = _distances(ra.sq_norm[i] + rb.sq_norm - 2 * dots, ra.hamming)
        if gate is not None:
            key[gate.outside(np.array([i]), slice(None))[0]] = np.inf
        out.best[i] = int(np.argmin(key))


def _pairs(ra: DescriptorRows, rb: DescriptorRows, gate: Gate, b_order: I64,
           ranges: tuple[I64, I64], out: TwoNearest) -> None:
    """The candidate pairs listed (grouped by a), their distances pair by pair."""
    ia, ib = _candidate_pairs(gate, b_order, ranges)
    if len(ia) == 0:
        return
    dots = np.einsum("ij,ij->i", ra.rows.take(ia, axis=0), rb.rows.take(ib, axis=0))
    sq = ra.sq_norm[ia] + rb.sq_norm[ib] - 2 * dots
    _segment_two_smallest(ia, ib, _distances(sq, ra.hamming), out)


def _candidate_pairs(gate: Gate, b_order: I64, ranges: tuple[I64, I64]) -> tuple[I64, I64]:
    """All (i, j) with b_j within the gate of a_i, ordered by i; ``ranges``: the entries
    of ``b_order`` around each keypoint of a."""
    start, count = ranges[0], ranges[1] - ranges[0]
    ia = np.repeat(np.arange(len(start)), count)
    at = np.repeat(start - (np.cumsum(count) - count), count)
    at += np.arange(len(at))
    ib = b_order[at]
    dx = gate.ax[ia] - gate.bx[ib]
    dy = gate.ay[ia] - gate.by[ib]
    dx *= dx
    dy *= dy
    dx += dy
    keep = dx <= gate.radius_m * gate.radius_m
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
