"""Small GAN-training helpers shared by the trainers: weight initialisation, LR and update schedules."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "INIT_SCHEMES",
    "ContentSchedule",
    "EpochLinearDecay",
    "StepCounter",
    "init_normal",
    "init_orthogonal",
    "init_weights",
    "init_xavier",
]


def init_conv_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """MSGAN's ``gaussian_weights_init`` (DCGAN, DRIT), in place: conv weights N(0, std); the rest left default.

    Returns:
        ``module``, for chaining.

    Example:
        >>> net = init_conv_normal(nn.Sequential(nn.Conv2d(3, 64, 3), nn.Linear(4, 4)))
        >>> round(float(net[0].weight.detach().std()), 2), float(net[1].weight.detach().abs().max()) <= 0.5
        (0.02, True)
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
    return module


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


def init_xavier(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """BicycleGAN's ``xavier`` initialisation, in place.

    Conv and linear weights Xavier-normal with ``gain``, biases 0, BatchNorm scales N(1, gain) (InstanceNorm without
    affine parameters has none).

    Returns:
        ``module``, for chaining.

    Example:
        >>> conv = init_xavier(nn.Conv2d(64, 64, 4))
        >>> round(float(conv.weight.detach().std()) / (0.02 * (2 / (64 * 16 + 64 * 16)) ** 0.5), 1)
        1.0
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def init_orthogonal(module: nn.Module, gain: float = 1.0) -> nn.Module:
    """StackGAN++'s initialisation, in place.

    Conv and linear weights orthogonal with ``gain``, linear biases 0, BatchNorm (1-d and 2-d) scales N(1, 0.02) and
    shifts 0; conv biases keep PyTorch's default.

    Returns:
        ``module``, for chaining.

    Example:
        >>> fc = init_orthogonal(nn.Linear(8, 8))
        >>> w = fc.weight.detach()
        >>> torch.allclose(w @ w.T, torch.eye(8), atol=1e-5), float(fc.bias.detach().abs().sum())
        (True, 0.0)
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.orthogonal_(m.weight, gain)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


INIT_SCHEMES = ("normal", "conv_normal", "xavier", "orthogonal", "default")


def init_weights(module: nn.Module, scheme: str) -> nn.Module:
    """Initialise ``module`` in place with a named scheme.

    ``"normal"`` (:func:`init_normal`), ``"conv_normal"`` (:func:`init_conv_normal`, MSGAN's own), ``"xavier"``
    (:func:`init_xavier`), ``"orthogonal"`` (:func:`init_orthogonal`) or ``"default"`` (PyTorch's own layer
    initialisation, left as constructed).

    Example:
        >>> init_weights(nn.Linear(2, 2), "uniform")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown initialisation 'uniform'; expected one of ('normal', 'conv_normal', ...)
    """
    if scheme == "normal":
        return init_normal(module)
    if scheme == "conv_normal":
        return init_conv_normal(module)
    if scheme == "xavier":
        return init_xavier(module)
    if scheme == "orthogonal":
        return init_orthogonal(module)
    if scheme == "default":
        return module
    raise ValueError(f"unknown initialisation {scheme!r}; expected one of {INIT_SCHEMES}")


@dataclass
class EpochLinearDecay:
    """LR factor for ``LambdaLR`` stepped once per iteration: the official per-epoch linear decay.

    pix2pix's and DRIT's ``lambda`` policy: the factor of epoch ``e`` (0-based) is
    ``1 - max(0, e - constant_epochs) / (decay_epochs + 1)``, constant within an epoch. pix2pix (``niter`` 100,
    ``niter_decay`` 100) and DRIT (``n_ep`` 1200, ``n_ep_decay`` 600, i.e. 600 epochs of decay) both use it, so the
    last epoch runs at ``2 / (decay_epochs + 1)`` of the LR (0.0198 for pix2pix), not at 0. Epochs are counted from
    the iteration: ``e = step // per_epoch``. A dataclass, so ``LambdaLR.state_dict()`` saves its fields and a
    checkpoint loads with ``weights_only``.

    Example:
        >>> f = EpochLinearDecay(per_epoch=10, constant_epochs=100, decay_epochs=100)
        >>> [round(f(s), 4) for s in (0, 1009, 1010, 1999)]
        [1.0, 1.0, 0.9901, 0.0198]
    """

    per_epoch: int
    constant_epochs: int
    decay_epochs: int

    def __call__(self, step: int) -> float:
        """The LR factor at iteration ``step`` (0-based)."""
        epoch = step // max(1, self.per_epoch)
        return max(0.0, 1.0 - max(0, epoch - self.constant_epochs) / (self.decay_epochs + 1))


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


@dataclass(frozen=True)
class ContentSchedule:
    """DRIT's discriminator schedule, restarted every epoch (the official ``train.py``).

    Iteration ``it`` of an epoch (0-based) trains the content discriminator alone unless ``(it + 1)`` is a multiple
    of ``d_iter`` or ``it`` is one of the epoch's last two iterations, which always make the full update.

    Example:
        >>> schedule = ContentSchedule(per_epoch=7)
        >>> [schedule.content_only(i) for i in range(9)]
        [True, True, False, True, True, False, False, True, True]
    """

    per_epoch: int
    d_iter: int = 3

    def content_only(self, iteration: int) -> bool:
        """Whether global iteration ``iteration`` (0-based) trains the content discriminator alone."""
        it = iteration % self.per_epoch
        return (it + 1) % self.d_iter != 0 and it < self.per_epoch - 2
