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

import contextlib
import dataclasses
import functools
import os
from collections.abc import Iterator

import torch
from torch import Tensor

from torch_modeseek.kinds import kernel_id
from torch_modeseek.ops import _triton_kernels as K
from torch_modeseek.ops import _triton_pairwise_kernels as PK
from torch_modeseek.ops._limits import MAX_SAMPLES, SUPPORTED_DTYPES

try:
    from triton import knobs

    INTERPRETED = bool(knobs.runtime.interpret)
except ImportError:  # Triton before 3.4 has no knobs (and Triton-free installs never launch): read the variable
    INTERPRETED = os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")

#: Environment variable choosing the launch parameters under the interpreter: ``"gpu"`` for :data:`GPU_INTERPRETED`.
LAUNCH_ENV_VAR = "TORCH_MODESEEK_LAUNCH"


@dataclasses.dataclass(frozen=True)
class LaunchParams:
    """The launchers' tuning values.

    ``paired_block``: elements per tile of the paired kernels (a power of two, at least 32: one int32 word of mask
    bits per 32 elements). ``pairwise_tile``: elements of the all-pairs kernels' (S, S, BK) register tile.
    ``warps``: warps per program of the main kernels. ``programs``: programs to aim for per launch (rows are split
    until about this many run); None for four per multiprocessor of the tensors' CUDA device.
    """

    paired_block: int
    pairwise_tile: int
    warps: int = 8
    programs: int | None = None


#: What a GPU runs.
GPU = LaunchParams(paired_block=2048, pairwise_tile=8192)
#: Small tiles under the interpreter, so that tiny test rows span several tiles and several programs.
INTERPRETER = LaunchParams(paired_block=64, pairwise_tile=64, programs=8)
#: The GPU's values under the interpreter, with an H100's program target (4 x 132 multiprocessors): what CI runs the
#: interpreter suite with once more (``TORCH_MODESEEK_LAUNCH=gpu``), so the GPU's tile sizes and its split and
#: finalize paths run before any GPU does.
GPU_INTERPRETED = dataclasses.replace(GPU, programs=4 * 132)


def _initial_params() -> LaunchParams:
    if not INTERPRETED:
        return GPU
    return GPU_INTERPRETED if os.environ.get(LAUNCH_ENV_VAR, "").lower() == "gpu" else INTERPRETER


_params = _initial_params()


def params() -> LaunchParams:
    """The launch parameters in effect."""
    return _params


@contextlib.contextmanager
def use_params(new: LaunchParams) -> Iterator[LaunchParams]:
    """Launch with ``new`` inside the block (tests and tuning); the previous values come back after it."""
    global _params
    if new.paired_block < 32 or new.paired_block & (new.paired_block - 1):
        raise ValueError(f"paired_block must be a power of two >= 32; got {new.paired_block}")
    previous, _params = _params, new
    try:
        yield new
    finally:
        _params = previous


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
def _multiprocessors(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def _target_programs(device: torch.device) -> int:
    """Programs to aim for: :attr:`LaunchParams.programs`, or four per multiprocessor of the CUDA device."""
    if _params.programs is not None:
        return _params.programs
    if device.type == "cuda":
        return 4 * _multiprocessors(device)
    return 8


def device_guard(device: torch.device) -> contextlib.AbstractContextManager:
    """Make ``device`` the current CUDA device for a launch: Triton launches on the current device, not the tensors'.

    A no-op (no device switch) when it already is, or off CUDA.
    """
    if device.type == "cuda" and device.index is not None and device.index != torch.cuda.current_device():
        return torch.cuda.device(device)
    return contextlib.nullcontext()


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
    block = _params.paired_block
    tiles = _cdiv(n, block)
    return n, tiles, tiles * (block // 32)


def paired_buffers(x1: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    batch = x1.shape[0]
    words = _paired_layout(x1)[2]
    acc = _acc(x1.dtype)
    dist = empty((batch,), acc, x1.device)
    stats = empty((batch, 3), acc, x1.device)
    l1 = kind == "l1"
    signs = empty((batch, words) if l1 else (0,), torch.int32, x1.device)
    live = empty((batch, words) if l1 else (0,), torch.int32, x1.device)
    return dist, stats, signs, live


def _split(tiles: int, batch: int, device: torch.device) -> tuple[int, int]:
    """(parts per row, tiles per part): enough programs to fill the device, never an empty part."""
    parts = min(tiles, max(1, _cdiv(_target_programs(device), batch)))
    per = _cdiv(tiles, parts)
    return _cdiv(tiles, per), per


def _check_pair(x1: Tensor, x2: Tensor) -> None:
    """The kernels read both inputs with x1's shape, on the current device: anything else would read out of bounds."""
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape; got {tuple(x1.shape)} and {tuple(x2.shape)}")
    if x1.device != x2.device:
        raise ValueError(f"x1 and x2 must be on the same device; got {x1.device} and {x2.device}")


def _check_features(n: int) -> None:
    if n == 0:
        raise ValueError("the samples hold no element to measure a distance on (an empty feature dimension)")


def paired_forward(x1: Tensor, x2: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Launch the paired forward: distance (B,), row sums (B, 3) and, for L1, the sign and live words."""
    check_launchable(x1, x2)
    _check_pair(x1, x2)
    a, b = rows(x1, x2, 1)
    dist, stats, signs, live = paired_buffers(x1, kind)
    batch = a.shape[0]
    n, tiles, _ = _paired_layout(a)
    if batch == 0:
        return dist, stats, signs, live
    _check_features(n)
    parts, per = _split(tiles, batch, a.device)
    acc_torch, acc = _acc(a.dtype), _acc_tl(a.dtype)
    part = stats if parts == 1 else empty((batch, parts, 3), acc_torch, a.device)
    sign_arg, live_arg = (signs, live) if kind == "l1" else (stats, stats)
    limits = _range_args(a.dtype)
    with device_guard(a.device):
        K._paired_fwd[(batch, parts)](
            a, b, part, dist, sign_arg, live_arg, n, a.stride(0), b.stride(0), tiles, per,
            KIND=kernel_id(kind), BLOCK=_params.paired_block, FINAL=parts == 1, ACC=acc, **limits,
            num_warps=_params.warps,
        )  # fmt: skip
        if parts > 1:
            p2 = _pow2(parts)
            per_prog = max(1, min(64, 2048 // p2))
            K._paired_finalize[(_cdiv(batch, per_prog),)](
                part, stats, dist, batch, parts, n, KIND=kernel_id(kind), ROWS=per_prog, SPLITS=p2,
                UNBIG=limits["UNBIG"], HUGE=limits["HUGE"], num_warps=PAIRED_FINALIZE_WARPS,
            )  # fmt: skip
    return dist, stats, signs, live


def paired_backward(
    grad: Tensor, x1: Tensor, x2: Tensor, saved: list[Tensor], kind: str, need1: bool, need2: bool
) -> tuple[Tensor, Tensor]:
    """Launch the paired backward for an upstream ``grad`` (B,) from the forward's (dist, sums, signs, live).

    A gradient not needed (``need1``/``need2`` false) is an empty tensor.
    """
    dist, stats, signs, live = saved
    a, b = rows(x1, x2, 1)
    g1, g2 = paired_grad_buffers(x1, x2, a, need1, need2)
    batch = a.shape[0]
    n, tiles, _ = _paired_layout(a)
    if batch == 0 or not (need1 or need2):
        return g1, g2
    parts, per = _split(tiles, batch, a.device)
    acc = _acc_tl(a.dtype)
    with device_guard(a.device):
        K._paired_bwd[(batch, parts)](
            a, b, grad, grad.stride(0), stats, dist, signs, live, g1, g2, n, a.stride(0), b.stride(0), tiles, per,
            KIND=kernel_id(kind), BLOCK=_params.paired_block, WRITE1=need1, WRITE2=need2, ACC=acc,
            num_warps=_params.warps,
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
    return s, max(1, _params.pairwise_tile // (s * s))


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


#: Warps of the paired finalize kernel (its tile is at most 2048 partial sums).
PAIRED_FINALIZE_WARPS = 4


def pairwise_finalize_warps(samples_padded: int) -> int:
    """Warps of the all-pairs finalize kernel for a padded S: 8 for S = 64, 4 below.

    At 4 warps the two (64, 64) tiles of S = 64 need all 255 registers per thread in float32 and spill in float64
    (``.ci/aot_compile.py`` checks every configuration).
    """
    return 8 if samples_padded > 32 else 4


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
    if samples == 0 or batch == 0:
        return dist, raw
    _check_features(_row_elems(a, 2))
    n, chunk, chunks = _pairwise_split(a)
    s, bk = _pairwise_tiles(samples)
    acc_torch, acc = _acc(a.dtype), _acc_tl(a.dtype)
    kind_id, planes, limits = kernel_id(kind), _planes(kind), _range_args(a.dtype)
    part = raw if chunks == 1 else empty((batch, chunks, planes, s, s), acc_torch, a.device)
    with device_guard(a.device):
        PK._pairwise_fwd[(batch, chunks)](
            a, part, dist, raw, n, samples, a.stride(0), a.stride(1), chunk,
            KIND=kind_id, S=s, BK=bk, FINAL=chunks == 1, ACC=acc, PLANES=planes, **limits, num_warps=_params.warps,
        )  # fmt: skip
        if chunks > 1:
            PK._pairwise_finalize[(batch,)](
                part, dist, raw, n, samples, chunks, KIND=kind_id, S=s, ACC=acc, PLANES=planes,
                UNBIG=limits["UNBIG"], HUGE=limits["HUGE"], num_warps=pairwise_finalize_warps(s),
            )  # fmt: skip
    return dist, raw


def pairwise_backward(grad: Tensor, x: Tensor, dist: Tensor, raw: Tensor, kind: str) -> Tensor:
    """Launch the all-pairs backward for an upstream ``grad`` (B, S, S)."""
    a = sample_rows(x)
    gx = grad_buffer(x, a, 2)
    if gx.numel() == 0:
        return gx
    samples, batch = a.shape[0], a.shape[1]
    n, chunk, chunks = _pairwise_split(a)
    s, bk = _pairwise_tiles(samples)
    acc = _acc_tl(a.dtype)
    with device_guard(a.device):
        PK._pairwise_bwd[(batch, chunks)](
            a, grad, grad.stride(0), grad.stride(1), grad.stride(2), dist, raw, gx, n, samples,
            a.stride(0), a.stride(1), chunk, KIND=kernel_id(kind), S=s, BK=bk, ACC=acc, num_warps=_params.warps,
        )  # fmt: skip
    return gx
