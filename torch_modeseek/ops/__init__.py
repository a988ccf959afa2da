"""Per-sample distance ops behind the loss, with backend dispatch.

``paired_distance(x1, x2, kind)`` -> (B,) and ``pairwise_distance(x, kind)`` -> (B, S, S) for the built-in kinds
``"l1"``, ``"l2"``, ``"mse"`` and ``"cosine"``. The ``"torch"`` backend is the pure-PyTorch reference that runs on any
device; ``"auto"`` picks the fastest implementation available for the inputs, which in this release is the reference.
"""

from __future__ import annotations

from torch import Tensor

from torch_modeseek._checks import BACKENDS, DISTANCES, check_choice
from torch_modeseek.ops import _reference


def resolve_backend(backend: str) -> str:
    """Return the concrete backend that ``backend`` selects (``"torch"`` in this release)."""
    check_choice("backend", backend, BACKENDS)
    return "torch"


def paired_distance(x1: Tensor, x2: Tensor, kind: str = "l1", *, backend: str = "auto") -> Tensor:
    """Per-sample distance between ``x1[i]`` and ``x2[i]``.

    Args:
        x1: (B, ...) floating tensor.
        x2: tensor of the same shape as ``x1``.
        kind: ``"l1"`` (mean absolute difference), ``"l2"`` (root of the mean squared difference), ``"mse"`` (mean
            squared difference) or ``"cosine"`` (1 - cosine similarity of the flattened samples).
        backend: ``"auto"`` or ``"torch"``.

    Returns:
        (B,) distances in float32, or float64 for float64 inputs.

    Example:
        >>> import torch
        >>> x1 = torch.zeros(2, 3, requires_grad=True)
        >>> paired_distance(x1, torch.ones(2, 3))
        tensor([1., 1.], grad_fn=<MeanBackward1>)
        >>> paired_distance(x1, torch.ones(2, 3)).sum().backward()
    """
    check_choice("kind", kind, DISTANCES)
    resolve_backend(backend)
    return _reference.paired_distance(x1, x2, kind)


def pairwise_distance(x: Tensor, kind: str = "l1", *, backend: str = "auto") -> Tensor:
    """Distances between every two of the S samples of each condition.

    Args:
        x: (S, B, ...) floating tensor: S samples for each of B conditions.
        kind: as in :func:`paired_distance`.
        backend: ``"auto"`` or ``"torch"``.

    Returns:
        (B, S, S) symmetric distance matrices with a zero diagonal.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[0.0]], [[1.0]], [[3.0]]], requires_grad=True)  # S=3, B=1, one feature
        >>> d = pairwise_distance(x)
        >>> d
        tensor([[[0., 1., 3.],
                 [1., 0., 2.],
                 [3., 2., 0.]]], grad_fn=<ViewBackward0>)
        >>> d.sum().backward()
    """
    check_choice("kind", kind, DISTANCES)
    resolve_backend(backend)
    return _reference.pairwise_distance(x, kind)


__all__ = ["paired_distance", "pairwise_distance", "resolve_backend"]
