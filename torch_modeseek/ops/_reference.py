"""Pure-PyTorch per-sample distances: the reference implementation, on any device.

Every distance is computed in float32 or wider whatever the input dtype: each input is upcast before the difference,
so half-precision inputs neither overflow nor lose the difference of two nearby values. Reductions run over every
dimension but the batch one, so channels_last and other strided inputs are never copied into a flat layout.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from torch_modeseek._checks import compute_dtype

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


def paired_distance(x1: Tensor, x2: Tensor, kind: str = "l1") -> Tensor:
    """Per-sample distance between ``x1[i]`` and ``x2[i]``: (B, ...) x (B, ...) -> (B,).

    ``"l1"`` mean absolute difference, ``"mse"`` mean squared difference, ``"l2"`` its square root, ``"cosine"`` one
    minus the cosine similarity of the flattened samples.
    """
    dtype = compute_dtype(x1, x2)
    a, b = x1.to(dtype), x2.to(dtype)
    if kind == "cosine":
        dot = _sum_over_features(a * b)
        norm_a = _sum_over_features(a * a).clamp_min(_COSINE_EPS**2).sqrt()
        norm_b = _sum_over_features(b * b).clamp_min(_COSINE_EPS**2).sqrt()
        return 1.0 - dot / (norm_a * norm_b)
    diff = b - a
    if kind == "l1":
        return _mean_over_features(diff.abs())
    mse = _mean_over_features(diff * diff)
    if kind == "mse":
        return mse
    if kind == "l2":
        return mse.clamp_min(_SQRT_FLOOR).sqrt()
    raise ValueError(f"unknown distance kind {kind!r}")


def pairwise_distance(x: Tensor, kind: str = "l1") -> Tensor:
    """Distances between all samples of each condition: x of shape (S, B, ...) -> (B, S, S), zero diagonal.

    Computed pair by pair (S(S-1)/2 paired distances), so the working memory stays that of one pair whatever S is.
    """
    samples, batch = x.shape[0], x.shape[1]
    pairs = upper_pairs(samples)
    upper = torch.stack([paired_distance(x[i], x[j], kind) for i, j in pairs], dim=1)  # (B, P)
    above = torch.tensor([i * samples + j for i, j in pairs], device=x.device)
    below = torch.tensor([j * samples + i for i, j in pairs], device=x.device)
    flat = upper.new_zeros(batch, samples * samples).index_add(1, above, upper).index_add(1, below, upper)
    return flat.view(batch, samples, samples)


def upper_pairs(samples: int) -> list[tuple[int, int]]:
    """The S(S-1)/2 index pairs (i, j), i < j, in row-major order (the order of ``torch.triu_indices(S, S, 1)``)."""
    return list(itertools.combinations(range(samples), 2))
