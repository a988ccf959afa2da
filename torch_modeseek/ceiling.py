r"""The diversity ceiling: the output/latent distance ratio that the real data supports, and overshoot past it.

The mode-seeking term rewards the ratio :math:`r = d_x / d_z` of the output distance to the latent distance of two
samples under one condition. Its official (reciprocal) form has no ceiling: a generator can push :math:`r`, and
with it the spread of its samples, past anything in the data, which destroys sample quality when the term's weight
is large against the adversarial loss. With :math:`z \sim \mathcal N(0, \sigma^2 I)` the latent distance is known in
advance, so the ratio a generator should reach is about

.. math::

    r^* = \frac{\mathbb E[d_x(x_i, x_j) \mid i \ne j,\ c_i = c_j]}{\mathbb E[d_z(z_1, z_2)]},

the real data's within-condition distance over the expected latent distance. :func:`diversity_ceiling` estimates it
from real samples grouped by condition; ``form="clamped"`` with ``tau`` set to it stops rewarding the ratio there
(its gradient is zero above ``tau``). :func:`overshoot` is the share of pairs whose ratio exceeds the ceiling, the
failure mode opposite to collapse, for the training log.

The expected latent distances for :math:`d = z_2 - z_1 \sim \mathcal N(0, 2\sigma^2 I_D)`:
``"l1"`` :math:`2\sigma/\sqrt\pi`; ``"mse"`` :math:`2\sigma^2`; ``"l2"`` (root mean square)
:math:`\sigma\sqrt{2/D}\,\mathbb E[\chi_D] = 2\sigma\,\Gamma(\frac{D+1}{2}) / (\sqrt D\,\Gamma(\frac D2))`;
``"cosine"`` 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from torch_modeseek import ops
from torch_modeseek._checks import DISTANCES, check_choice

__all__ = ["diversity_ceiling", "expected_latent_distance", "overshoot"]


def expected_latent_distance(distance: str = "l1", latent_dim: int | None = None, std: float = 1.0) -> float:
    r"""The expected distance between two independent latents :math:`z_1, z_2 \sim \mathcal N(0, \sigma^2 I_D)`.

    Args:
        distance: the latent distance kind of the loss (``latent_distance``): ``"l1"``, ``"l2"``, ``"mse"`` or
            ``"cosine"``.
        latent_dim: :math:`D`, needed for ``"l2"`` only (the others do not depend on it).
        std: :math:`\sigma`, the latents' standard deviation (> 0).

    Returns:
        The expectation, a Python float.

    Raises:
        ValueError: an unknown kind, ``"l2"`` without a positive ``latent_dim``, or ``std`` not finite and > 0.

    Example:
        >>> round(expected_latent_distance("l1"), 4)  # 2 / sqrt(pi)
        1.1284
        >>> round(expected_latent_distance("l2", latent_dim=8), 4)
        1.3708
    """
    check_choice("distance", distance, DISTANCES)
    if not (isinstance(std, (int, float)) and math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a finite number > 0, got {std!r}")
    if distance == "l1":
        return 2.0 * std / math.sqrt(math.pi)
    if distance == "mse":
        return 2.0 * std * std
    if distance == "cosine":
        return 1.0
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ValueError(f'distance "l2" needs latent_dim, a positive int, got {latent_dim!r}')
    log_chi = math.lgamma((latent_dim + 1) / 2) - math.lgamma(latent_dim / 2)
    return 2.0 * std * math.exp(log_chi) / math.sqrt(latent_dim)


def _groups(samples: Tensor | Sequence[Tensor], conditions: Tensor | Sequence[object] | None) -> list[Tensor]:
    if conditions is None:
        if isinstance(samples, Tensor):
            raise ValueError(
                "conditions is required when samples is one tensor (or pass a sequence of per-condition tensors)"
            )
        groups = list(samples)
        if not all(isinstance(g, Tensor) and g.dim() >= 1 for g in groups):
            raise TypeError("samples must be a sequence of (S_c, ...) tensors, one per condition")
        return groups
    if not isinstance(samples, Tensor) or samples.dim() < 2:
        raise TypeError("with conditions, samples must be one (N, ...) tensor")
    labels = conditions.tolist() if isinstance(conditions, Tensor) else list(conditions)
    if len(labels) != samples.shape[0]:
        raise ValueError(f"conditions has {len(labels)} entries, samples has {samples.shape[0]}")
    index: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        index.setdefault(label if not isinstance(label, list) else tuple(label), []).append(i)
    return [samples[rows] for rows in index.values()]


def diversity_ceiling(
    samples: Tensor | Sequence[Tensor],
    conditions: Tensor | Sequence[object] | None = None,
    *,
    distance: str = "l1",
    latent_distance: str = "l1",
    latent_dim: int | None = None,
    latent_std: float = 1.0,
    max_pairs: int = 4096,
    seed: int = 0,
) -> float:
    r"""Estimate the data's ratio ceiling :math:`r^*` (module docstring) from real samples grouped by condition.

    The within-condition distance is the mean over every condition with at least two samples of the mean distance
    between its distinct samples (all pairs, or ``max_pairs`` random ones), weighted by the condition's sample count
    (conditions as often as a training batch draws them). It is divided by :func:`expected_latent_distance`.

    Args:
        samples: real samples, either one (N, ...) tensor with ``conditions``, or a sequence of (S_c, ...) tensors,
            one per condition.
        conditions: (N,) condition labels of ``samples`` (a tensor or a sequence of hashables); samples with equal
            labels share a condition.
        distance: the output distance of the loss (``"l1"``, ``"l2"``, ``"mse"``, ``"cosine"``).
        latent_distance: the latent distance of the loss.
        latent_dim: the latent size (needed for ``latent_distance="l2"``).
        latent_std: the standard deviation of the latents (1 for ``torch.randn``).
        max_pairs: at most this many random pairs per condition (all pairs when there are fewer).
        seed: seed of the pair sampling.

    Returns:
        The ceiling :math:`r^*`, a Python float; pass it as ``tau`` with ``form="clamped"``, or to :func:`overshoot`.

    Raises:
        ValueError: no condition has two samples; mismatched lengths; an unknown distance kind.
        TypeError: ``samples`` is neither a tensor with ``conditions`` nor a sequence of tensors.

    Example:
        >>> import torch
        >>> from torch_modeseek import ModeSeekingLoss
        >>> real = torch.randn(200, 3, 8, 8) * 0.5  # within-condition spread 0.5 (one condition)
        >>> tau = diversity_ceiling(real, torch.zeros(200))
        >>> round(tau, 1)  # l1: 0.5 * 2/sqrt(pi) over 2/sqrt(pi)
        0.5
        >>> x1 = torch.randn(4, 3, 8, 8, requires_grad=True)
        >>> ModeSeekingLoss(form="clamped", tau=tau)(torch.randn(4, 8), torch.randn(4, 8), x1, x1 * 0.9).backward()
    """
    check_choice("distance", distance, DISTANCES)
    if not isinstance(max_pairs, int) or max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive int, got {max_pairs!r}")
    gen = torch.Generator().manual_seed(seed)
    total, weight = 0.0, 0
    for group in _groups(samples, conditions):
        n = group.shape[0]
        if n < 2:
            continue
        i, j = torch.triu_indices(n, n, offset=1)
        if i.numel() > max_pairs:
            pick = torch.randperm(i.numel(), generator=gen)[:max_pairs]
            i, j = i[pick], j[pick]
        flat = group.detach().flatten(1)
        chunks = zip(i.split(4096), j.split(4096), strict=True)
        d = torch.cat([ops.paired_distance(flat[a], flat[b], distance) for a, b in chunks])
        total += float(d.double().mean()) * n
        weight += n
    if weight == 0:
        raise ValueError("no condition has two samples: the within-condition distance needs pairs under one condition")
    return total / weight / expected_latent_distance(latent_distance, latent_dim, latent_std)


def overshoot(ratios: Tensor | None, ceiling: float) -> float | None:
    """The share of pairs whose output/latent distance ratio exceeds ``ceiling`` (``None`` before any ratio).

    Args:
        ratios: per-pair ratios, e.g. :attr:`ModeSeekingHook.last_ratios <torch_modeseek.ModeSeekingHook>`.
        ceiling: the data's ceiling (:func:`diversity_ceiling`).

    Example:
        >>> overshoot(torch.tensor([0.2, 0.9, 1.4, 2.0]), 1.0)
        0.5
    """
    if ratios is None:
        return None
    if not math.isfinite(ceiling) or ceiling <= 0:
        raise ValueError(f"ceiling must be a finite number > 0, got {ceiling!r}")
    return float((ratios.detach().flatten().float() > ceiling).float().mean())
