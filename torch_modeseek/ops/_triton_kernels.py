"""Triton kernels of the fused distances; launched by :mod:`torch_modeseek.ops._triton`, never called directly.

Every kernel reads the samples as rows of ``n`` elements in memory order: a sample's features must fill a dense block
(any dimension order, e.g. channels_last), and the two inputs of a paired distance must share that order, so that the
``k``-th element of one row meets the ``k``-th of the other. Rows may sit at any stride. Offsets are int64, every
load is upcast at once to the accumulation type (float32, or float64 for float64 inputs), and per-row sums are
reduced in a fixed order without atomics, so results are deterministic.

Each kind is the branch of its ``kernel`` id in :data:`torch_modeseek.kinds.KINDS` (the constants ``L1``, ``MSE``,
``L2``, ``COSINE`` below are read from it; the launchers pass the id as ``KIND``).

MSE and L2 keep two sums of squares: the plain one, ``sum d^2``, and ``sum (d * BIG)^2`` with ``BIG`` a power of two
(2^-90 for float32 accumulation, 2^-600 for float64). Where the plain sum overflowed (``> HUGE``, the largest finite
value) the distance comes from the scaled one, multiplied back by ``UNBIG = 1 / BIG`` after the mean (and the square
root), so that large finite inputs (1e30 in float32) give finite distances; where it did not, the result is the
plain sum's, bit for bit. The scaled sum cannot overflow (its terms are below 2^76), and the terms it flushes to zero
are negligible next to a total beyond ``HUGE``. The MSE and L2 gradients are formed from the differences
(``p (x1 - x2)``, not ``p x1 - p x2``, which cancels where the values are large next to their differences), and L2's
divide by the distance before the mean's ``1 / n``, so that no coefficient underflows for large distances.

Paired L1 keeps, instead of the inputs, two bits per element packed into int32 words: a sign bit (set where
``x1 > x2``: the gradient of ``x1`` is positive there) and a live bit (set where ``x1 != x2``, that is where the
reference's ``sign(x1 - x2)`` is not zero; clear at exact ties and at NaN). The backward expands them into
``g / n * {+1, -1, 0}`` without reading the inputs, so the L1 backward moves ``n / 4`` bytes of mask plus the two
gradients, however many elements tie. (Ties are common in real generators: saturated tanh outputs are exactly +-1 in
bfloat16 and float16, ReLU outputs exactly 0. One bit per element cannot hold the three states; a design that
re-reads the inputs of tiles with a tie moves up to twice the bytes when ties are spread out.)

The all-pairs kernels live in :mod:`._triton_pairwise_kernels` and share :func:`_finish` with the paired ones. Both
modules import without Triton (the kernels are then plain, unusable functions), so that the package's doctest
collection and its Triton-free installs never fail on them.
"""

# ruff: noqa: N803 - Triton convention: compile-time constants (tl.constexpr) are upper case

from __future__ import annotations

from torch_modeseek.kinds import KINDS

try:
    import triton
    import triton.language as tl

    jit = triton.jit
    _HAVE_TRITON = True
except ImportError:  # pragma: no cover - exercised by the Triton-free CI run
    _HAVE_TRITON = False

    def jit(fn):  # type: ignore[no-redef]
        """Leave ``fn`` undecorated: without Triton the kernels are never launched."""
        return fn


def _kind(name: str):  # -> tl.constexpr (an int without Triton)
    """The kernel id of the kind ``name``, as a compile-time constant the kernels can compare ``KIND`` with."""
    kernel = KINDS[name].kernel
    return tl.constexpr(kernel) if _HAVE_TRITON else kernel


L1, MSE, L2, COSINE = _kind("l1"), _kind("mse"), _kind("l2"), _kind("cosine")


@jit
def _sqrt(x):
    """Correctly rounded square root (``sqrt_rn`` exists for float32 only)."""
    return tl.sqrt(x) if x.dtype == tl.float64 else tl.sqrt_rn(x)


@jit
def _finish(s0, s1, s2, n, KIND: tl.constexpr, UNBIG: tl.constexpr, HUGE: tl.constexpr):
    """Distance from the row sums (s0, s1, s2) as in the reference.

    Cosine: dot product and the two squared norms. MSE, L2: the plain and the scaled sums of squares (``s2`` unused).
    L1: ``s0`` only.
    """
    if KIND == COSINE:
        # Norms floored at 1e-8 (as the sum of squares at 1e-16), as in torch.nn.functional.cosine_similarity.
        na = _sqrt(tl.maximum(s1, 1e-16, propagate_nan=tl.PropagateNan.ALL))
        nb = _sqrt(tl.maximum(s2, 1e-16, propagate_nan=tl.PropagateNan.ALL))
        d = 1.0 - s0 / (na * nb)
    elif KIND == L1:
        d = s0 / n
    else:
        over = s0 > HUGE  # the plain sum overflowed: take the scaled one
        if KIND == L2:
            # Floor: float32's smallest normal, so an exact tie gives a finite (zero) gradient.
            # propagate_nan: the default tl.maximum returns the floor for a NaN sum, a finite distance from NaN input
            floored = tl.maximum(s0 / n, 1.1754943508222875e-38, propagate_nan=tl.PropagateNan.ALL)
            d = tl.where(over, _sqrt(s1 / n) * UNBIG, _sqrt(floored))
        else:
            d = tl.where(over, (s1 / n * UNBIG) * UNBIG, s0 / n)
    return d


@jit
def _paired_fwd(
    x1_ptr,
    x2_ptr,
    stats_ptr,
    out_ptr,
    sign_ptr,
    live_ptr,
    n,
    row1,
    row2,
    tiles_per_row,
    tiles_per_split,
    KIND: tl.constexpr,
    BLOCK: tl.constexpr,
    FINAL: tl.constexpr,
    ACC: tl.constexpr,
    BIG: tl.constexpr,
    UNBIG: tl.constexpr,
    HUGE: tl.constexpr,
):
    """Program (b, s): tiles [s * tiles_per_split, ...) of row b -> sums in ``stats[b, s, 0:3]``.

    With ``FINAL`` (one split per row) it also writes the distance ``out[b]``. For L1 it writes the sign and live words
    of its tiles.
    """
    b = tl.program_id(0).to(tl.int64)
    s = tl.program_id(1).to(tl.int64)
    splits = tl.num_programs(1).to(tl.int64)
    words = tl.arange(0, BLOCK // 32)
    lanes = tl.arange(0, 32)
    local = words[:, None] * 32 + lanes[None, :]
    acc0 = tl.zeros((BLOCK // 32, 32), ACC)
    acc1 = tl.zeros((BLOCK // 32, 32), ACC)
    acc2 = tl.zeros((BLOCK // 32, 32), ACC)
    first = s * tiles_per_split
    last = tl.minimum(first + tiles_per_split, tiles_per_row)
    for t in range(first, last):
        offs = t * BLOCK + local
        inside = offs < n
        a = tl.load(x1_ptr + b * row1 + offs, mask=inside, other=0.0).to(ACC)
        c = tl.load(x2_ptr + b * row2 + offs, mask=inside, other=0.0).to(ACC)
        if KIND == COSINE:
            acc0 += a * c
            acc1 += a * a
            acc2 += c * c
        else:
            d = c - a
            if KIND == L1:
                acc0 += tl.abs(d)
                above = a > c
                live = above | (a < c)  # false at ties and NaN: torch's sign(x1 - x2) is 0 at both
                word = (b * tiles_per_row + t) * (BLOCK // 32) + words
                tl.store(sign_ptr + word, tl.sum(above.to(tl.int32) << lanes[None, :], axis=1))
                tl.store(live_ptr + word, tl.sum(live.to(tl.int32) << lanes[None, :], axis=1))
            else:
                acc0 += d * d
                e = d * BIG
                acc1 += e * e
    s0 = tl.sum(tl.sum(acc0, axis=1), axis=0)
    s1 = tl.sum(tl.sum(acc1, axis=1), axis=0)
    s2 = tl.sum(tl.sum(acc2, axis=1), axis=0)
    base = stats_ptr + (b * splits + s) * 3
    tl.store(base, s0)
    tl.store(base + 1, s1)
    tl.store(base + 2, s2)
    if FINAL:
        tl.store(out_ptr + b, _finish(s0, s1, s2, n, KIND, UNBIG, HUGE))


@jit
def _paired_finalize(
    part_ptr,
    stats_ptr,
    out_ptr,
    rows,
    splits,
    n,
    KIND: tl.constexpr,
    ROWS: tl.constexpr,
    SPLITS: tl.constexpr,
    UNBIG: tl.constexpr,
    HUGE: tl.constexpr,
):
    """Sum the (rows, splits, 3) partial sums over the splits in a fixed order; write stats (rows, 3), out (rows,)."""
    r = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    k = tl.arange(0, SPLITS)
    m = (r[:, None] < rows) & (k[None, :] < splits)
    src = part_ptr + (r[:, None] * splits + k[None, :]) * 3
    s0 = tl.sum(tl.load(src, mask=m, other=0.0), axis=1)
    s1 = tl.sum(tl.load(src + 1, mask=m, other=0.0), axis=1)
    s2 = tl.sum(tl.load(src + 2, mask=m, other=0.0), axis=1)
    inside = r < rows
    tl.store(stats_ptr + r * 3, s0, mask=inside)
    tl.store(stats_ptr + r * 3 + 1, s1, mask=inside)
    tl.store(stats_ptr + r * 3 + 2, s2, mask=inside)
    tl.store(out_ptr + r, _finish(s0, s1, s2, n, KIND, UNBIG, HUGE), mask=inside)


@jit
def _paired_bwd(
    x1_ptr,
    x2_ptr,
    g_ptr,
    g_stride,
    stats_ptr,
    out_ptr,
    sign_ptr,
    live_ptr,
    g1_ptr,
    g2_ptr,
    n,
    row1,
    row2,
    tiles_per_row,
    tiles_per_prog,
    KIND: tl.constexpr,
    BLOCK: tl.constexpr,
    WRITE1: tl.constexpr,
    WRITE2: tl.constexpr,
    ACC: tl.constexpr,
):
    """Program (b, p): gradients of tiles [p * tiles_per_prog, ...) of row b, for the upstream gradient ``g[b]``.

    Gradient rows are dense (row stride ``n``), in the inputs' memory order. L1: ``g1 = g / n * sign(x1 - x2)`` from
    the sign and live words alone (the inputs are not read); MSE and L2: ``g1 = p (x1 - x2)`` with ``p = 2 g / n``,
    or ``g / d`` for L2 and the product divided by ``n`` afterwards (no coefficient underflows for large distances);
    cosine: ``g1 = p a + q c`` and ``g2 = q a + r c`` with per-row coefficients from the forward's sums. For L1, MSE
    and L2 ``g2 = -g1``.
    """
    b = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1).to(tl.int64)
    words = tl.arange(0, BLOCK // 32)
    lanes = tl.arange(0, 32)
    local = words[:, None] * 32 + lanes[None, :]
    g = tl.load(g_ptr + b * g_stride).to(ACC)
    s0 = tl.load(stats_ptr + b * 3)
    if KIND == COSINE:
        na2 = tl.load(stats_ptr + b * 3 + 1)
        nb2 = tl.load(stats_ptr + b * 3 + 2)
        na = _sqrt(tl.maximum(na2, 1e-16))
        nb = _sqrt(tl.maximum(nb2, 1e-16))
        cos = s0 / (na * nb)
        # Where a norm sits at its floor the clamp passes no gradient, so its term drops out.
        pa = tl.where(na2 >= 1e-16, g * cos / (na * na), 0.0)
        q = -g / (na * nb)
        rb = tl.where(nb2 >= 1e-16, g * cos / (nb * nb), 0.0)
    elif KIND == L2:
        dist = tl.load(out_ptr + b)
        pa = tl.where(s0 / n >= 1.1754943508222875e-38, g / dist, 0.0)  # / n per element: no underflow
        q = -pa
        rb = pa
    else:
        pa = 2.0 * g / n  # MSE; L1 uses only the scale g / n
        q = -pa
        rb = pa
    scale = g / n
    first = p * tiles_per_prog
    last = tl.minimum(first + tiles_per_prog, tiles_per_row)
    for t in range(first, last):
        offs = t * BLOCK + local
        inside = offs < n
        if KIND == L1:
            word = (b * tiles_per_row + t) * (BLOCK // 32) + words
            bits = (tl.load(sign_ptr + word)[:, None] >> lanes[None, :]) & 1
            live = (tl.load(live_ptr + word)[:, None] >> lanes[None, :]) & 1
            g1 = tl.where(live != 0, tl.where(bits != 0, scale, -scale), 0.0)
            g2 = -g1
        else:
            a = tl.load(x1_ptr + b * row1 + offs, mask=inside, other=0.0).to(ACC)
            c = tl.load(x2_ptr + b * row2 + offs, mask=inside, other=0.0).to(ACC)
            if KIND == COSINE:
                g1 = pa * a + q * c
                g2 = q * a + rb * c
            else:  # the difference first: exact gradients where the values are large next to their difference
                g1 = pa * (a - c)
                if KIND == L2:
                    g1 = g1 / n
                g2 = -g1
        if WRITE1:
            tl.store(g1_ptr + b * n + offs, g1, mask=inside)
        if WRITE2:
            tl.store(g2_ptr + b * n + offs, g2, mask=inside)
