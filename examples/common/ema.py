"""Exponential moving average of a network's weights (StackGAN++ saves and evaluates the EMA generator)."""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["ema_copy", "ema_update"]


def ema_copy(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to hold the average (its parameters need no gradients)."""
    average = copy.deepcopy(module)
    for p in average.parameters():
        p.requires_grad_(False)
    return average


@torch.no_grad()
def ema_update(average: nn.Module, module: nn.Module, decay: float) -> None:
    """``average <- decay * average + (1 - decay) * module`` for the parameters; buffers are copied.

    BatchNorm statistics are copied, as StackGAN++ evaluates its averaged weights with the live network's statistics.

    Args:
        average: the copy from :func:`ema_copy`.
        module: the trained network (plain, not DDP-wrapped).
        decay: the EMA decay (StackGAN++: 0.999).
    """
    params = list(average.parameters())
    torch._foreach_lerp_(params, [p.detach().to(a.dtype) for a, p in zip(params, module.parameters(), strict=True)],
                         1.0 - decay)  # fmt: skip
    for a, b in zip(average.buffers(), module.buffers(), strict=True):
        a.copy_(b)
