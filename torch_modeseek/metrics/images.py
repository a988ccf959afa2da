"""Pixel-range helper: the metrics follow the paper's convention of images with pixels in [0, 1]."""

from __future__ import annotations

import torch

from torch_modeseek.metrics._checks import check_floating_tensor

__all__ = ["images_to_unit_range"]


def images_to_unit_range(x: torch.Tensor, *, clamp: bool = True) -> torch.Tensor:
    """Map generator outputs from [-1, 1] (tanh) to [0, 1]: ``(x + 1) / 2``.

    Args:
        x: floating tensor of any shape, e.g. (N, C, H, W) images in [-1, 1].
        clamp: clip the result to [0, 1] (guards against values slightly outside the tanh range).

    Returns:
        A new tensor of the same shape and dtype.

    Example:
        >>> images_to_unit_range(torch.tensor([-1.0, 0.0, 1.0, 1.5]))
        tensor([0.0000, 0.5000, 1.0000, 1.0000])

    """
    x = check_floating_tensor(x, "x", min_ndim=0)
    out = (x + 1.0) * 0.5
    return out.clamp_(0.0, 1.0) if clamp else out
