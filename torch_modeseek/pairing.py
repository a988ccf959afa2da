"""Pairing helpers: build the 2B (or S x B) batch of one generator forward, and split its output back into samples.

The official MSGAN code gets the second sample for free: it repeats the condition batch, concatenates two latent
batches and runs the generator once on the doubled batch, so BatchNorm statistics cover both samples. The helpers here
do exactly that for any condition structure (a tensor, or a tuple/list/dict of tensors).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor

PAIRINGS = ("halves", "interleaved")
"""The pairing layouts of a doubled batch: ``"halves"`` (rows ``[0, B)`` are the first samples, ``[B, 2B)`` the
second ones) and ``"interleaved"`` (rows ``2i`` and ``2i + 1`` are the pair ``i``)."""

T = TypeVar("T")


def _map_tensors(cond: Any, fn: Any, path: str = "cond") -> Any:
    if isinstance(cond, Tensor):
        return fn(cond, path)
    if isinstance(cond, Mapping):
        return type(cond)({k: _map_tensors(v, fn, f"{path}[{k!r}]") for k, v in cond.items()})
    if isinstance(cond, (tuple, list)):
        return type(cond)(_map_tensors(v, fn, f"{path}[{i}]") for i, v in enumerate(cond))
    raise TypeError(f"{path} must be a tensor or a tuple/list/dict of tensors; got {type(cond).__name__}")


def _condition_batch(cond: Any) -> tuple[int, torch.device]:
    found: list[tuple[str, Tensor]] = []

    def visit(t: Tensor, path: str) -> Tensor:
        if t.dim() == 0:
            raise ValueError(f"{path} must have a batch dimension; got a 0-d tensor")
        found.append((path, t))
        return t

    _map_tensors(cond, visit)
    if not found:
        raise ValueError("cond holds no tensor")
    batch = found[0][1].shape[0]
    for path, t in found:
        if t.shape[0] != batch:
            raise ValueError(
                f"every condition tensor must share the batch size; got {found[0][0]}: {tuple(found[0][1].shape)} "
                f"and {path}: {tuple(t.shape)}"
            )
    return batch, found[0][1].device


def _latent_shape(latent_dim: int | Sequence[int]) -> tuple[int, ...]:
    dims = (latent_dim,) if isinstance(latent_dim, int) and not isinstance(latent_dim, bool) else latent_dim
    if not isinstance(dims, Sequence) or not dims or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(f"latent_dim must be a positive int or a sequence of positive ints; got {latent_dim!r}")
    return tuple(dims)


def repeated_inputs(
    cond: T,
    latent_dim: int | Sequence[int],
    samples: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[T, Tensor]:
    """Repeat the conditions ``samples`` times along the batch and draw one latent for each row.

    Args:
        cond: (B, ...) condition tensor, or a tuple/list/dict of them sharing the batch size.
        latent_dim: size of one latent, an int or a shape (e.g. ``(100, 1, 1)``).
        samples: S >= 2, the number of samples per condition.
        generator: a ``torch.Generator`` for reproducible latents (drawn on its device, then moved).
        dtype: latent dtype; default ``torch.get_default_dtype()``.
        device: latent device; default the device of the conditions.

    Returns:
        ``(cond_s, z)``: the conditions as ``[cond; cond; ...]`` (S blocks of B rows, same structure as ``cond``) and
        ``z`` of shape (S * B, *latent_dim) from N(0, I); block ``s`` of ``z`` is sample ``s`` of every condition.

    Example:
        >>> import torch
        >>> cond3, z = repeated_inputs(torch.tensor([0, 1]), 4, samples=3, generator=torch.Generator().manual_seed(0))
        >>> cond3.tolist(), tuple(z.shape)
        ([0, 1, 0, 1, 0, 1], (6, 4))
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be an int >= 2; got {samples!r}")
    shape = _latent_shape(latent_dim)
    batch, cond_device = _condition_batch(cond)
    target = torch.device(device) if device is not None else cond_device
    draw_on = generator.device if generator is not None else target
    z = torch.randn(samples * batch, *shape, generator=generator, dtype=dtype, device=draw_on).to(target)
    repeated = _map_tensors(cond, lambda t, _: torch.cat([t] * samples, dim=0))
    return repeated, z


def paired_inputs(
    cond: T,
    latent_dim: int | Sequence[int],
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[T, Tensor]:
    """The doubled batch of MSGAN's official code: ``([cond; cond], [z1; z2])``.

    Args:
        cond: (B, ...) condition tensor, or a tuple/list/dict of them sharing the batch size.
        latent_dim: size of one latent, an int or a shape.
        generator: a ``torch.Generator`` for reproducible latents.
        dtype: latent dtype; default ``torch.get_default_dtype()``.
        device: latent device; default the device of the conditions.

    Returns:
        ``(cond2, z)``: conditions of batch 2B and ``z`` of shape (2B, *latent_dim), ``z[:B]`` = z1, ``z[B:]`` = z2.

    Example:
        >>> import torch
        >>> cond2, z = paired_inputs({"label": torch.tensor([3, 7])}, 8)
        >>> cond2["label"].tolist(), tuple(z.shape)
        ([3, 7, 3, 7], (4, 8))
    """
    return repeated_inputs(cond, latent_dim, 2, generator=generator, dtype=dtype, device=device)


def split_samples(t: Tensor, samples: int, pairing: str, *, name: str = "output") -> Tensor:
    """Split a batch of S * B rows into (S, B, ...) samples per condition.

    ``pairing="halves"``: S contiguous blocks (the layout of :func:`repeated_inputs`); ``"interleaved"``: row
    ``b * S + s`` is sample ``s`` of condition ``b``.

    Raises:
        ValueError: when the batch is not a multiple of S (it cannot be paired).

    Example:
        >>> import torch
        >>> split_samples(torch.arange(6), 2, "halves").tolist()
        [[0, 1, 2], [3, 4, 5]]
        >>> split_samples(torch.arange(6), 2, "interleaved").tolist()
        [[0, 2, 4], [1, 3, 5]]
    """
    rows = t.shape[0] if t.dim() > 0 else 0
    if rows == 0 or rows % samples:
        raise ValueError(
            f"the captured {name} of shape {tuple(t.shape)} cannot be paired: its batch {rows} is not a positive "
            f"multiple of {samples} samples per condition (did the forward run on paired_inputs?)"
        )
    if pairing == "halves":
        return t.reshape(samples, rows // samples, *t.shape[1:])
    return t.reshape(rows // samples, samples, *t.shape[1:]).transpose(0, 1)


def upper_pairs(samples: int) -> list[tuple[int, int]]:
    """The S(S-1)/2 index pairs (i, j), i < j, of S samples, in row-major order.

    The order of ``torch.triu_indices(S, S, 1)``, and of the pair columns of the all-pairs loss and distances.

    Example:
        >>> upper_pairs(3)
        [(0, 1), (0, 2), (1, 2)]
    """
    return list(itertools.combinations(range(samples), 2))


__all__ = ["PAIRINGS", "paired_inputs", "repeated_inputs", "split_samples", "upper_pairs"]
