"""The reference L1 distance (a custom autograd function for speed) is the plain formula, values and gradients."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from tests.helpers import randn as _randn
from torch_modeseek.ops import _reference


def _plain(a, b):
    return (b - a).abs().mean(dim=tuple(range(1, a.dim()))) if a.dim() > 1 else (b - a).abs()


@pytest.mark.parametrize("shape", [(5,), (4, 7), (3, 2, 5, 6)], ids=str)
def test_values_and_gradients_equal_the_plain_formula_bit_for_bit(shape):
    x1, x2 = _randn(*shape, seed=0), _randn(*shape, seed=1)
    x2.view(-1)[::3] = x1.view(-1)[::3]  # ties: gradient 0, as torch's sgn gives
    upstream = _randn(shape[0], seed=2) * 3
    got, want = [], []
    for fn, out in ((_reference.paired_distance, got), (lambda a, b, kind: _plain(a, b), want)):
        a, b = x1.clone().requires_grad_(), x2.clone().requires_grad_()
        d = fn(a, b, "l1")
        out += [d, *torch.autograd.grad(d, (a, b), upstream)]
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g, w)


@pytest.mark.parametrize("need", ["x1", "x2", "both"])
def test_only_the_gradients_asked_for(need):
    a = _randn(3, 8, seed=3).requires_grad_(need in ("x1", "both"))
    b = _randn(3, 8, seed=4).requires_grad_(need in ("x2", "both"))
    d = _reference.paired_distance(a, b, "l1")
    d.sum().backward()
    assert (a.grad is not None) == (need in ("x1", "both"))
    assert (b.grad is not None) == (need in ("x2", "both"))


def test_twice_differentiable_and_works_under_vmap():
    x1 = _randn(3, 2, 4, seed=5, dtype=torch.float64).requires_grad_()
    x2 = _randn(3, 2, 4, seed=6, dtype=torch.float64).requires_grad_()
    assert gradcheck(lambda a, b: _reference.paired_distance(a, b, "l1"), (x1, x2))
    assert gradgradcheck(lambda a, b: _reference.paired_distance(a, b, "l1"), (x1, x2))

    def total(a, b):
        return _reference.paired_distance(a, b, "l1").sum()

    per_sample = torch.func.vmap(torch.func.grad(total))(x1.unsqueeze(1), x2.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(per_sample, torch.autograd.grad(total(x1, x2), x1)[0])


def test_keeps_only_the_difference_between_forward_and_backward():
    """Like autograd of the plain formula: one full-size tensor (x2 - x1) survives the forward, nothing else."""
    x1, x2 = _randn(4, 3, 8, 8, seed=7).requires_grad_(), _randn(4, 3, 8, 8, seed=8).requires_grad_()
    d = _reference.paired_distance(x1, x2, "l1")
    (saved,) = d.grad_fn.saved_tensors
    assert torch.equal(saved, x2 - x1)


@pytest.mark.parametrize("dtypes", [(torch.bfloat16, torch.bfloat16), (torch.float16, torch.float32)], ids=str)
def test_half_inputs_compute_in_float32_and_get_gradients_in_their_own_dtype(dtypes):
    x1, x2 = _randn(3, 40, seed=9).to(dtypes[0]), _randn(3, 40, seed=10).to(dtypes[1])
    upstream = _randn(3, seed=11)
    a, b = x1.clone().requires_grad_(), x2.clone().requires_grad_()
    d = _reference.paired_distance(a, b, "l1")
    g1, g2 = torch.autograd.grad(d, (a, b), upstream)
    assert d.dtype == torch.float32
    assert (g1.dtype, g2.dtype) == dtypes
    a32, b32 = x1.float().requires_grad_(), x2.float().requires_grad_()
    w = _plain(a32, b32)
    w1, w2 = torch.autograd.grad(w, (a32, b32), upstream)
    assert torch.equal(d, w)
    assert torch.equal(g1, w1.to(dtypes[0]))
    assert torch.equal(g2, w2.to(dtypes[1]))
