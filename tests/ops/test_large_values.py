"""The fused kernels on large finite inputs: "l2" and "mse" without overflow, as the float64 computation.

The kernels keep a second, scaled sum of squares and use it where the plain one overflowed (see
``torch_modeseek.ops._triton_kernels``). Shapes cover one program per row (or condition) and rows split across
programs with a finishing kernel; every buffer is canary-checked.
"""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import DEVICE, needs_kernels, randn, run_twice_with_canaries
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs
from torch_modeseek.ops import _reference

pytestmark = [
    needs_kernels,
    # The interpreter runs the kernels in NumPy, which warns when the plain sum of squares overflows (as it should).
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
]

RTOL = 1e-5


def _spikes(*shape: int, seed: int, spike: float = 1e19) -> torch.Tensor:
    """Unit noise with one element per row of ``+-spike`` (sign alternating over rows and with the seed): squares of
    spike differences (4e38) overflow float32, the mean squares do not."""
    x = randn(*shape, seed=seed)
    signs = torch.tensor([(-1.0) ** (row + seed) for row in range(shape[0])], device=DEVICE)
    x.view(shape[0], -1)[:, 1] = spike * signs
    return x


def _large(*shape: int, seed: int) -> torch.Tensor:
    return randn(*shape, seed=seed) * 1e30


CASES = [("l2", _large), ("mse", _spikes), ("l2", _spikes)]
IDS = ["l2-1e30", "mse-spikes", "l2-spikes"]


def _grads(fn, inputs, upstream):
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return (out, *torch.autograd.grad(out, leaves, upstream))


def _compare(got, want):
    """Values: float64's within RTOL, finite. Gradients: finite, within RTOL of the largest element."""
    value, *grads = got
    want_value, *want_grads = want
    assert torch.isfinite(value).all(), value
    torch.testing.assert_close(value.double(), want_value, rtol=RTOL, atol=0)
    for g, w in zip(grads, want_grads, strict=True):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g.double(), w, rtol=RTOL, atol=RTOL * w.abs().max().item())


# (B, ...) paired shapes: one program per row (B=9 over 3 tiles); rows split across programs (B=2, 5 tiles).
@pytest.mark.parametrize("shape", [(9, 130), (2, 3, 100)], ids=str)
@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_paired(kind, make, shape):
    from torch_modeseek.ops import _triton

    x1, x2 = make(*shape, seed=1), make(*shape, seed=2)
    upstream = torch.rand(shape[0], generator=torch.Generator().manual_seed(3)).to(DEVICE) + 0.5
    got = run_twice_with_canaries(lambda: _grads(lambda a, b: _triton.paired_distance(a, b, kind), (x1, x2), upstream))
    want = _grads(lambda a, b: _reference.paired_distance(a, b, kind), (x1.double(), x2.double()), upstream.double())
    _compare(got, want)


# (S, B, ...) all-pairs shapes: one chunk per condition (B=9); several chunks and the finishing kernel (B=2).
@pytest.mark.parametrize("shape", [(5, 9, 13), (3, 2, 100)], ids=str)
@pytest.mark.parametrize(("kind", "make"), CASES, ids=IDS)
def test_pairwise(kind, make, shape):
    from torch_modeseek.ops import _triton

    x = make(*shape, seed=4)
    upstream = torch.rand(shape[1], shape[0], shape[0], generator=torch.Generator().manual_seed(5)).to(DEVICE)
    got = run_twice_with_canaries(lambda: _grads(lambda t: _triton.pairwise_distance(t, kind), (x,), upstream))
    want = _grads(lambda t: _reference.pairwise_distance(t, kind), (x.double(),), upstream.double())
    _compare(got, want)


@pytest.mark.parametrize("all_pairs", [False, True], ids=["paired", "all_pairs"])
def test_mse_beyond_float32_is_inf_never_nan_with_the_exact_finite_gradient(all_pairs):
    from torch_modeseek.ops import _triton

    def fused(t):
        return _triton.pairwise_distance(t, "mse") if all_pairs else _triton.paired_distance(t[0], t[1], "mse")

    def reference(t):
        return _reference.pairwise_distance(t, "mse") if all_pairs else _reference.paired_distance(t[0], t[1], "mse")

    x = _large(3, 2, 100, seed=6)  # mean squares about 1e60
    value = fused(x)
    off_diagonal = value[:, 0, 1:] if all_pairs else value
    assert torch.isinf(off_diagonal).all()
    assert not torch.isnan(value).any()
    _, grad = _grads(fused, (x,), torch.ones_like(value))
    _, want = _grads(reference, (x.double(),), torch.ones_like(value, dtype=torch.float64))
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad.double(), want, rtol=RTOL, atol=RTOL * want.abs().max().item())


@pytest.mark.parametrize("kind", ["l2", "mse"])
def test_float64_inputs_whose_squares_overflow_float64(kind):
    from torch_modeseek.ops import _triton

    x1, x2 = randn(3, 100, seed=7, dtype=torch.float64), randn(3, 100, seed=8, dtype=torch.float64)
    x2[:, 1] = 1e200 if kind == "l2" else 5e154  # squares beyond float64; the MSE (2.5e307) is not
    got = _triton.paired_distance(x1, x2, kind)
    want = _reference.paired_distance(x1, x2, kind)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    x = torch.stack([x1, x2])
    torch.testing.assert_close(_triton.pairwise_distance(x, kind)[:, 0, 1], want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["l2", "mse"])
def test_losses_through_the_dispatcher(kernels, kind):
    make = _large if kind == "l2" else _spikes
    z1, z2, x1, x2 = make(4, 16, seed=9), make(4, 16, seed=10), make(4, 3, 40, seed=11), make(4, 3, 40, seed=12)
    options = {"distance": kind, "latent_distance": kind, "form": "negative"}
    fused = mode_seeking_loss(z1, z2, x1, x2, backend="triton", **options)
    want = mode_seeking_loss(*(t.double() for t in (z1, z2, x1, x2)), backend="torch", **options)
    assert torch.isfinite(fused)
    torch.testing.assert_close(fused.double(), want, rtol=RTOL, atol=0)
    z, x = make(3, 4, 16, seed=13), make(3, 4, 2, 20, seed=14)
    fused = mode_seeking_loss_all_pairs(z, x, backend="triton", **options)
    want = mode_seeking_loss_all_pairs(z.double(), x.double(), backend="torch", **options)
    assert torch.isfinite(fused)
    torch.testing.assert_close(fused.double(), want, rtol=RTOL, atol=0)


@pytest.mark.parametrize("kind", ["l2", "mse"])
def test_gradients_of_values_large_next_to_their_differences(kind):
    """The gradients are formed from the differences: ``p x1 - p x2`` would lose them to cancellation (values near
    1000 with differences near 0.01 lose about 3 digits that way)."""
    from torch_modeseek.ops import _triton

    x1, x2 = 1000.0 + 0.01 * randn(3, 2, 100, seed=15), 1000.0 + 0.01 * randn(3, 2, 100, seed=16)
    upstream = torch.ones(3, device=DEVICE)
    got = _grads(lambda a, b: _triton.paired_distance(a, b, kind), (x1, x2), upstream)
    want = _grads(lambda a, b: _reference.paired_distance(a, b, kind), (x1.double(), x2.double()), upstream.double())
    _compare(got, want)
    x = torch.stack([x1[0], x2[0], x1[1]])
    upstream = torch.ones(2, 3, 3, device=DEVICE)
    got = _grads(lambda t: _triton.pairwise_distance(t, kind), (x,), upstream)
    want = _grads(lambda t: _reference.pairwise_distance(t, kind), (x.double(),), upstream.double())
    _compare(got, want)
