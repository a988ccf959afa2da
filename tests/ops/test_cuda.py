"""Kernel checks that need a GPU: real sizes, the tile and split paths at their GPU sizes, determinism, no host sync,
and the L1 backward's memory. Skipped on CPU (the interpreter tests cover the kernels' logic there)."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import assert_close, needs_kernels, randn
from torch_modeseek import mode_seeking_loss
from torch_modeseek.ops import _reference

pytestmark = [pytest.mark.cuda, needs_kernels]


def _fused_paired(x1, x2, kind):
    from torch_modeseek.ops import _triton

    return _triton.paired_distance(x1, x2, kind)


@pytest.mark.parametrize("kind", ["l1", "mse", "l2", "cosine"])
@pytest.mark.parametrize("shape", [(64, 3, 32, 32), (4, 3, 256, 256), (2, 3, 301, 7)], ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_paired_against_the_reference(kind, shape, dtype):
    x1, x2 = randn(*shape, seed=1, dtype=dtype), randn(*shape, seed=2, dtype=dtype)
    x2.view(-1)[::5] = x1.view(-1)[::5]  # ties
    g = randn(shape[0], seed=3)
    outs = []
    for fn in (_fused_paired, _reference.paired_distance):
        a, b = x1.clone().requires_grad_(), x2.clone().requires_grad_()
        d = fn(a, b, kind)
        outs.append((d, *torch.autograd.grad(d, (a, b), g)))
    for got, want in zip(*outs, strict=True):
        assert_close(got, want, got.dtype if got.dtype != torch.float32 else torch.float32)


@pytest.mark.parametrize("samples", [8, 16, 32])
def test_pairwise_against_the_reference(samples):
    from torch_modeseek.ops import _triton

    x = randn(samples, 2, 3, 64, 64, seed=4)
    g = randn(2, samples, samples, seed=5)
    outs = []
    for fn in (_triton.pairwise_distance, _reference.pairwise_distance):
        a = x.clone().requires_grad_()
        d = fn(a, "l1")
        outs.append((d, *torch.autograd.grad(d, a, g)))
    for got, want in zip(*outs, strict=True):
        assert_close(got, want, torch.float32)


def test_deterministic():
    x1, x2 = randn(16, 3, 128, 128, seed=6).requires_grad_(), randn(16, 3, 128, 128, seed=7)
    runs = []
    for _ in range(2):
        d = _fused_paired(x1, x2, "l1")
        runs.append((d, *torch.autograd.grad(d.sum(), x1)))
    for a, b in zip(*runs, strict=True):
        assert torch.equal(a, b)


def test_loss_does_not_synchronise_with_the_host():
    z1, z2 = randn(64, 8, seed=8), randn(64, 8, seed=9)
    x1, x2 = randn(64, 3, 32, 32, seed=10).requires_grad_(), randn(64, 3, 32, 32, seed=11)
    mode_seeking_loss(z1, z2, x1, x2, backend="triton").backward()  # warm up (compilation)
    torch.cuda.set_sync_debug_mode("error")
    try:
        mode_seeking_loss(z1, z2, x1, x2, backend="triton").backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_l1_extra_memory_is_the_sign_mask():
    shape = (32, 3, 256, 256)
    x1, x2 = randn(*shape, seed=12).requires_grad_(), randn(*shape, seed=13).requires_grad_()
    n = x1.numel()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    d = _fused_paired(x1, x2, "l1")
    d.sum().backward()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated() - base - 2 * x1.nbytes
    assert extra <= n / 8 + (1 << 20), f"{extra} bytes beyond inputs and gradients; budget {n // 8 + (1 << 20)}"
