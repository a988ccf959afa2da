"""Mode coverage for data with known modes (e.g. the 2-D ring and grid Gaussian mixtures)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_modeseek.metrics._accumulator import Result
from torch_modeseek.metrics._checks import check_positive_int, flatten_samples
from torch_modeseek.metrics._kmeans import assign_to_centers

__all__ = ["ModeCoverageResult", "mode_coverage"]


@dataclass(frozen=True, eq=False)
class ModeCoverageResult(Result):
    """Result of :func:`mode_coverage`.

    Attributes:
        modes_hit: number of modes with at least ``min_count`` high-quality samples.
        num_modes: number of known modes K.
        high_quality_fraction: share of samples within ``radius`` of their nearest mode.
        counts: (K,) int64 high-quality samples per mode.
        hit: (K,) bool, ``counts >= min_count``.

    Example:
        >>> import torch
        >>> centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> res = mode_coverage(torch.tensor([[0.1, 0.0], [0.0, 0.2], [4.0, 4.0]]), centers, 1.0, min_count=2)
        >>> res.modes_hit, res.num_modes, res.hit.tolist()
        (1, 2, [True, False])
        >>> res.to_dict()["counts"]
        [2, 0]

    """

    modes_hit: int
    num_modes: int
    high_quality_fraction: float
    counts: torch.Tensor
    hit: torch.Tensor


@torch.no_grad()
def mode_coverage(
    samples: torch.Tensor, centers: torch.Tensor, radius: float, *, min_count: int = 1
) -> ModeCoverageResult:
    """Count the known modes that generated samples reach, and the share of high-quality samples.

    Each sample (flattened to d values) goes to its nearest mode centre in L2; it is high quality when
    ``||x - c_nearest|| <= radius`` (the usual choice is 3 standard deviations of a mode). A mode is hit when at
    least ``min_count`` high-quality samples fall on it.

    Args:
        samples: (N, ...) generated samples.
        centers: (K, ...) mode centres, same per-sample size as ``samples``.
        radius: positive distance threshold.
        min_count: high-quality samples a mode needs to count as hit, >= 1.

    Returns:
        A :class:`ModeCoverageResult`.

    Example:
        >>> centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
        >>> res = mode_coverage(torch.tensor([[0.1, 0.0], [9.9, 0.2], [5.0, 5.0], [0.0, 0.3]]), centers, 1.0)
        >>> res.modes_hit, res.high_quality_fraction, res.counts.tolist()
        (2, 0.75, [2, 1, 0])

    """
    x = flatten_samples(samples, "samples")
    c = flatten_samples(centers, "centers")
    if x.shape[1] != c.shape[1]:
        raise ValueError(
            f"samples have {x.shape[1]} values per sample (shape {tuple(samples.shape)}) but centers have "
            f"{c.shape[1]} (shape {tuple(centers.shape)})"
        )
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not (math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive finite number, got {radius!r}")
    check_positive_int(min_count, "min_count")
    dtype = torch.promote_types(torch.promote_types(x.dtype, c.dtype), torch.float32)
    x, c = x.to(dtype), c.to(device=x.device, dtype=dtype)
    labels, sq_dist = assign_to_centers(x, c)
    good = sq_dist <= radius * radius
    counts = torch.bincount(labels[good], minlength=c.shape[0])
    hit = counts >= min_count
    return ModeCoverageResult(
        modes_hit=int(hit.sum()),
        num_modes=c.shape[0],
        high_quality_fraction=float(good.double().mean()),
        counts=counts,
        hit=hit,
    )
