"""Sampling a trained generator for grids and evaluation: evaluation mode, no gradients, fixed latents."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["evaluating", "sample_per_condition"]


@contextlib.contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Evaluation mode and no gradients inside the block; the modules' previous modes are restored after."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def sample_per_condition(
    generator: nn.Module, conditions: torch.Tensor, samples: int, latent_dim: int, seed: int, chunk: int = 64
) -> torch.Tensor:
    """``samples`` outputs of ``generator(cond, z=z)`` for each of the N conditions, in evaluation mode.

    Latents come from a CPU generator seeded with ``seed`` (fixed samples, the training RNG is untouched).

    Args:
        generator: the plain (unwrapped) generator, called as ``generator(cond, z=z)``.
        conditions: (N, ...) conditions (e.g. one-hot classes or input images).
        samples: S, outputs per condition.
        latent_dim: size of z.
        seed: seed of the latents.
        chunk: conditions per forward.

    Returns:
        (N, S, ...) float32 outputs on the CPU.
    """
    device = next(generator.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    out = []
    with evaluating(generator):
        for part in conditions.split(chunk):
            cond = part.repeat_interleave(samples, 0).to(device)
            z = torch.randn(cond.shape[0], latent_dim, generator=gen).to(device)
            out.append(generator(cond, z=z).float().cpu())
    result = torch.cat(out)
    return result.reshape(conditions.shape[0], samples, *result.shape[1:])
