"""Sample diversity under a fixed condition: the MSGAN paper's LPIPS protocol with any pair distance."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal

import torch

from torch_modeseek.metrics._checks import check_finite, check_floating_tensor, check_positive_int

__all__ = ["PairDistance", "diversity", "pair_distance", "sample_pairs"]

PairDistance = Literal["l1", "euclidean", "mse", "cosine"] | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""A distance between paired samples: a built-in name, or a callable ``(x1, x2) -> (P,)`` on (P, ...) batches."""
_KINDS = ("l1", "euclidean", "mse", "cosine")


def _kind(kind: str) -> str:
    """``kind``, with the deprecated ``"l2"`` (the Euclidean norm here, unlike the loss's root mean square) renamed."""
    if kind == "l2":
        warnings.warn(
            'the metrics\' distance "l2" is deprecated: it is the Euclidean norm ||x1 - x2||_2, not the loss\'s "l2" '
            '(the root mean square difference, sqrt(D) times smaller); ask for "euclidean"',
            FutureWarning,
            stacklevel=3,
        )
        return "euclidean"
    return kind


def pair_distance(x1: torch.Tensor, x2: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Per-pair distance of two (P, ...) batches, each sample flattened to d values.

    ``"l1"``: ``mean_k |x1 - x2|`` (the paper's pixel L1); ``"euclidean"``: ``||x1 - x2||_2`` (``"l2"``, its old
    name, is deprecated: the loss's ``"l2"`` is the root mean square, ``sqrt(d)`` times smaller); ``"mse"``:
    ``mean_k (x1 - x2)^2``; ``"cosine"``: ``1 - cos(x1, x2)`` (cosine eps 1e-8).

    Returns:
        (P,) tensor in at least float32.

    Example:
        >>> pair_distance(torch.zeros(2, 4), torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 0.0, 0.0]]), "l1")
        tensor([1.0000, 0.5000])

    """
    kind = _kind(kind)
    a = x1.reshape(x1.shape[0], -1)
    b = x2.reshape(x2.shape[0], -1)
    if a.dtype not in (torch.float32, torch.float64):
        a, b = a.float(), b.float()
    if kind == "l1":
        return (a - b).abs().mean(dim=1)
    if kind == "euclidean":
        return torch.linalg.vector_norm(a - b, dim=1)
    if kind == "mse":
        return (a - b).pow(2).mean(dim=1)
    if kind == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-8)
    raise ValueError(f"distance must be one of {_KINDS} or a callable, got {kind!r}")


def sample_pairs(
    conditions: int, samples_per_condition: int, pairs: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw ``pairs`` random pairs ``(i, j)``, ``i != j``, of sample indices for every condition.

    Each pair is uniform over the ordered pairs of distinct samples, drawn independently (with replacement).

    Returns:
        (conditions, pairs, 2) int64 tensor on the CPU.

    Example:
        >>> idx = sample_pairs(3, 2, 4, torch.Generator().manual_seed(0))
        >>> idx.shape, bool((idx[..., 0] != idx[..., 1]).all())
        (torch.Size([3, 4, 2]), True)

    """
    check_positive_int(samples_per_condition, "samples_per_condition", minimum=2)
    check_positive_int(pairs, "pairs")
    first = torch.randint(samples_per_condition, (conditions, pairs), generator=generator)
    second = torch.randint(samples_per_condition - 1, (conditions, pairs), generator=generator)
    second = second + (second >= first).long()  # skip i itself: uniform over the other S - 1 samples
    return torch.stack([first, second], dim=-1)


def _as_per_pair(values: torch.Tensor, count: int) -> torch.Tensor:
    if not isinstance(values, torch.Tensor) or values.numel() != count:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"the distance callable must return one value per pair ({count}), got {shape}")
    return values.reshape(count)


@torch.no_grad()
def diversity(
    samples: torch.Tensor,
    *,
    distance: PairDistance = "l1",
    pairs: int = 50,
    generator: torch.Generator | None = None,
    features: Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Mean distance between random pairs of samples that share a condition (higher = more diverse).

    The paper's protocol: for each condition c draw ``pairs`` random pairs ``(i, j)``, ``i != j``, among its S
    samples, and report ``mean_c mean_pairs d(f(x[c, i]), f(x[c, j]))``. With LPIPS as ``d`` this is the paper's
    LPIPS diversity (50 samples and 50 pairs per condition); see :class:`LPIPSDiversity`.

    Args:
        samples: (conditions, samples_per_condition, ...) floating tensor, samples_per_condition >= 2.
        distance: ``"l1"`` (default), ``"euclidean"``, ``"mse"``, ``"cosine"`` (see :func:`pair_distance`), or a
            callable ``(x1, x2) -> (P,)`` on two (P, ...) batches (e.g. an LPIPS network).
        pairs: pairs per condition, >= 1.
        generator: CPU ``torch.Generator`` for the pair draw; default: a fresh one seeded with 0, so the result
            is reproducible.
        features: optional callable ``(P, ...) -> (P, ...)`` applied to both samples before the distance
            (e.g. a feature network).
        batch_size: pairs evaluated per call of ``features``/``distance``.

    Returns:
        0-d tensor (at least float32) on ``samples``' device.

    Example:
        >>> x = torch.stack([torch.zeros(2, 3), torch.tensor([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])])  # (2, 2, 3)
        >>> diversity(x, pairs=5)  # condition 0: distance 0, condition 1: distance 2
        tensor(1.)

    """
    samples = check_floating_tensor(samples, "samples", min_ndim=3)
    check_finite(samples, "samples")
    check_positive_int(batch_size, "batch_size")
    if not callable(distance):
        distance = _kind(distance)
        if distance not in _KINDS:
            raise ValueError(f"distance must be one of {_KINDS} or a callable, got {distance!r}")
    conditions, per_condition = samples.shape[:2]
    if per_condition < 2:
        raise ValueError(
            f"samples must hold at least 2 samples per condition (dim 1), got shape {tuple(samples.shape)}"
        )
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    idx = sample_pairs(conditions, per_condition, pairs, generator)
    cond = torch.arange(conditions).unsqueeze(1).expand(conditions, pairs).reshape(-1)
    flat = idx.reshape(-1, 2)
    values = []
    for start in range(0, flat.shape[0], batch_size):
        c = cond[start : start + batch_size].to(samples.device)
        ij = flat[start : start + batch_size].to(samples.device)
        x1, x2 = samples[c, ij[:, 0]], samples[c, ij[:, 1]]
        if features is not None:
            x1, x2 = features(x1), features(x2)
        d = distance(x1, x2) if callable(distance) else pair_distance(x1, x2, distance)
        values.append(_as_per_pair(d, x1.shape[0]))
    per_condition_mean = torch.cat(values).reshape(conditions, pairs).mean(dim=1)
    return per_condition_mean.mean()
