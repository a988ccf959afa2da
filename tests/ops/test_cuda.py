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


def _paired_parity(x1, x2, kind):
    """Fused value and gradients (upstream gradient not 1) against the reference's, at the tolerance of each dtype."""
    g = randn(x1.shape[0], seed=3)
    outs = []
    for fn in (_fused_paired, _reference.paired_distance):
        a, b = x1.detach().requires_grad_(), x2.detach().requires_grad_()
        d = fn(a, b, kind)
        outs.append((d, *torch.autograd.grad(d, (a, b), g)))
    for got, want in zip(*outs, strict=True):
        assert_close(got, want, got.dtype)
    return outs[0]


@pytest.mark.parametrize("kind", ["l1", "mse", "l2", "cosine"])
@pytest.mark.parametrize("shape", [(64, 3, 32, 32), (4, 3, 256, 256), (2, 3, 301, 7)], ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_paired_against_the_reference(kind, shape, dtype):
    x1, x2 = randn(*shape, seed=1, dtype=dtype), randn(*shape, seed=2, dtype=dtype)
    x2.view(-1)[::5] = x1.view(-1)[::5]  # ties
    _paired_parity(x1, x2, kind)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_l1_tanh_saturated_ties(dtype):
    """Generator-like outputs: tanh saturates to exactly +-1 in half precision, so many elements tie."""
    x1 = torch.tanh(randn(64, 3, 64, 64, seed=20) * 8).to(dtype)
    x2 = torch.tanh(randn(64, 3, 64, 64, seed=21) * 8).to(dtype)
    assert (x1 == x2).float().mean() > 0.15
    _, g1, _ = _paired_parity(x1, x2, "l1")
    assert torch.equal(g1 == 0, x1 == x2)


@pytest.mark.parametrize("layout", ["channels_last", "batch_slice", "feature_slice"])
@pytest.mark.parametrize("kind", ["l1", "cosine"])
def test_non_contiguous_inputs(layout, kind):
    x1, x2 = randn(32, 3, 128, 128, seed=22), randn(32, 3, 128, 128, seed=23)
    if layout == "channels_last":
        x1, x2 = x1.to(memory_format=torch.channels_last), x2.to(memory_format=torch.channels_last)
    elif layout == "batch_slice":
        x1, x2 = x1[::2], x2[::2]
    else:
        x1, x2 = x1[..., ::2], x2[..., ::2]
    _paired_parity(x1, x2, kind)


@pytest.mark.parametrize("kind", ["l1", "mse", "l2", "cosine"])
def test_nan_in_nan_out(kind):
    from torch_modeseek.ops import _triton

    x1, x2 = randn(8, 3, 256, 256, seed=24), randn(8, 3, 256, 256, seed=25)
    x1[3, 1, 100, 7] = float("nan")
    got = _triton.paired_distance(x1, x2, kind)
    assert torch.isnan(got[3])
    assert torch.isfinite(got[torch.arange(8, device=got.device) != 3]).all()
    x = randn(16, 2, 3, 64, 64, seed=26)
    x[5, 1, 0, 0, 0] = float("nan")
    pair = _triton.pairwise_distance(x, kind)
    assert torch.isnan(pair[1, 5][torch.arange(16, device=pair.device) != 5]).all()
    assert torch.isfinite(pair[0]).all()


@pytest.mark.parametrize("samples", [8, 16, 32, 64])
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


def test_l1_extra_memory_is_the_two_bit_mask():
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
    budget = n // 4 + (1 << 20)  # sign and live bits, two per element, and per-row sums
    assert extra <= budget, f"{extra} bytes beyond inputs and gradients; budget {budget}"
