"""Large finite inputs with "l2" and "mse": no overflow to inf or NaN where the true value is finite.

Squaring 1e30 overflows float32 (largest finite value 3.4e38). The squared distances scale each row by a power of two
first, so a float32 result equals the float64 computation of the same inputs, and gradients stay finite. "mse" of
1e30-scale differences is truly beyond float32 (about 1e60): it is inf there, never NaN, and its gradient finite.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from tests.helpers import randn
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs, ops
from torch_modeseek.ops import _reference

RTOL = 1e-5


def large(*shape: int, seed: int, scale: float = 1e30) -> torch.Tensor:
    """Float32 values of magnitude ``scale``."""
    return randn(*shape, seed=seed) * scale


def sparse(*shape: int, seed: int, spike: float = 1e19) -> torch.Tensor:
    """Unit noise with one element per row (along the first dimension) of ``+-spike``, the sign alternating over the
    rows and with the seed: the square of a difference of two spikes (4e38) overflows float32, the mean square over
    the 16 or more elements of a sample (at most 2.5e37) does not."""
    x = randn(*shape, seed=seed)
    signs = torch.tensor([(-1.0) ** (row + seed) for row in range(shape[0])])
    x.view(shape[0], -1)[:, 1] = spike * signs
    return x


def assert_matches_float64(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.dtype == torch.float32
    assert torch.isfinite(got).all(), got
    torch.testing.assert_close(got.double(), want, rtol=RTOL, atol=0)


def assert_grad_matches_float64(got: torch.Tensor, want: torch.Tensor) -> None:
    """Finite, and close to the float64 gradient relative to its largest element."""
    assert torch.isfinite(got).all()
    scale = want.abs().max().item()
    torch.testing.assert_close(got.double(), want, rtol=RTOL, atol=RTOL * scale)


# (kind, make): the L2 of 1e30-scale values, and the MSE (and L2) of differences whose squares overflow while their
# mean does not.
CASES = [("l2", large), ("mse", sparse), ("l2", sparse)]
IDS = ["l2-1e30", "mse-spikes-1e19", "l2-spikes-1e19"]


def _value_and_grad(fn, *inputs):
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return out, torch.autograd.grad(out.sum(), leaves)


@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_paired_distance(kind, make):
    x1, x2 = make(3, 2, 33, seed=1), make(3, 2, 33, seed=2)
    got, grads = _value_and_grad(lambda a, b: ops.paired_distance(a, b, kind), x1, x2)
    want, wants = _value_and_grad(lambda a, b: ops.paired_distance(a, b, kind), x1.double(), x2.double())
    assert_matches_float64(got, want)
    for g, w in zip(grads, wants, strict=True):
        assert_grad_matches_float64(g, w)


@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_pairwise_distance(kind, make):
    x = make(4, 3, 2, 9, seed=3)
    got, (grad,) = _value_and_grad(lambda t: ops.pairwise_distance(t, kind), x)
    want, (want_grad,) = _value_and_grad(lambda t: ops.pairwise_distance(t, kind), x.double())
    assert_matches_float64(got, want)
    assert_grad_matches_float64(grad, want_grad)


@pytest.mark.parametrize("reduction", ["batch", "sample", "none"])
@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_loss(kind, make, reduction):
    z1, z2 = make(4, 16, seed=4), make(4, 16, seed=5)
    x1, x2 = make(4, 3, 8, seed=6), make(4, 3, 8, seed=7)
    options = {"distance": kind, "latent_distance": kind, "form": "negative", "reduction": reduction}

    def loss(*t):
        return mode_seeking_loss(*t, **options)

    got, grads = _value_and_grad(loss, z1, z2, x1, x2)
    want, wants = _value_and_grad(loss, *(t.double() for t in (z1, z2, x1, x2)))
    assert_matches_float64(got, want)
    for g, w in zip(grads, wants, strict=True):
        assert_grad_matches_float64(g, w)


@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_all_pairs_loss(kind, make):
    z, x = make(3, 4, 16, seed=8), make(3, 4, 2, 8, seed=9)

    def loss(*t):
        return mode_seeking_loss_all_pairs(*t, distance=kind, latent_distance=kind, form="inverse")

    got, grads = _value_and_grad(loss, z, x)
    want, wants = _value_and_grad(loss, z.double(), x.double())
    assert_matches_float64(got, want)
    for g, w in zip(grads, wants, strict=True):
        assert_grad_matches_float64(g, w)


def test_mse_beyond_float32_is_inf_never_nan_and_its_gradient_is_finite():
    x1, x2 = large(3, 40, seed=10), large(3, 40, seed=11)  # mean squares about 2e60: beyond float32
    got, grads = _value_and_grad(lambda a, b: ops.paired_distance(a, b, "mse"), x1, x2)
    want, wants = _value_and_grad(lambda a, b: ops.paired_distance(a, b, "mse"), x1.double(), x2.double())
    assert (want > torch.finfo(torch.float32).max).all()
    assert torch.isinf(got).all()
    for g, w in zip(grads, wants, strict=True):
        assert_grad_matches_float64(g, w)  # 2 (x2 - x1) / D: finite whatever the value


def test_mse_is_inf_only_beyond_float32():
    """Just below float32's largest value the MSE is finite and exact, even though each square overflows."""
    x1 = torch.zeros(1, 4)
    x2 = torch.full((1, 4), 1.8e19)  # squares 3.24e38 each: the sum overflows, the mean does not
    got = ops.paired_distance(x1, x2, "mse")
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), torch.tensor([1.8e19**2], dtype=torch.float64), rtol=RTOL, atol=0)
    assert torch.isinf(ops.paired_distance(x1, x2 * 2.0, "mse")).all()


@pytest.mark.parametrize(("kind", "spike"), [("l2", 1e200), ("mse", 5e154)])
def test_float64_inputs_whose_squares_overflow_float64(kind, spike):
    x1 = randn(3, 100, seed=12, dtype=torch.float64)
    x2 = randn(3, 100, seed=13, dtype=torch.float64)
    x2[:, 1] = spike  # its square overflows float64; for "mse" the mean square (2.5e307) does not
    got = ops.paired_distance(x1, x2, kind)
    scale = 2.0**-600  # exact: the same distance computed on inputs whose squares do not overflow
    want = ops.paired_distance(x1 * scale, x2 * scale, kind) / scale
    want = want if kind == "l2" else want / scale
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["l2", "mse"])
def test_ordinary_inputs_give_the_unscaled_formula_bit_for_bit(kind):
    """The row scaling is by a power of two, exact: where nothing overflows the result is the plain formula's."""
    x1, x2 = randn(5, 3, 7, seed=14), randn(5, 3, 7, seed=15) * 100
    mse = ((x2 - x1) ** 2).mean(dim=(1, 2))
    plain = mse if kind == "mse" else mse.clamp_min(torch.finfo(torch.float32).tiny).sqrt()
    assert torch.equal(ops.paired_distance(x1, x2, kind), plain)


@pytest.mark.parametrize("kind", ["l2", "mse"])
def test_reference_is_twice_differentiable_and_works_under_vmap(kind):
    x1 = randn(3, 2, 4, seed=16, dtype=torch.float64).requires_grad_()
    x2 = randn(3, 2, 4, seed=17, dtype=torch.float64).requires_grad_()
    assert gradcheck(lambda a, b: _reference.paired_distance(a, b, kind), (x1, x2))
    assert gradgradcheck(lambda a, b: _reference.paired_distance(a, b, kind), (x1, x2))

    def total(a, b):
        return _reference.paired_distance(a, b, kind).sum()

    per_sample = torch.func.vmap(torch.func.grad(total))(x1.unsqueeze(1), x2.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(per_sample, torch.autograd.grad(total(x1, x2), x1)[0])
