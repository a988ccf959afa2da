"""Typed input validation shared by the metrics: every error names the argument and what was received."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

_CHECK_BLOCK = 1 << 24

__all__ = [
    "MissingWeightsError",
    "NotFittedError",
    "check_finite",
    "check_floating_tensor",
    "check_positive_int",
    "check_probability",
    "flatten_samples",
]


def check_floating_tensor(x: Any, name: str, *, min_ndim: int = 1) -> torch.Tensor:
    """Return ``x`` if it is a non-empty floating-point tensor with at least ``min_ndim`` dims, else raise.

    Raises:
        TypeError: ``x`` is not a tensor or its dtype is not floating point.
        ValueError: ``x`` has fewer than ``min_ndim`` dimensions or no elements.

    Example:
        >>> check_floating_tensor(torch.zeros(2, 3), "x").shape
        torch.Size([2, 3])

    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}; convert it with {name}.float()")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); at least one sample is needed")
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``x`` if every element is finite, else raise ``ValueError`` counting the NaN/inf entries.

    This synchronises with the device once; the check runs on blocks of about 2**24 elements so that its boolean
    temporaries stay small.

    Example:
        >>> check_finite(torch.ones(2), "x")
        tensor([1., 1.])

    """
    rows = max(1, _CHECK_BLOCK // max(1, x[0].numel())) if x.ndim and x.shape[0] else 1
    blocks = x.split(rows) if x.ndim else (x,)  # blocks of rows keep the boolean temporaries small
    bad = int(sum((~torch.isfinite(block)).sum() for block in blocks))
    if bad:
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s) (shape {tuple(x.shape)})")
    return x


def flatten_samples(x: Any, name: str) -> torch.Tensor:
    """Check ``x`` (N, ...) as a finite floating tensor and flatten it to (N, d).

    Example:
        >>> flatten_samples(torch.zeros(4, 3, 2, 2), "real").shape
        torch.Size([4, 12])

    """
    x = check_floating_tensor(x, name, min_ndim=1)
    check_finite(x, name)
    return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (bools refused), else raise.

    Example:
        >>> check_positive_int(3, "pairs")
        3

    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or type(value).__name__ == "bool_":
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)  # numpy integers (np.int64) are ints too


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a float if it lies strictly between 0 and 1, else raise ``ValueError``.

    Example:
        >>> check_probability(0.05, "significance_level")
        0.05

    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    return float(value)


class NotFittedError(RuntimeError, ValueError):
    """Raised when a metric that needs fitted state (e.g. NDB bins) is updated or computed before ``fit``.

    It subclasses both ``RuntimeError`` (a call-order problem) and ``ValueError`` (the input cannot be scored yet).

    Example:
        >>> import torch
        >>> from torch_modeseek.metrics import NDB, NotFittedError
        >>> try:
        ...     NDB(num_bins=2).update(torch.zeros(4, 2))
        ... except NotFittedError as err:
        ...     print(err)
        NDB.update() called before NDB.fit(real): fit the bins on real samples first

    """


class MissingWeightsError(RuntimeError):
    """Raised when a metric needs pretrained weights that were not supplied; torch-modeseek never downloads them.

    The message names the file that is needed, where it usually comes from and which argument takes it.

    Example:
        >>> from torch_modeseek.metrics import LPIPSDiversity, MissingWeightsError
        >>> try:
        ...     LPIPSDiversity()
        ... except MissingWeightsError as err:
        ...     print(str(err)[:60])
        LPIPSDiversity needs pretrained LPIPS weights (missing: line

    """
