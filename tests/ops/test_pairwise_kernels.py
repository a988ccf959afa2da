"""The fused all-pairs distances against the reference: values, gradients, S, layouts, dtypes, canaries."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import assert_close, needs_kernels, randn, run_twice_with_canaries
from torch_modeseek.ops import _reference

pytestmark = needs_kernels

KINDS = ("l1", "mse", "l2", "cosine")


def _fused(x, kind):
    from torch_modeseek.ops import _triton

    return _triton.pairwise_distance(x, kind)


def _value_and_grad(fn, x, kind, upstream):
    a = x.detach().requires_grad_()
    d = fn(a, kind)
    return d, *torch.autograd.grad(d, a, upstream)


def _check(x, kind, *, seed=0):
    """Fused distances and gradient (a non-symmetric upstream gradient) equal the reference's; canaries checked."""
    samples, batch = x.shape[0], x.shape[1]
    upstream = randn(batch, samples, samples, seed=seed + 50)
    got = run_twice_with_canaries(lambda: _value_and_grad(_fused, x, kind, upstream))
    want = _value_and_grad(_reference.pairwise_distance, x, kind, upstream)
    assert_close(got[0], want[0], want[0].dtype)
    assert_close(got[1], want[1], x.dtype)
    assert torch.equal(torch.diagonal(got[0], dim1=1, dim2=2), torch.zeros_like(got[0][:, :, 0]))
    assert torch.equal(got[0], got[0].transpose(1, 2))


# S: the smallest, odd and padded (3 -> 4, 5 -> 8, 17 -> 32), a power of two. Features: several chunks per
# condition with B=2, one chunk with B=9 (more conditions than the programs' target).
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(2, 2, 7), (3, 2, 5, 6), (5, 9, 13), (8, 2, 3, 3)], ids=str)
def test_values_and_gradients(kind, shape):
    _check(randn(*shape, seed=1), kind)


def test_many_samples():
    _check(randn(17, 1, 6, seed=2), "l1")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("kind", ["l1", "cosine"])
def test_dtypes(kind, dtype):
    _check(randn(3, 2, 21, seed=3, dtype=dtype), kind)


def test_channels_last_samples():
    x = randn(3 * 2, 4, 3, 5, seed=4).to(memory_format=torch.channels_last).view(3, 2, 4, 3, 5)
    assert not x.is_contiguous()
    _check(x, "l1")
    _check(x, "mse")


def test_non_dense_samples_fall_back_to_a_copy():
    _check(randn(3, 2, 30, seed=5)[..., ::3], "l2")


def test_l1_ties():
    x = randn(4, 2, 40, seed=6)
    x[1, :, ::2] = x[0, :, ::2]  # ties between samples 0 and 1 on half the elements
    x[3] = x[2]  # two identical samples
    _check(x, "l1")
