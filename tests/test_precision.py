"""Half-precision inputs, degenerate pairs and the float32-or-wider arithmetic.

Documented tolerances (relative, against the float32 result of the unrounded inputs): float16 2e-3, bfloat16 1.6e-2.
They come from rounding the inputs alone (unit roundoff 4.9e-4 and 3.9e-3, a few roundings per distance): once rounded,
a half-precision input gives exactly the float32 result of its upcast values, since every operation runs in float32.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from tests.helpers import DISTANCES, FORMS, REDUCTIONS, batch, tau_for
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs

HALF_TOLERANCE = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("distance", "form", "reduction"), list(itertools.product(DISTANCES, FORMS, REDUCTIONS)))
def test_half_inputs_match_float32(dtype, distance, form, reduction):
    z1, z2, x1, x2 = batch(8, 16, (3, 8, 8), seed=21)
    options = {"distance": distance, "form": form, "reduction": reduction, "tau": tau_for(form)}
    reference = mode_seeking_loss(z1, z2, x1, x2, **options)
    half = mode_seeking_loss(*(t.to(dtype) for t in (z1, z2, x1, x2)), **options)
    assert half.dtype == torch.float32
    assert torch.isfinite(half).all()
    torch.testing.assert_close(half, reference, rtol=HALF_TOLERANCE[dtype], atol=1e-4)
    upcast = mode_seeking_loss(*(t.to(dtype).float() for t in (z1, z2, x1, x2)), **options)
    torch.testing.assert_close(half, upcast, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_identical_half_outputs_give_1_over_eps_not_inf(dtype):
    z1, z2, x1, _ = (t.to(dtype) for t in batch(4, 8, (3, 4, 4)))
    x = x1.clone().requires_grad_()
    loss = mode_seeking_loss(z1, z2, x, x1)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(1e5, rel=1e-6)
    assert torch.finfo(torch.float16).max < 1e5  # the float16 value would have been inf
    loss.backward()
    assert torch.isfinite(x.grad.float()).all()


@pytest.mark.parametrize(("distance", "form", "reduction"), list(itertools.product(DISTANCES, FORMS, REDUCTIONS)))
def test_identical_latents_give_finite_loss_and_gradients(distance, form, reduction):
    z1, _, x1, x2 = batch(4, 8, (3, 4, 4))
    x1.requires_grad_()
    z = z1.clone().requires_grad_()
    loss = mode_seeking_loss(
        z, z1, x1, x2, distance=distance, latent_distance=distance, form=form, reduction=reduction, tau=tau_for(form)
    )
    assert torch.isfinite(loss).all()
    loss.sum().backward()
    assert torch.isfinite(x1.grad).all()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize(("distance", "form"), list(itertools.product(DISTANCES, FORMS)))
def test_identical_latents_and_outputs_give_finite_loss_and_gradients(distance, form):
    z1, _, x1, _ = batch(4, 8, (3, 4, 4))
    x = x1.clone().requires_grad_()
    loss = mode_seeking_loss(
        z1,
        z1.clone(),
        x,
        x1,
        distance=distance,
        latent_distance=distance,
        form=form,
        tau=tau_for(form),
        reduction="sample",
    )
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(x.grad).all()


def test_all_pairs_half_inputs_finite():
    z, x = torch.randn(3, 4, 8).half(), torch.zeros(3, 4, 3, 8, 8).half()
    loss = mode_seeking_loss_all_pairs(z, x)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(1e5, rel=1e-6)


def test_mixed_dtypes_compute_in_the_widest():
    z1, z2, x1, x2 = batch(4, 8, (3, 4, 4))
    assert mode_seeking_loss(z1.double(), z2.double(), x1, x2).dtype == torch.float64
    assert mode_seeking_loss(z1.half(), z2.half(), x1.bfloat16(), x2.bfloat16()).dtype == torch.float32


def test_large_half_values_do_not_overflow():
    """Differences of float16 values near its maximum overflow in float16 but not in the float32 arithmetic."""
    z1, z2, _, _ = batch(2, 8, (4,))
    x1 = torch.full((2, 4), 60000.0, dtype=torch.float16)
    x2 = -x1
    loss = mode_seeking_loss(z1, z2, x1, x2, distance="mse", form="negative")
    assert torch.isfinite(loss)
    assert (x2 - x1).isinf().all()
