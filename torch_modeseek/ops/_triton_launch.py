"""Launchers of the fused Triton distances: layouts, buffers, grids; the ops in :mod:`._triton` call these.

Layouts: a sample's features are read as one row in memory order, so each sample must fill a dense block (contiguous,
channels_last, any permutation) at any batch stride, and the paired inputs must share that order. Other inputs are
copied to contiguous first (a documented fallback: one extra copy of each input, forward and backward). Gradients come
back in the inputs' feature order, dense over the batch (and sample) dimensions.

Grids: long rows are split across programs so that about four programs per multiprocessor run; a split forward ends
with a second, tiny kernel that sums the parts in a fixed order (no atomics, deterministic). Launches per call: the
paired forward one kernel (two when rows are split), its backward one; the same for all pairs.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from torch_modeseek.ops import _triton_kernels as K
from torch_modeseek.ops import _triton_pairwise_kernels as PK

try:
    from triton import knobs

    INTERPRETED = bool(knobs.runtime.interpret)
except ImportError:  # pragma: no cover - Triton-free installs never launch
    INTERPRETED = False

#: Elements per tile of the paired kernels (one tie flag each). Small under the interpreter, so tiny test rows span
#: several tiles and several programs.
PAIRED_BLOCK = 64 if INTERPRETED else 2048
#: Largest S of the all-pairs kernels: their (S, S, BK) register tile must stay small.
MAX_SAMPLES = 64
_PAIRWISE_TILE = 64 if INTERPRETED else 8192  # elements of the (S, S, BK) tile
_WARPS = 8
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def empty(
    shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, strides: tuple[int, ...] | None = None
) -> Tensor:
    """Every buffer the launchers hand to a kernel comes from here (the tests swap in canary-padded buffers)."""
    if strides is None:
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.empty_strided(shape, strides, dtype=dtype, device=device)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _pow2(v: int) -> int:
    return 1 << max(0, v - 1).bit_length()


@functools.cache
def _target_programs(device: torch.device) -> int:
    """Programs to aim for: four per multiprocessor on CUDA; a few under the interpreter, so rows still split."""
    if device.type == "cuda":
        return 4 * torch.cuda.get_device_properties(device).multi_processor_count
    return 8


def _acc(dtype: torch.dtype) -> torch.dtype:
    """Accumulation and output dtype: float64 for float64 inputs, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _acc_tl(dtype: torch.dtype):  # -> a triton.language dtype
    return K.tl.float64 if dtype == torch.float64 else K.tl.float32


def _range_args(dtype: torch.dtype) -> dict[str, float]:
    """The kernels' constants of the overflow-free sums of squares for inputs of ``dtype`` (see ``_triton_kernels``).

    ``BIG`` scales the differences so that their squares stay far below the accumulator's range (2^-90 for float32:
    differences below 2^128 give scaled squares below 2^76); ``HUGE`` is the accumulator's largest finite value.
    """
    if _acc(dtype) == torch.float64:
        return {"BIG": 2.0**-600, "UNBIG": 2.0**600, "HUGE": torch.finfo(torch.float64).max}
    return {"BIG": 2.0**-90, "UNBIG": 2.0**90, "HUGE": torch.finfo(torch.float32).max}


def _planes(kind: str) -> int:
    """Partial-sum tiles per chunk of the all-pairs kernels: MSE and L2 keep a scaled sum of squares too."""
    return 2 if kind in ("mse", "l2") else 1


def check_launchable(*tensors: Tensor) -> None:
    for t in tensors:
        if not (t.is_cuda or INTERPRETED):
            raise RuntimeError(
                f"the Triton kernels need CUDA tensors (or TRITON_INTERPRET=1 for the interpreter); got {t.device}"
            )
        if t.dtype not in SUPPORTED_DTYPES:
            raise RuntimeError(f"the Triton kernels support float16, bfloat16, float32 and float64; got {t.dtype}")


def _dense_block(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether dims ``shape`` with ``strides`` fill a dense block of memory in some order (size-1 dims ignored)."""
    expected = 1
    for stride, size in sorted((st, sz) for sz, st in zip(shape, strides, strict=True) if sz != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _feature_strides(t: Tensor, lead: int) -> tuple[int, ...]:
    return tuple(st for sz, st in zip(t.shape[lead:], t.stride()[lead:], strict=True) if sz != 1)


def rows(x1: Tensor, x2: Tensor, lead: int) -> tuple[Tensor, Tensor]:
    """The inputs as they are when their features after ``lead`` dims share a dense order, else contiguous copies."""
    if _dense_block(tuple(x1.shape[lead:]), x1.stride()[lead:]) and _feature_strides(x1, lead) == _feature_strides(
        x2, lead
    ):
        return x1, x2
    return x1.contiguous(), x2.contiguous()


def grad_buffer(x: Tensor, like: Tensor, lead: int) -> Tensor:
    """Uninitialised gradient of ``x``: ``like``'s feature order after ``lead`` dims, dense (row-major) before."""
    shape = tuple(x.shape)
    n = 1
    for size in shape[lead:]:
        n *= size
    strides = list(like.stride()[lead:])
    outer = n
    for size in reversed(shape[:lead]):
        strides.insert(0, outer)
        outer *= size
    return empty(shape, x.dtype, x.device, tuple(strides))


def _row_elems(x: Tensor, lead: int) -> int:
    n = 1
    for size in x.shape[lead:]:
        n *= size
    return n


def _paired_layout(x1: Tensor) -> tuple[int, int, int]:
    """(elements per row, tiles per row, int32 sign words per row)."""
    n = _row_elems(x1, 1)
    tiles = _cdiv(n, PAIRED_BLOCK)
    return n, tiles, tiles * (PAIRED_BLOCK // 32)


def paired_buffers(x1: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    batch = x1.shape[0]
    _, tiles, words = _paired_layout(x1)
    acc = _acc(x1.dtype)
    dist = empty((batch,), acc, x1.device)
    stats = empty((batch, 3), acc, x1.device)
    l1 = kind == "l1"
    signs = empty((batch, words) if l1 else (0,), torch.int32, x1.device)
    ties = empty((batch, tiles) if l1 else (0,), torch.int8, x1.device)
    return dist, stats, signs, ties


def _split(tiles: int, batch: int, device: torch.device) -> tuple[int, int]:
    """(parts per row, tiles per part): enough programs to fill the device, never an empty part."""
    parts = min(tiles, max(1, _cdiv(_target_programs(device), batch)))
    per = _cdiv(tiles, parts)
    return _cdiv(tiles, per), per


def paired_forward(x1: Tensor, x2: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Launch the paired forward: distance (B,), row sums (B, 3) and, for L1, the sign words and tie flags."""
    check_launchable(x1, x2)
    a, b = rows(x1, x2, 1)
    dist, stats, signs, ties = paired_buffers(x1, kind)
    batch = a.shape[0]
    n, tiles, _ = _paired_layout(a)
    parts, per = _split(tiles, batch, a.device)
    acc_torch, acc = _acc(a.dtype), _acc_tl(a.dtype)
    part = stats if parts == 1 else empty((batch, parts, 3), acc_torch, a.device)
    sign_arg, tie_arg = (signs, ties) if kind == "l1" else (stats, stats)
    limits = _range_args(a.dtype)
    K._paired_fwd[(batch, parts)](
        a, b, part, dist, sign_arg, tie_arg, n, a.stride(0), b.stride(0), tiles, per,
        KIND=K.KINDS.index(kind), BLOCK=PAIRED_BLOCK, FINAL=parts == 1, ACC=acc, **limits, num_warps=_WARPS,
    )  # fmt: skip
    if parts > 1:
        p2 = _pow2(parts)
        per_prog = max(1, min(64, 2048 // p2))
        K._paired_finalize[(_cdiv(batch, per_prog),)](
            part, stats, dist, batch, parts, n, KIND=K.KINDS.index(kind), ROWS=per_prog, SPLITS=p2,
            UNBIG=limits["UNBIG"], HUGE=limits["HUGE"], num_warps=4,
        )  # fmt: skip
    return dist, stats, signs, ties


def paired_backward(
    grad: Tensor, x1: Tensor, x2: Tensor, saved: list[Tensor], kind: str, need1: bool, need2: bool
) -> tuple[Tensor, Tensor]:
    """Launch the paired backward for an upstream ``grad`` (B,) from the forward's (dist, sums, signs, ties).

    A gradient not needed (``need1``/``need2`` false) is an empty tensor.
    """
    dist, stats, signs, ties = saved
    a, b = rows(x1, x2, 1)
    g1, g2 = paired_grad_buffers(x1, x2, a, need1, need2)
    batch = a.shape[0]
    n, tiles, _ = _paired_layout(a)
    parts, per = _split(tiles, batch, a.device)
    acc = _acc_tl(a.dtype)
    K._paired_bwd[(batch, parts)](
        a, b, grad, grad.stride(0), stats, dist, signs, ties, g1, g2, n, a.stride(0), b.stride(0), tiles, per,
        KIND=K.KINDS.index(kind), BLOCK=PAIRED_BLOCK, WRITE1=need1, WRITE2=need2, ACC=acc, num_warps=_WARPS,
    )  # fmt: skip
    return g1, g2


def paired_grad_buffers(x1: Tensor, x2: Tensor, like: Tensor, need1: bool, need2: bool) -> tuple[Tensor, Tensor]:
    g1 = grad_buffer(x1, like, 1) if need1 else empty((0,), x1.dtype, x1.device)
    g2 = grad_buffer(x2, like, 1) if need2 else empty((0,), x2.dtype, x2.device)
    return g1, g2


def sample_rows(x: Tensor) -> Tensor:
    """The samples x (S, B, ...) themselves when each sample's features fill a dense block, else a contiguous copy."""
    return rows(x, x, 2)[0]


def _pairwise_tiles(samples: int) -> tuple[int, int]:
    """(padded S, elements per step BK) of the all-pairs kernels."""
    s = _pow2(max(2, samples))
    return s, max(1, _PAIRWISE_TILE // (s * s))


def _pairwise_split(x: Tensor) -> tuple[int, int, int]:
    """(elements per condition, chunk length, chunks per condition)."""
    n = _row_elems(x, 2)
    _, bk = _pairwise_tiles(x.shape[0])
    chunks = min(_cdiv(n, bk), max(1, _cdiv(_target_programs(x.device), x.shape[1])))
    chunk = _cdiv(_cdiv(n, chunks), bk) * bk
    return n, chunk, _cdiv(n, chunk)


def pairwise_buffers(x: Tensor) -> tuple[Tensor, Tensor]:
    samples, batch = x.shape[0], x.shape[1]
    acc = _acc(x.dtype)
    return empty((batch, samples, samples), acc, x.device), empty((batch, samples, samples), acc, x.device)


def _check_samples(x: Tensor) -> None:
    if x.shape[0] > MAX_SAMPLES:
        raise RuntimeError(f"the Triton all-pairs kernels support S <= {MAX_SAMPLES} samples; got S={x.shape[0]}")


def pairwise_forward(x: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """Launch the all-pairs forward: distances (B, S, S) of x (S, B, ...) and the pair sums (B, S, S)."""
    check_launchable(x)
    _check_samples(x)
    a = sample_rows(x)
    dist, raw = pairwise_buffers(x)
    samples, batch = a.shape[0], a.shape[1]
    n, chunk, chunks = _pairwise_split(a)
    s, bk = _pairwise_tiles(samples)
    acc_torch, acc = _acc(a.dtype), _acc_tl(a.dtype)
    kind_id, planes, limits = K.KINDS.index(kind), _planes(kind), _range_args(a.dtype)
    part = raw if chunks == 1 else empty((batch, chunks, planes, s, s), acc_torch, a.device)
    PK._pairwise_fwd[(batch, chunks)](
        a, part, dist, raw, n, samples, a.stride(0), a.stride(1), chunk,
        KIND=kind_id, S=s, BK=bk, FINAL=chunks == 1, ACC=acc, PLANES=planes, **limits, num_warps=_WARPS,
    )  # fmt: skip
    if chunks > 1:
        PK._pairwise_finalize[(batch,)](
            part, dist, raw, n, samples, chunks, KIND=kind_id, S=s, ACC=acc, PLANES=planes,
            UNBIG=limits["UNBIG"], HUGE=limits["HUGE"], num_warps=4,
        )  # fmt: skip
    return dist, raw


def pairwise_backward(grad: Tensor, x: Tensor, dist: Tensor, raw: Tensor, kind: str) -> Tensor:
    """Launch the all-pairs backward for an upstream ``grad`` (B, S, S)."""
    a = sample_rows(x)
    gx = grad_buffer(x, a, 2)
    samples, batch = a.shape[0], a.shape[1]
    n, chunk, chunks = _pairwise_split(a)
    s, bk = _pairwise_tiles(samples)
    acc = _acc_tl(a.dtype)
    PK._pairwise_bwd[(batch, chunks)](
        a, grad, grad.stride(0), grad.stride(1), grad.stride(2), dist, raw, gx, n, samples,
        a.stride(0), a.stride(1), chunk, KIND=K.KINDS.index(kind), S=s, BK=bk, ACC=acc, num_warps=_WARPS,
    )  # fmt: skip
    return gx
