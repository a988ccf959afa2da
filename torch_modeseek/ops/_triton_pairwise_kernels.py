"""Triton kernels of the all-pairs distances (S samples per condition); launched by :mod:`._triton_launch`.

The conventions are those of :mod:`._triton_kernels` (rows in memory order, int64 offsets, upcast loads, fixed-order
sums, the two sums of squares of MSE and L2). Each program holds an (S, S) tile of pair sums for one condition; long
rows are split into chunks whose partial tiles a second kernel sums in order.
"""

# ruff: noqa: N803 - Triton convention: compile-time constants (tl.constexpr) are upper case

from __future__ import annotations

import contextlib

from torch_modeseek.ops._triton_kernels import COSINE, L1, L2, _finish, _sqrt, jit

with contextlib.suppress(ImportError):  # without Triton the kernels are plain functions, never launched
    import triton.language as tl


@jit
def _pairwise_fwd(
    x_ptr,
    part_ptr,
    out_ptr,
    raw_ptr,
    n,
    samples,
    stride_s,
    stride_b,
    chunk,
    KIND: tl.constexpr,
    S: tl.constexpr,
    BK: tl.constexpr,
    FINAL: tl.constexpr,
    ACC: tl.constexpr,
    PLANES: tl.constexpr,
    BIG: tl.constexpr,
    UNBIG: tl.constexpr,
    HUGE: tl.constexpr,
):
    """Program (b, c): sums over elements [c * chunk, ...) of every pair (i, j) of the samples of condition b.

    Accumulates ``|x_i - x_j|`` (L1), ``(x_i - x_j)^2`` (MSE, L2) or ``x_i x_j`` (cosine) into an (S, S) tile, written
    to ``part[b, c, 0]``, and for MSE and L2 the scaled squares into a second tile, ``part[b, c, 1]``; with ``FINAL``
    (one chunk per condition) it finishes the distances itself.
    """
    b = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1).to(tl.int64)
    chunks = tl.num_programs(1).to(tl.int64)
    i = tl.arange(0, S)
    k = tl.arange(0, BK)
    rows = x_ptr + i[:, None].to(tl.int64) * stride_s + b * stride_b
    acc = tl.zeros((S, S), ACC)
    big = tl.zeros((S, S), ACC)
    start = c * chunk
    stop = tl.minimum(start + chunk, n)
    for k0 in range(start, stop, BK):
        offs = k0 + k
        m = (i[:, None] < samples) & (offs[None, :] < stop)
        xt = tl.load(rows + offs[None, :], mask=m, other=0.0).to(ACC)
        if KIND == COSINE:
            term = xt[:, None, :] * xt[None, :, :]
        elif KIND == L1:
            term = tl.abs(xt[:, None, :] - xt[None, :, :])
        else:
            d = xt[:, None, :] - xt[None, :, :]
            term = d * d
            e = d * BIG
            big += tl.sum(e * e, axis=2)
        acc += tl.sum(term, axis=2)
    if FINAL:
        _pairwise_store(acc, big, out_ptr, raw_ptr, b, n, samples, KIND, S, UNBIG, HUGE)
    else:
        ij = i[:, None] * S + i[None, :]
        tl.store(part_ptr + (b * chunks + c) * PLANES * S * S + ij, acc)
        if PLANES == 2:
            tl.store(part_ptr + ((b * chunks + c) * 2 + 1) * S * S + ij, big)


@jit
def _pairwise_store(
    raw,
    big,
    out_ptr,
    raw_ptr,
    b,
    n,
    samples,
    KIND: tl.constexpr,
    S: tl.constexpr,
    UNBIG: tl.constexpr,
    HUGE: tl.constexpr,
):
    """Write the (S, S) sums ``raw`` of condition b and the distances they give (zero diagonal) to (B, samples^2).

    ``big``: the scaled sums of squares of MSE and L2 (see :func:`_finish`).
    """
    i = tl.arange(0, S)
    diag = i[:, None] == i[None, :]
    if KIND == COSINE:
        sq = tl.sum(tl.where(diag, raw, 0.0), axis=1)
        d = _finish(raw, sq[:, None], sq[None, :], n, KIND, UNBIG, HUGE)
    else:
        d = _finish(raw, big, big, n, KIND, UNBIG, HUGE)
    d = tl.where(diag, 0.0, d)
    m = (i[:, None] < samples) & (i[None, :] < samples)
    dst = b * samples * samples + i[:, None] * samples + i[None, :]
    tl.store(out_ptr + dst, d, mask=m)
    tl.store(raw_ptr + dst, raw, mask=m)


@jit
def _pairwise_finalize(
    part_ptr,
    out_ptr,
    raw_ptr,
    n,
    samples,
    chunks,
    KIND: tl.constexpr,
    S: tl.constexpr,
    ACC: tl.constexpr,
    PLANES: tl.constexpr,
    UNBIG: tl.constexpr,
    HUGE: tl.constexpr,
):
    """Program b: sum the chunks' (S, S) partial sums (each plane) in order, then finish as :func:`_pairwise_store`."""
    b = tl.program_id(0).to(tl.int64)
    i = tl.arange(0, S)
    ij = i[:, None] * S + i[None, :]
    raw = tl.zeros((S, S), ACC)
    big = tl.zeros((S, S), ACC)
    for c in range(0, chunks):
        raw += tl.load(part_ptr + (b * chunks + c) * PLANES * S * S + ij)
        if PLANES == 2:
            big += tl.load(part_ptr + ((b * chunks + c) * 2 + 1) * S * S + ij)
    _pairwise_store(raw, big, out_ptr, raw_ptr, b, n, samples, KIND, S, UNBIG, HUGE)


@jit
def _pairwise_bwd(
    x_ptr,
    g_ptr,
    gs0,
    gs1,
    gs2,
    out_ptr,
    raw_ptr,
    gx_ptr,
    n,
    samples,
    stride_s,
    stride_b,
    chunk,
    KIND: tl.constexpr,
    S: tl.constexpr,
    BK: tl.constexpr,
    ACC: tl.constexpr,
):
    """Program (b, c): gradient of elements [c * chunk, ...) of the samples of condition b.

    With ``W = G + G^T`` (zero diagonal: the reference's diagonal is a constant), L1 gives
    ``gx_i = sum_j W_ij sign(x_i - x_j) / n``, MSE and L2 ``gx_i = sum_j A_ij (x_i - x_j)`` (differences, not
    ``x_i sum_j A_ij - sum_j A_ij x_j``, which loses the gradient to cancellation when the values are large next to
    their differences), with ``A = 2 W / n`` for MSE and ``W / d`` for L2, whose sum is divided by ``n`` afterwards so
    that no coefficient underflows for large distances. Cosine is linear, ``gx_i = sum_j A_ij x_j``. ``gx`` is
    dense, (S, B, n) in the input's memory order.
    """
    b = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1).to(tl.int64)
    batch = tl.num_programs(0).to(tl.int64)
    i = tl.arange(0, S)
    k = tl.arange(0, BK)
    valid = (i[:, None] < samples) & (i[None, :] < samples)
    diag = i[:, None] == i[None, :]
    gsrc = g_ptr + b * gs0
    i64 = i.to(tl.int64)  # the upstream gradient may sit at any strides: 64-bit offsets
    gij = tl.load(gsrc + i64[:, None] * gs1 + i64[None, :] * gs2, mask=valid, other=0.0).to(ACC)
    gji = tl.load(gsrc + i64[None, :] * gs1 + i64[:, None] * gs2, mask=valid, other=0.0).to(ACC)
    w = tl.where(diag, 0.0, gij + gji)
    src = b * samples * samples + i[:, None] * samples + i[None, :]
    raw = tl.load(raw_ptr + src, mask=valid, other=0.0)
    if KIND == L1:
        a = w / n
    elif KIND == COSINE:
        sq = tl.sum(tl.where(diag, raw, 0.0), axis=1)
        norm = _sqrt(tl.maximum(sq, 1e-16))
        inv = 1.0 / (norm[:, None] * norm[None, :])
        self_term = tl.where(sq >= 1e-16, tl.sum(w * raw * inv, axis=1) / (norm * norm), 0.0)
        a = tl.where(diag, self_term[:, None], -w * inv)
    else:
        if KIND == L2:
            dist = tl.load(out_ptr + src, mask=valid, other=1.0)
            live = (~diag) & (raw / n >= 1.1754943508222875e-38)
            a = tl.where(live, w / tl.where(live, dist, 1.0), 0.0)  # n times the coefficient: divided below
        else:
            a = w * (2.0 / n)
    rows = x_ptr + i[:, None].to(tl.int64) * stride_s + b * stride_b
    dst = gx_ptr + (i[:, None].to(tl.int64) * batch + b) * n
    start = c * chunk
    stop = tl.minimum(start + chunk, n)
    for k0 in range(start, stop, BK):
        offs = k0 + k
        m = (i[:, None] < samples) & (offs[None, :] < stop)
        xt = tl.load(rows + offs[None, :], mask=m, other=0.0).to(ACC)
        if KIND == COSINE:
            gx = tl.sum(a[:, :, None] * xt[None, :, :], axis=1)
        else:
            diff = xt[:, None, :] - xt[None, :, :]
            if KIND == L1:
                gx = tl.sum(a[:, :, None] * tl.where(diff > 0, 1.0, tl.where(diff < 0, -1.0, 0.0)), axis=1)
            else:
                gx = tl.sum(a[:, :, None] * diff, axis=1)
                if KIND == L2:
                    gx = gx / n
        tl.store(dst + offs[None, :], gx, mask=m)
