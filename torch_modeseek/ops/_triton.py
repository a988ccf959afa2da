"""Fused distances on Triton: the ``torch_modeseek`` custom ops, their fake kernels and autograd.

Imported lazily by :mod:`torch_modeseek.ops` when the Triton backend is chosen. Kernels live in
:mod:`._triton_kernels` (paired) and :mod:`._triton_pairwise_kernels` (all pairs), their launchers in
:mod:`._triton_launch`. Four ops are registered with ``torch.library`` so
that ``torch.compile(fullgraph=True)`` traces the loss with them as opaque graph nodes:

* ``torch_modeseek::paired_distance(x1, x2, kind) -> (dist (B,), sums (B, 3), signs, live)``
* ``torch_modeseek::paired_distance_backward(grad, x1, x2, [dist, sums, signs, live], kind, need1, need2)
  -> (grad_x1, grad_x2)``
* ``torch_modeseek::pairwise_distance(x, kind) -> (dist (B, S, S), sums (B, S, S))``
* ``torch_modeseek::pairwise_distance_backward(grad, x, dist, sums, kind) -> grad_x``

The extra forward outputs are what the backward needs (row sums; for L1 the sign and live bits, two per element);
only the first is differentiable. In eager mode the same launchers run inside a plain ``torch.autograd.Function``
instead: the custom op dispatcher costs about three times its host time per call (measured ~40 us against ~13 us on a
CPU host), and host time is what small inputs pay for.
"""

from __future__ import annotations

import torch
from torch import Tensor

from torch_modeseek.ops import _triton_launch as L


@torch.library.custom_op("torch_modeseek::paired_distance", mutates_args=())
def paired_distance_op(x1: Tensor, x2: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-sample distance (B,), row sums (B, 3), and for L1 the packed sign and live bits (else empty)."""
    return L.paired_forward(x1, x2, kind)


@paired_distance_op.register_fake
def _(x1: Tensor, x2: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return L.paired_buffers(x1, kind)


@torch.library.custom_op("torch_modeseek::paired_distance_backward", mutates_args=())
def paired_distance_backward_op(
    grad: Tensor, x1: Tensor, x2: Tensor, saved: list[Tensor], kind: str, need1: bool, need2: bool
) -> tuple[Tensor, Tensor]:
    """Gradients of :func:`paired_distance_op` for an upstream ``grad`` (B,), from its outputs ``saved``.

    A gradient not needed comes back as an empty tensor.
    """
    return L.paired_backward(grad, x1, x2, saved, kind, need1, need2)


@paired_distance_backward_op.register_fake
def _(
    grad: Tensor, x1: Tensor, x2: Tensor, saved: list[Tensor], kind: str, need1: bool, need2: bool
) -> tuple[Tensor, Tensor]:
    return L.paired_grad_buffers(x1, x2, L.rows(x1, x2, 1)[0], need1, need2)


def _paired_setup(ctx, inputs, output) -> None:
    x1, x2, kind = inputs
    ctx.kind = kind
    ctx.save_for_backward(x1, x2, *output)


def _paired_grads(ctx, grad: Tensor, backward) -> tuple[Tensor | None, Tensor | None, None]:
    x1, x2, *saved = ctx.saved_tensors
    need1, need2 = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    g1, g2 = backward(grad, x1, x2, saved, ctx.kind, need1, need2)
    return (g1 if need1 else None), (g2 if need2 else None), None


paired_distance_op.register_autograd(
    lambda ctx, grad, *_: _paired_grads(ctx, grad, paired_distance_backward_op), setup_context=_paired_setup
)


@torch.library.custom_op("torch_modeseek::pairwise_distance", mutates_args=())
def pairwise_distance_op(x: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """All-pairs distances (B, S, S) of x (S, B, ...), and the pair sums (B, S, S) the backward needs."""
    return L.pairwise_forward(x, kind)


@pairwise_distance_op.register_fake
def _(x: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    return L.pairwise_buffers(x)


@torch.library.custom_op("torch_modeseek::pairwise_distance_backward", mutates_args=())
def pairwise_distance_backward_op(grad: Tensor, x: Tensor, dist: Tensor, raw: Tensor, kind: str) -> Tensor:
    """Gradient of :func:`pairwise_distance_op` for an upstream ``grad`` (B, S, S)."""
    return L.pairwise_backward(grad, x, dist, raw, kind)


@pairwise_distance_backward_op.register_fake
def _(grad: Tensor, x: Tensor, dist: Tensor, raw: Tensor, kind: str) -> Tensor:
    return L.grad_buffer(x, L.sample_rows(x), 2)


def _pairwise_setup(ctx, inputs, output) -> None:
    x, kind = inputs
    ctx.kind = kind
    ctx.save_for_backward(x, *output)


def _pairwise_grads(ctx, grad: Tensor, backward) -> tuple[Tensor, None]:
    x, dist, raw = ctx.saved_tensors
    return backward(grad, x, dist, raw, ctx.kind), None


pairwise_distance_op.register_autograd(
    lambda ctx, grad, *_: _pairwise_grads(ctx, grad, pairwise_distance_backward_op), setup_context=_pairwise_setup
)


class _Paired(torch.autograd.Function):
    """Eager twin of :func:`paired_distance_op`: same launchers, less dispatch."""

    @staticmethod
    def forward(ctx, x1: Tensor, x2: Tensor, kind: str) -> Tensor:
        output = L.paired_forward(x1, x2, kind)
        _paired_setup(ctx, (x1, x2, kind), output)
        return output[0]

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        return _paired_grads(ctx, grad, L.paired_backward)


class _Pairwise(torch.autograd.Function):
    """Eager twin of :func:`pairwise_distance_op`."""

    @staticmethod
    def forward(ctx, x: Tensor, kind: str) -> Tensor:
        output = L.pairwise_forward(x, kind)
        _pairwise_setup(ctx, (x, kind), output)
        return output[0]

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return _pairwise_grads(ctx, grad, L.pairwise_backward)


def paired_distance(x1: Tensor, x2: Tensor, kind: str) -> Tensor:
    """Fused per-sample distance (B,); the custom op under ``torch.compile``, its eager twin otherwise.

    No validation: :func:`torch_modeseek.ops.paired_distance` validates and dispatches here.
    """
    if torch.compiler.is_compiling():
        return paired_distance_op(x1, x2, kind)[0]
    return _Paired.apply(x1, x2, kind)


def pairwise_distance(x: Tensor, kind: str) -> Tensor:
    """Fused all-pairs distances (B, S, S) of x (S, B, ...); see :func:`paired_distance`."""
    if torch.compiler.is_compiling():
        return pairwise_distance_op(x, kind)[0]
    return _Pairwise.apply(x, kind)


__all__ = [
    "paired_distance",
    "paired_distance_backward_op",
    "paired_distance_op",
    "pairwise_distance",
    "pairwise_distance_backward_op",
    "pairwise_distance_op",
]
