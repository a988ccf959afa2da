"""Divergence: a NaN or an infinity in a loss or in the weights stops a run before anything is saved from it."""

from __future__ import annotations

import torch
from torch import nn

from examples.common.errors import RunError

__all__ = ["DivergedError", "non_finite"]


class DivergedError(RunError):
    """The run produced a non-finite loss or non-finite weights; the last finite checkpoint is kept."""


def non_finite(values: dict[str, torch.Tensor] | dict[str, nn.Module]) -> list[str]:
    """The names of the losses (tensors) or models (parameters and floating buffers) holding a NaN or an infinity.

    Example:
        >>> non_finite({"D": torch.tensor(0.7), "G": torch.tensor(float("nan"))})
        ['G']
    """
    bad = []
    for name, value in values.items():
        tensors = [value] if isinstance(value, torch.Tensor) else [*value.parameters(), *value.buffers()]
        if not all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point()):
            bad.append(name)
    return bad
