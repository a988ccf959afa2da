"""The fused paired distances against the reference: values, gradients, layouts, dtypes, ties, canaries."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import DEVICE, assert_close, needs_kernels, randn, run_twice_with_canaries
from torch_modeseek.ops import _reference

pytestmark = needs_kernels

KINDS = ("l1", "mse", "l2", "cosine")


def _fused(x1, x2, kind):
    from torch_modeseek.ops import _triton

    return _triton.paired_distance(x1, x2, kind)


def _value_and_grads(fn, x1, x2, kind, upstream):
    a, b = x1.detach().requires_grad_(), x2.detach().requires_grad_()
    d = fn(a, b, kind)
    return (d, *torch.autograd.grad(d, (a, b), upstream))


def _check(x1, x2, kind, *, seed=0):
    """Fused value and both gradients (upstream gradient not 1) equal the reference's; every buffer canary-checked."""
    upstream = randn(x1.shape[0], seed=seed + 99) * 3.0
    got = run_twice_with_canaries(lambda: _value_and_grads(_fused, x1, x2, kind, upstream))
    want = _value_and_grads(_reference.paired_distance, x1, x2, kind, upstream)
    for g, w, dtype in zip(got, want, (want[0].dtype, x1.dtype, x2.dtype), strict=True):
        assert_close(g, w, dtype)
    assert got[1].shape == x1.shape
    assert got[2].shape == x2.shape


# Shapes: one feature; odd sizes under one tile; rows over several tiles and split across programs (B=3);
# one tile per program with more rows than the programs' target (B=9); a tail that is not a multiple of 32.
SHAPES = [(5,), (3, 7), (3, 5, 41), (9, 130), (2, 3, 11, 13)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_values_and_gradients(kind, shape):
    _check(randn(*shape, seed=1), randn(*shape, seed=2), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_dtypes(kind, dtype):
    _check(randn(3, 2, 45, seed=3, dtype=dtype), randn(3, 2, 45, seed=4, dtype=dtype), kind)


def test_mixed_dtypes_keep_each_gradient_dtype():
    _check(randn(3, 70, seed=5, dtype=torch.bfloat16), randn(3, 70, seed=6), "l1")


@pytest.mark.parametrize("kind", KINDS)
def test_channels_last(kind):
    x1 = randn(3, 5, 4, 6, seed=7).to(memory_format=torch.channels_last)
    x2 = randn(3, 5, 4, 6, seed=8).to(memory_format=torch.channels_last)
    _check(x1, x2, kind)


@pytest.mark.parametrize(
    "layout",
    ["batch_slice", "permuted", "expanded_batch", "feature_slice", "mixed"],
)
def test_strided_inputs(layout):
    base1, base2 = randn(6, 4, 35, seed=9), randn(6, 4, 35, seed=10)
    if layout == "batch_slice":  # dense samples at a batch stride of two samples: read in place
        x1, x2 = base1[::2], base2[::2]
    elif layout == "permuted":  # dense samples in another dimension order
        x1, x2 = base1.transpose(1, 2), base2.transpose(1, 2)
    elif layout == "expanded_batch":  # one sample repeated (batch stride 0)
        x1, x2 = base1[:1].expand(6, 4, 35), base2
    elif layout == "feature_slice":  # samples not dense: copied, documented fallback
        x1, x2 = base1[..., ::2], base2[..., ::2]
    else:  # different dimension orders: copied
        x1, x2 = base1.transpose(1, 2), base2.transpose(1, 2).contiguous()
    _check(x1, x2, "l1")
    _check(x1, x2, "cosine")


def test_l1_ties_have_zero_gradient_like_the_reference():
    x1 = randn(4, 300, seed=11)
    x2 = randn(4, 300, seed=12)
    x2[0] = x1[0]  # a whole row of ties
    x2[1, ::7] = x1[1, ::7]  # ties spread over every tile of a row
    x2[2, 100] = x1[2, 100]  # one tie in one tile; the other tiles use the sign bits alone
    _check(x1, x2, "l1")
    _, g1, g2 = _value_and_grads(_fused, x1, x2, "l1", torch.ones(4, device=DEVICE))
    assert torch.count_nonzero(g1[0]) == 0
    assert torch.count_nonzero(g2[0]) == 0
    assert torch.count_nonzero(g1[1, ::7]) == 0
    assert torch.count_nonzero(g1[2]) == 299


def test_l1_backward_reads_the_mask_not_the_inputs():
    """Tie-robust: the L1 backward never reads x1 or x2, however many elements tie (inputs poisoned with NaN)."""
    from torch_modeseek.ops import _triton_launch

    x1 = torch.tanh(randn(3, 2, 40, 40, seed=17) * 4).to(torch.bfloat16)  # saturated: many exact +-1
    x2 = torch.tanh(randn(3, 2, 40, 40, seed=18) * 4).to(torch.bfloat16)
    x2[0, 0] = x1[0, 0]  # a whole channel of ties besides
    assert (x1 == x2).float().mean() > 0.2
    upstream = randn(3, seed=19) * 3.0
    saved = _triton_launch.paired_forward(x1, x2, "l1")
    poison1, poison2 = torch.full_like(x1, float("nan")), torch.full_like(x2, float("nan"))
    g1, g2 = _triton_launch.paired_backward(upstream, poison1, poison2, list(saved), "l1", True, True)
    _, w1, w2 = _value_and_grads(_reference.paired_distance, x1, x2, "l1", upstream)
    assert_close(g1, w1, torch.bfloat16)
    assert_close(g2, w2, torch.bfloat16)
    assert torch.equal(g1 == 0, x1 == x2)


def test_l1_mask_is_two_bits_per_element():
    from torch_modeseek.ops import _triton_launch

    x1, x2 = randn(3, 5000, seed=20), randn(3, 5000, seed=21)
    _, _, signs, live = _triton_launch.paired_forward(x1, x2, "l1")
    block = _triton_launch.params().paired_block
    words = -(-5000 // block) * block // 32
    assert signs.shape == live.shape == (3, words)
    assert signs.dtype == live.dtype == torch.int32


@pytest.mark.parametrize("kind", ["l2", "cosine"])
def test_degenerate_rows_match_the_reference(kind):
    x1 = randn(3, 40, seed=13)
    x2 = x1.clone() if kind == "l2" else randn(3, 40, seed=14)
    if kind == "cosine":
        x1[0] = 0.0  # a zero norm: clamped at 1e-8, its gradient term drops out
    _check(x1, x2, kind)


@pytest.mark.parametrize("need", ["x1", "x2"])
def test_one_input_without_gradient(need):
    x1, x2 = randn(3, 50, seed=15), randn(3, 50, seed=16)
    a = x1.clone().requires_grad_(need == "x1")
    b = x2.clone().requires_grad_(need == "x2")
    (grad,) = torch.autograd.grad(_fused(a, b, "l1").sum(), a if need == "x1" else b)
    (want,) = torch.autograd.grad(_reference.paired_distance(a, b, "l1").sum(), a if need == "x1" else b)
    assert_close(grad, want, torch.float32)
