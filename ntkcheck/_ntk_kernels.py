"""Numba kernels of :mod:`ntkcheck.ntk`: private, no validation, no randomness, no raising.

They take C-contiguous float64 / uint64 arrays prepared by the public wrappers, which also do
all BLAS-shaped work (``X @ W.T``, ``X @ X.T``) in NumPy.

Co-activation counts (docs/theory.md §4, DZPS19; LK22 Def. 1)::

    C_ij = sum_r mask_r 1{<w_r, x_i> >= b} 1{<w_r, x_j> >= b}

are computed by packing each row's activation pattern into 64-bit words and summing
``popcount(B_i & B_j)`` over the words: 64 neurons per AND and one POPCNT (vectorised by LLVM
to AVX-512 VPOPCNTQ where the CPU has it).  A 0/1 mask is folded into the packed bits, since
``(a & m) & (b & m) == a & b & m``.

Angles (docs/theory.md §4): ``phi = 2 atan2(|u - v|, |u + v|)`` on unit vectors is exact on the
diagonal and accurate for nearly parallel pairs; its complement ``pi - phi = 2 atan2(|u + v|,
|u - v|)`` is accurate for nearly anti-parallel pairs.  Where ``|cos phi| <= ANGLE_SWITCH``
the Gram cosine is well conditioned and ``arccos`` is used (error <= eps / sin(phi)).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from ._config import NJIT_OPTS

#: Above this |cos phi| the half-angle form replaces arccos (sin(phi) >= 0.43 below it).
ANGLE_SWITCH = 0.9


@intrinsic
def _popcount64_intrinsic(typingctx, x):
    """LLVM ``ctpop`` on a uint64 (lowered to POPCNT / VPOPCNTQ)."""
    if x != types.uint64:
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


def _popcount64_python(x):
    """Pure-Python popcount, used when Numba's JIT is disabled (``NUMBA_DISABLE_JIT=1``)."""
    return np.uint64(int(x).bit_count())


_popcount64 = _popcount64_python if numba.config.DISABLE_JIT else _popcount64_intrinsic


@njit(**NJIT_OPTS)
def _prepare_chunk_kernel(Wc, W32, wnorm):
    """Copy a chunk of weights to float32 and store its row norms.

    Wc (c, d) any real dtype/layout; W32 (c, d) float32 out; wnorm (c,) float64 out.
    Returns ``(max |w|, min nonzero |w|)`` over the chunk (inf if all zero), which decides
    whether float32 pre-activations are safe from overflow and underflow.
    """
    c, d = Wc.shape
    mx = 0.0
    mn = np.inf
    for r in range(c):
        s = 0.0
        for k in range(d):
            v = np.float64(Wc[r, k])
            W32[r, k] = np.float32(v)
            s += v * v
            a = abs(v)
            mx = max(mx, a)
            mn = min(mn, a if a > 0.0 else np.inf)
        wnorm[r] = math.sqrt(s)
    return mx, mn


@njit(**NJIT_OPTS)
def _pack_patterns_kernel(P, shift, X, Wc, xtol, wnorm, mask_words, B):
    """Pack ``<w_r, x_i> >= shift`` (and the mask bit of r) into bit ``r % 64`` of ``B[i, r // 64]``.

    P (n, c) holds the pre-activations ``X Wc^T`` in float32 or float64.  An entry whose
    distance to ``shift`` is within its rounding bound ``xtol[i] * wnorm[r]`` is recomputed
    as a float64 dot product from X (n, d) float64 and the chunk Wc (c, d) (pass ``xtol = 0``
    for float64 P: then nothing is recomputed).  Bits past ``c`` stay 0.
    mask_words (ceil(c/64),) uint64; B (n, ceil(c/64)) uint64, overwritten.
    """
    n, c = P.shape
    nw = B.shape[1]
    for i in range(n):
        ti = xtol[i]
        for w in range(nw):
            base = w * 64
            word = np.uint64(0)
            amb = np.uint64(0)
            if base + 64 <= c:
                for k in range(64):
                    v = np.float64(P[i, base + k]) - shift
                    word |= np.uint64(v >= 0.0) << np.uint64(k)
                    amb |= np.uint64(abs(v) <= ti * wnorm[base + k]) << np.uint64(k)
            else:
                for k in range(c - base):
                    v = np.float64(P[i, base + k]) - shift
                    word |= np.uint64(v >= 0.0) << np.uint64(k)
                    amb |= np.uint64(abs(v) <= ti * wnorm[base + k]) << np.uint64(k)
            if amb != 0:
                for k in range(64):
                    if (amb >> np.uint64(k)) & np.uint64(1):
                        r = base + k
                        dot = 0.0
                        for q in range(X.shape[1]):
                            dot += X[i, q] * np.float64(Wc[r, q])
                        bit = np.uint64(1) << np.uint64(k)
                        if dot >= shift:
                            word |= bit
                        else:
                            word &= ~bit
            B[i, w] = word & mask_words[w]


@njit(**NJIT_OPTS)
def _accumulate_counts_kernel(B, C):
    """Upper triangle of ``C += popcount(B_i & B_j)`` (summed over the words of a row).

    B (n4, nw) uint64 with ``n4`` a multiple of 4 (padding rows are zero); C (n4, n4).
    Register blocking: 4 rows i against 2 rows j, so each loaded word feeds 4 or 2 ANDs;
    entries below the diagonal inside the diagonal 4 x 4 blocks are written too and
    ignored by the caller, which reads only the upper triangle.
    """
    n, nw = B.shape
    for i0 in range(0, n, 4):
        for j in range(i0, n, 2):
            a0 = np.uint64(0)
            a1 = np.uint64(0)
            a2 = np.uint64(0)
            a3 = np.uint64(0)
            b0 = np.uint64(0)
            b1 = np.uint64(0)
            b2 = np.uint64(0)
            b3 = np.uint64(0)
            for w in range(nw):
                x = B[j, w]
                y = B[j + 1, w]
                r0 = B[i0, w]
                r1 = B[i0 + 1, w]
                r2 = B[i0 + 2, w]
                r3 = B[i0 + 3, w]
                a0 += _popcount64(r0 & x)
                a1 += _popcount64(r1 & x)
                a2 += _popcount64(r2 & x)
                a3 += _popcount64(r3 & x)
                b0 += _popcount64(r0 & y)
                b1 += _popcount64(r1 & y)
                b2 += _popcount64(r2 & y)
                b3 += _popcount64(r3 & y)
            C[i0, j] += a0
            C[i0 + 1, j] += a1
            C[i0 + 2, j] += a2
            C[i0 + 3, j] += a3
            C[i0, j + 1] += b0
            C[i0 + 1, j + 1] += b1
            C[i0 + 2, j + 1] += b2
            C[i0 + 3, j + 1] += b3


@njit(**NJIT_OPTS)
def _pair_angle(c, U, i, j):
    """(phi, pi - phi) for unit rows U[i], U[j] whose Gram cosine is ``c``."""
    if abs(c) <= ANGLE_SWITCH:
        phi = math.acos(c)
        return phi, math.pi - phi
    d = U.shape[1]
    dm = 0.0
    dp = 0.0
    for k in range(d):
        a = U[i, k]
        b = U[j, k]
        dm += (a - b) * (a - b)
        dp += (a + b) * (a + b)
    dm = math.sqrt(dm)
    dp = math.sqrt(dp)
    return 2.0 * math.atan2(dm, dp), 2.0 * math.atan2(dp, dm)


@njit(inline="always", **NJIT_OPTS)
def _angle_row(G, norms, U, i, Phi, complement):
    """Row i (j > i) of the angle matrix, or of its complement pi - phi (upper triangle only)."""
    n = U.shape[0]
    for j in range(i + 1, n):
        c = min(1.0, max(-1.0, G[i, j] / (norms[i] * norms[j])))
        phi, comp = _pair_angle(c, U, i, j)
        Phi[i, j] = comp if complement else phi


_TILE = 64


@njit(parallel=True, **NJIT_OPTS)
def _mirror_upper_kernel(A):
    """Copy the strict upper triangle of A onto the lower one, tile by tile (cache-friendly)."""
    n = A.shape[0]
    nt = (n + _TILE - 1) // _TILE
    for bi in prange(nt):
        i0 = bi * _TILE
        i1 = min(n, i0 + _TILE)
        for bj in range(bi, nt):
            j0 = bj * _TILE
            j1 = min(n, j0 + _TILE)
            for i in range(i0, i1):
                for j in range(max(j0, i + 1), j1):
                    A[j, i] = A[i, j]


@njit(parallel=True, **NJIT_OPTS)
def _angles_kernel(G, norms, U, complement, Phi):
    """Upper triangle of Phi[i, j] = phi_ij (or pi - phi_ij if ``complement``).

    G (n, n) Gram matrix X X^T, norms (n,) row norms, U (n, d) unit rows.  The diagonal is
    set to phi_ii = 0 exactly (pi if ``complement``); the caller mirrors the upper triangle
    with :func:`_mirror_upper_kernel`.  Rows t and n-1-t form one task so the triangular work
    is balanced over threads.
    """
    n = U.shape[0]
    diag = math.pi if complement else 0.0
    for t in prange((n + 1) // 2):
        Phi[t, t] = diag
        _angle_row(G, norms, U, t, Phi, complement)
        other = n - 1 - t
        if other != t:
            Phi[other, other] = diag
            _angle_row(G, norms, U, other, Phi, complement)
