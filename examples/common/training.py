"""Small GAN-training helpers shared by the trainers: weight initialisation and LR schedules."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["LinearDecayAfter", "StepCounter", "init_normal"]


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN/pix2pix initialisation, in place: conv and linear weights N(0, std), biases 0, norm scales N(1, std).

    Returns:
        ``module``, for chaining.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


@dataclass
class LinearDecayAfter:
    """LR factor for ``LambdaLR``: 1 for the first ``constant`` steps, then linear to 0 at ``total`` steps.

    pix2pix's ``lambda`` policy (lr constant for ``niter`` epochs, then linear decay over ``niter_decay``), counted in
    steps. A dataclass, so ``LambdaLR.state_dict()`` saves its fields and a checkpoint loads with ``weights_only``.

    Example:
        >>> f = LinearDecayAfter(constant=100, total=200)
        >>> [f(s) for s in (0, 100, 150, 200)]
        [1.0, 1.0, 0.5, 0.0]
    """

    constant: int
    total: int

    def __call__(self, step: int) -> float:
        """The LR factor at ``step``."""
        decay = max(1, self.total - self.constant)
        return max(0.0, 1.0 - max(0, step - self.constant) / decay)


class StepCounter(nn.Module):
    """The global iteration count as a buffer, saved and resumed with the models (put it in ``Parts.models``).

    For trainers whose update schedule depends on the iteration (e.g. DRIT's content discriminator alone on 2 of 3).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self) -> int:
        """The count before this call, then add one."""
        value = int(self.count)
        self.count += 1
        return value
