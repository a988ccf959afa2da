"""Adversarial losses against a constant label, computed in float32, for one logit map or a list of scales."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["bce", "lsgan"]


def _items(logits: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
    return logits if isinstance(logits, list) else [logits]


def bce(logits: torch.Tensor | list[torch.Tensor], target: float) -> torch.Tensor:
    """Binary cross-entropy of D's logits against ``target`` (the official BCE on sigmoid outputs).

    A list of multi-scale outputs gives the sum over the scales.

    Example:
        >>> round(float(bce(torch.zeros(4), 1.0)), 4), round(float(bce([torch.zeros(4), torch.zeros(2)], 0.0)), 4)
        (0.6931, 1.3863)
    """
    items = _items(logits)
    return sum(F.binary_cross_entropy_with_logits(o.float(), torch.full_like(o.float(), target)) for o in items)


def lsgan(logits: torch.Tensor | list[torch.Tensor], target: float) -> torch.Tensor:
    """LSGAN loss: mean squared distance of D's outputs to ``target``, summed over a list of scales.

    Example:
        >>> float(lsgan([torch.zeros(4), torch.ones(2)], 1.0))
        1.0
    """
    return sum(F.mse_loss(o.float(), torch.full_like(o.float(), target)) for o in _items(logits))
