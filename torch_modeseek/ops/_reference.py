"""Pure-PyTorch per-sample distances: the reference implementation, on any device.

Every distance is computed in float32 or wider whatever the input dtype: each input is upcast before the difference,
so half-precision inputs neither overflow nor lose the difference of two nearby values. Reductions run over every
dimension but the batch one, so channels_last and other strided inputs are never copied into a flat layout.

``"mse"`` and ``"l2"`` square the differences after scaling each row by a power of two, ``2^-k`` with ``2^k`` the
row's largest absolute difference rounded down to a power of two, and scale the mean back (:func:`_mean_square`). The
scaling is exact, so the result is the unscaled formula's wherever that one neither overflows nor underflows, and large
finite inputs (1e30 in float32, whose squares overflow) give the exact value instead of inf or NaN: ``"l2"`` is never
larger than the largest difference, and ``"mse"`` is inf only where the true value is beyond the dtype's range. Their
gradients come from a custom backward (``2 (x2 - x1) / D`` and ``(x2 - x1) / (D l2)``), which keeps every
intermediate as small as the gradient itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from torch_modeseek._checks import compute_dtype
from torch_modeseek.pairing import upper_pairs

# Below this mean square, sqrt is evaluated at the floor instead: sqrt's derivative is infinite at 0 and would turn an
# exact tie (x1 == x2) into a NaN gradient. The clamp passes no gradient there, which is the limit from above.
_SQRT_FLOOR = torch.finfo(torch.float32).tiny
# Norm floor of the cosine distance, as in torch.nn.functional.cosine_similarity.
_COSINE_EPS = 1e-8


def _feature_dims(t: Tensor) -> tuple[int, ...]:
    return tuple(range(1, t.dim()))


def _mean_over_features(t: Tensor) -> Tensor:
    dims = _feature_dims(t)
    return t.mean(dim=dims) if dims else t


def _sum_over_features(t: Tensor) -> Tensor:
    dims = _feature_dims(t)
    return t.sum(dim=dims) if dims else t


def _power_of_two(k: Tensor, dtype: torch.dtype) -> Tensor:
    """``2^k`` of dtype float32 or float64, for an integer tensor ``k`` within its normal exponents.

    Built from the bits (biased exponent, zero mantissa), so it is exact on every device, where ``pow`` need not be.
    """
    if dtype == torch.float64:
        return ((k.to(torch.int64) + 1023) << 52).view(torch.float64)
    return ((k.to(torch.int32) + 127) << 23).view(torch.float32)


def _mean_square(diff: Tensor) -> tuple[Tensor, Tensor]:
    """(msq, scale) with ``mean(diff^2) = msq * scale^2`` per row, ``msq`` the mean square of ``diff / scale``.

    ``scale`` is the row's largest ``|diff|`` rounded down to a power of two (clamped to the normal range; 1 for a zero
    row), so the scaled values are below 2 in magnitude and their squares cannot overflow. ``diff`` is a temporary:
    it is scaled and squared in place.
    """
    dims = _feature_dims(diff)
    peak = diff.abs().amax(dim=dims, keepdim=True) if dims else diff.abs()
    _, exponent = torch.frexp(peak)
    limit = int(math.log2(torch.finfo(diff.dtype).max)) - 1  # 126 for float32: 2^k and 2^-k are both normal
    scale = _power_of_two((exponent - 1).clamp(-limit, limit), diff.dtype)
    scaled = diff.div_(scale)  # division by a power of two: exact
    msq = _mean_over_features(scaled.mul_(scaled))
    return msq, scale.view(msq.shape)


def _l2_live(mse: Tensor) -> Tensor:
    """Where the mean square is not below the floor, so that the L2 gradient passes (NaN included: NaN in, NaN out)."""
    return ~(mse < _SQRT_FLOOR)


class _SquaredDistance(torch.autograd.Function):
    """``"mse"`` or ``"l2"`` of two same-dtype batches, overflow-free forward and backward (see the module docs)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(a: Tensor, b: Tensor, kind: str) -> tuple[Tensor, Tensor]:
        msq, scale = _mean_square(b - a)
        mse = msq * scale * scale  # two exact products: inf only when the mean square itself is beyond range
        if kind == "mse":
            return mse, mse.clone()  # (the second output, the floor test's input, must be a tensor of its own)
        # l2 = sqrt(max(mse, floor)) without forming mse: sqrt(msq) * 2^k is below the largest difference.
        return torch.where(_l2_live(mse), msq.sqrt() * scale, math.sqrt(_SQRT_FLOOR)), mse

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        a, b, kind = inputs
        dist, mse = output
        ctx.kind = kind
        ctx.save_for_backward(a, b, dist, mse)
        ctx.mark_non_differentiable(mse)

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_mse: Tensor | None) -> tuple[Tensor | None, Tensor | None, None]:
        a, b, dist, mse = ctx.saved_tensors
        diff = b - a
        dims = _feature_dims(diff)
        count = diff[0].numel() if diff.shape[0] else 1
        shape = (-1,) + (1,) * len(dims)
        if ctx.kind == "mse":
            grad_b = diff * (grad * (2.0 / count)).view(shape)
        else:  # (x2 - x1) / l2 is at most sqrt(D) in magnitude: no overflow whatever the scale of the inputs
            coef = torch.where(_l2_live(mse), grad / count, 0.0)
            grad_b = (diff / dist.view(shape)) * coef.view(shape)
        grad_a = -grad_b if ctx.needs_input_grad[0] else None
        return grad_a, (grad_b if ctx.needs_input_grad[1] else None), None


def _l1_forward(x1: Tensor, x2: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    a = x1 if x1.dtype == dtype else x1.to(dtype)  # (a no-op .to still costs host time)
    b = x2 if x2.dtype == dtype else x2.to(dtype)
    diff = b - a
    return _mean_over_features(diff.abs()), diff


def _l1_backward(diff: Tensor, grad: Tensor, need1: bool, need2: bool) -> tuple[Tensor | None, Tensor | None]:
    dims = _feature_dims(diff)
    coef = (grad / math.prod(diff.shape[1:])).view((-1,) + (1,) * len(dims)) if dims else grad
    grad2 = torch.sign(diff).mul_(coef)  # in place: a broadcasting out-of-place product is ~30x slower on a CPU
    return (-grad2 if need1 else None), (grad2 if need2 else None)  # (autograd casts to the inputs' dtypes)


class _MeanAbsolute(torch.autograd.Function):
    """``"l1"``: ``mean |x2 - x1|`` per row in ``dtype``, with fewer and cheaper full-size tensors than autograd's.

    Autograd of ``(x2 - x1).abs().mean()`` keeps the difference for the backward and makes five more full-size
    tensors per step (``|d|``, the mean's expanded gradient, ``sgn(d)``, their product, its negation), the product
    an out-of-place broadcast. This keeps the difference too, and makes three more: ``|d|`` (freed in the forward),
    ``sign(d)`` scaled in place into the gradient of ``x2``, and its negation for ``x1`` only when ``x1`` needs it.
    Values and gradients are the plain formula's, bit for bit. (Recomputing the difference in the backward instead
    of keeping it saves its memory but costs a pass, which made the whole loss slower than eager at 16x3x64x64.)

    The class has the classic ``forward(ctx, ...)``: ``Function.apply`` binds the arguments of a class with
    ``setup_context`` through ``inspect.signature`` on every call (~40 us of host time), so
    :class:`_MeanAbsoluteTransformable`, its twin for torch.func transforms (``vmap``, ``grad``), is used only there.
    """

    @staticmethod
    def forward(ctx, x1: Tensor, x2: Tensor, dtype: torch.dtype) -> Tensor:
        dist, diff = _l1_forward(x1, x2, dtype)
        ctx.save_for_backward(diff)
        return dist

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        (diff,) = ctx.saved_tensors
        return (*_l1_backward(diff, grad, *ctx.needs_input_grad[:2]), None)


class _MeanAbsoluteTransformable(torch.autograd.Function):
    """:class:`_MeanAbsolute` with ``setup_context``, which torch.func transforms need."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x1: Tensor, x2: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        return _l1_forward(x1, x2, dtype)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(output[1])
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_diff: Tensor | None) -> tuple[Tensor | None, Tensor | None, None]:
        (diff,) = ctx.saved_tensors
        return (*_l1_backward(diff, grad, *ctx.needs_input_grad[:2]), None)


def _mean_absolute(x1: Tensor, x2: Tensor, dtype: torch.dtype) -> Tensor:
    if torch._C._are_functorch_transforms_active():
        return _MeanAbsoluteTransformable.apply(x1, x2, dtype)[0]
    return _MeanAbsolute.apply(x1, x2, dtype)


def _cosine(x1: Tensor, x2: Tensor, dtype: torch.dtype) -> Tensor:
    a = x1 if x1.dtype == dtype else x1.to(dtype)  # (a no-op .to still costs host time)
    b = x2 if x2.dtype == dtype else x2.to(dtype)
    dot = _sum_over_features(a * b)
    norm_a = _sum_over_features(a * a).clamp_min(_COSINE_EPS**2).sqrt()
    norm_b = _sum_over_features(b * b).clamp_min(_COSINE_EPS**2).sqrt()
    return 1.0 - dot / (norm_a * norm_b)


def _squared(kind: str) -> Callable[[Tensor, Tensor, torch.dtype], Tensor]:
    def distance(x1: Tensor, x2: Tensor, dtype: torch.dtype) -> Tensor:
        return _SquaredDistance.apply(x1.to(dtype), x2.to(dtype), kind)[0]

    return distance


#: The reference function of each kind of :data:`torch_modeseek.kinds.KINDS`: ``(x1, x2, dtype) -> (B,)`` in
#: ``dtype``, float32 or wider (a test checks that the two registries name the same kinds).
REFERENCE: dict[str, Callable[[Tensor, Tensor, torch.dtype], Tensor]] = {
    "l1": _mean_absolute,
    "l2": _squared("l2"),
    "mse": _squared("mse"),
    "cosine": _cosine,
}


def paired_distance(x1: Tensor, x2: Tensor, kind: str = "l1") -> Tensor:
    """Per-sample distance between ``x1[i]`` and ``x2[i]``: (B, ...) x (B, ...) -> (B,).

    ``"l1"`` mean absolute difference, ``"mse"`` mean squared difference, ``"l2"`` its square root, ``"cosine"`` one
    minus the cosine similarity of the flattened samples (:data:`torch_modeseek.kinds.KINDS`).
    """
    try:
        distance = REFERENCE[kind]
    except KeyError:
        raise ValueError(f"unknown distance kind {kind!r}") from None
    return distance(x1, x2, compute_dtype(x1, x2))


def upper_pair_distance(x: Tensor, kind: str = "l1") -> Tensor:
    """Distances of the pairs i < j of the samples of each condition: x (S, B, ...) -> (B, S(S-1)/2).

    Pair columns in the order of :func:`torch_modeseek.pairing.upper_pairs`. Computed pair by pair, so the working
    memory stays that of one pair whatever S is.
    """
    return torch.stack([paired_distance(x[i], x[j], kind) for i, j in upper_pairs(x.shape[0])], dim=1)


def pairwise_distance(x: Tensor, kind: str = "l1") -> Tensor:
    """Distances between all samples of each condition: x of shape (S, B, ...) -> (B, S, S), zero diagonal."""
    samples, batch = x.shape[0], x.shape[1]
    pairs = upper_pairs(samples)
    upper = upper_pair_distance(x, kind)  # (B, P)
    above = torch.tensor([i * samples + j for i, j in pairs], device=x.device)
    below = torch.tensor([j * samples + i for i, j in pairs], device=x.device)
    flat = upper.new_zeros(batch, samples * samples).index_add(1, above, upper).index_add(1, below, upper)
    return flat.view(batch, samples, samples)
