r"""Per-sample distances between generator outputs (or latents): built-in kinds, callables and multi-layer features.

A distance maps two batches ``a``, ``b`` of shape (B, ...) to (B,) per-sample distances. The built-in kinds are

* ``"l1"``: mean absolute difference, :math:`\frac{1}{D}\sum_k |a_k - b_k|` (MSGAN's official choice);
* ``"l2"``: root of the mean squared difference, :math:`\sqrt{\frac{1}{D}\sum_k (a_k - b_k)^2}`;
* ``"mse"``: mean squared difference;
* ``"cosine"``: :math:`1 - \frac{a \cdot b}{\max(\lVert a\rVert, 10^{-8}) \max(\lVert b\rVert, 10^{-8})}` of the
  flattened samples.

A callable ``(a, b) -> (B,)`` may stand in for any of them (a perceptual or discriminator-feature distance, say).
Outputs given as equal-length sequences of tensors (features of several layers) are compared layer by layer and the
per-sample distances are averaged over the layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from torch_modeseek import ops
from torch_modeseek._checks import check_distance_output, compute_dtype
from torch_modeseek.pairing import upper_pairs

DistanceFn = Callable[[Tensor, Tensor], Tensor]
"""A distance of your own: ``fn(a, b)`` of two (B, ...) batches returns their (B,) per-sample distances."""
Distance = str | DistanceFn
"""A ``distance`` or ``latent_distance`` argument: a built-in kind (``"l1"``, ``"l2"``, ``"mse"``, ``"cosine"``) or a
:data:`DistanceFn`."""
Features = Tensor | Sequence[Tensor]
"""Generator outputs: one (B, ...) tensor, or an equal-length sequence of them (features of several layers, whose
per-sample distances are averaged)."""


def _callable_distance(name: str, fn: DistanceFn, a: Tensor, b: Tensor) -> Tensor:
    out = fn(a, b)
    check_distance_output(name, fn, out, a.shape[0], tuple(a.shape))
    return out.to(compute_dtype(out))


def sample_distance(
    a: Sequence[Tensor], b: Sequence[Tensor], distance: Distance, *, backend: str = "auto", name: str = "distance"
) -> Tensor:
    """Per-sample distance between two batches given as lists of per-layer tensors, averaged over the layers.

    Args:
        a: tensors of shape (B, ...), one per feature layer (a single-element list for plain outputs).
        b: tensors of the same shapes as ``a``.
        distance: a built-in kind or a callable ``(a, b) -> (B,)``.
        backend: passed to the fused ops for built-in kinds.
        name: the argument name used in error messages.

    Returns:
        (B,) distances in float32 or wider.

    Example:
        >>> import torch
        >>> a = [torch.zeros(2, 4, requires_grad=True), torch.zeros(2, 1)]
        >>> b = [torch.ones(2, 4), torch.full((2, 1), 3.0)]
        >>> d = sample_distance(a, b, "l1")  # layer means 1 and 3, averaged
        >>> d
        tensor([2., 2.], grad_fn=<DivBackward0>)
        >>> d.sum().backward()
    """
    return _layer_mean(a, b, distance, backend, name, ops.paired_distance)


def sample_distance_prechecked(
    a: Sequence[Tensor], b: Sequence[Tensor], distance: Distance, *, backend: str, name: str
) -> Tensor:
    """:func:`sample_distance` for tensors the loss has checked already (no second check of each built-in op)."""
    return _layer_mean(a, b, distance, backend, name, ops.paired_distance_prechecked)


def _layer_mean(
    a: Sequence[Tensor], b: Sequence[Tensor], distance: Distance, backend: str, name: str, op: Callable[..., Tensor]
) -> Tensor:
    total: Tensor | None = None
    for x, y in zip(a, b, strict=False):
        d = _callable_distance(name, distance, x, y) if callable(distance) else op(x, y, distance, backend=backend)
        total = d if total is None else total + d
    if total is None:
        raise ValueError(f"{name}: no tensors to compare")
    return total / len(a) if len(a) > 1 else total


def upper_pair_distance(
    xs: Sequence[Tensor], distance: Distance, *, backend: str = "auto", name: str = "distance"
) -> Tensor:
    """Distances of every pair i < j of the S samples of each condition, averaged over the feature layers.

    Args:
        xs: tensors of shape (S, B, ...), one per feature layer.
        distance: a built-in kind or a callable ``(a, b) -> (B,)``.
        backend: passed to the fused ops for built-in kinds.
        name: the argument name used in error messages.

    Returns:
        (B, S(S-1)/2) distances; pair columns in the order of ``torch.triu_indices(S, S, 1)``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[0.0]], [[1.0]], [[3.0]]], requires_grad=True)  # S=3, B=1
        >>> d = upper_pair_distance([x], "l1")  # pairs (0,1), (0,2), (1,2)
        >>> d
        tensor([[1., 3., 2.]], grad_fn=<StackBackward0>)
        >>> d.sum().backward()
    """
    samples = xs[0].shape[0]
    pairs = upper_pairs(samples)
    total: Tensor | None = None
    for x in xs:
        if callable(distance):
            d = _stack_callable_pairs(name, distance, x, pairs)
        else:
            d = ops.upper_pair_distance(x, distance, backend=backend)
        total = d if total is None else total + d
    if total is None:
        raise ValueError(f"{name}: no tensors to compare")
    return total / len(xs) if len(xs) > 1 else total


def _stack_callable_pairs(name: str, fn: DistanceFn, x: Tensor, pairs: list[tuple[int, int]]) -> Tensor:
    return torch.stack([_callable_distance(name, fn, x[i], x[j]) for i, j in pairs], dim=1)


__all__ = ["Distance", "DistanceFn", "Features", "sample_distance", "upper_pair_distance"]
