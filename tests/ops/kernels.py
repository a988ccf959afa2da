"""Shared helpers of the kernel tests: where the kernels run, canary-padded buffers, comparisons."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import pytest
import torch


def _skip_reason() -> str | None:
    try:
        import triton  # noqa: F401
    except ImportError as exc:
        return f"Triton is not importable ({exc}); the kernel tests need the 'triton' extra"
    interpret = os.environ.get("TRITON_INTERPRET") == "1"
    loaded = sys.modules.get("torch_modeseek.ops._triton_launch")
    if loaded is not None and interpret != loaded.INTERPRETED:
        return (
            "the Triton kernels were imported before tests/ops/conftest.py set TRITON_INTERPRET; "
            "run `pytest tests/ops` on its own or the whole suite from the repository root"
        )
    if not interpret and not torch.cuda.is_available():
        return "no CUDA device and TRITON_INTERPRET is not set"
    return None


SKIP_REASON = _skip_reason()
#: Apply as ``pytestmark = needs_kernels`` in modules that launch kernels.
needs_kernels = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = torch.device("cpu" if INTERPRETED or not torch.cuda.is_available() else "cuda")


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(dtype=dtype, device=DEVICE)


PAD = 67  # elements of canary on each side of every kernel buffer


@contextlib.contextmanager
def canaries(fill: float) -> Iterator[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Make every kernel buffer a view into storage padded with ``fill``; yield the (padded storage, view) pairs.

    After the kernels ran, :func:`check_canaries` proves that no write left a buffer.
    """
    from torch_modeseek.ops import _triton_launch

    made: list[tuple[torch.Tensor, torch.Tensor]] = []

    def empty(shape, dtype, device, strides=None):
        strides = strides if strides is not None else torch.empty(shape, device="meta").stride()
        span = 1 + sum((size - 1) * st for size, st in zip(shape, strides, strict=True)) if all(shape) else 0
        storage = torch.full((span + 2 * PAD,), fill, device=device).to(dtype)
        view = storage.as_strided(shape, strides, PAD)
        made.append((storage, view))
        return view

    original = _triton_launch.empty
    _triton_launch.empty = empty
    try:
        yield made
    finally:
        _triton_launch.empty = original


def check_canaries(made: list[tuple[torch.Tensor, torch.Tensor]], fill: float) -> None:
    for storage, view in made:
        expected = torch.full((PAD,), fill, device=storage.device).to(storage.dtype)
        span = storage.numel() - 2 * PAD
        assert torch.equal(storage[:PAD], expected), f"write before a buffer of shape {tuple(view.shape)}"
        assert torch.equal(storage[PAD + span :], expected), f"write after a buffer of shape {tuple(view.shape)}"


def run_twice_with_canaries(fn) -> tuple[torch.Tensor, ...]:
    """Run ``fn`` with buffers poisoned by two different fills; equal results mean every element was written.

    ``fn`` returns a tuple of tensors (detached copies are compared). Also checks the canaries of every buffer.
    """
    results = []
    for fill in (-7.0, 3.0):
        with canaries(fill) as made:
            out = tuple(t.detach().clone() for t in fn())
        check_canaries(made, fill)
        results.append(out)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b), "an output element depends on the buffer's initial contents (never written)"
    return results[0]


def assert_close(got: torch.Tensor, want: torch.Tensor, dtype: torch.dtype) -> None:
    """Compare in float64 with a tolerance for the storage dtype of ``got`` (the arithmetic is float32 or wider).

    The absolute tolerance allows a few float32 roundings of O(1) quantities (a cosine distance is 1 - c).
    """
    rtol = {torch.float64: 1e-12, torch.float32: 2e-6, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}[dtype]
    atol = {torch.float64: 1e-12}.get(dtype, 1e-5)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol, atol=max(rtol, atol))
