"""Invariants of the mode-seeking term, checked with hypothesis."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import DISTANCES, FORMS, REDUCTIONS, randn, tau_for
from torch_modeseek import ModeSeekingLoss, mode_seeking_loss, mode_seeking_loss_all_pairs

seeds = st.integers(0, 2**31 - 1)
batches = st.integers(1, 6)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
forms = st.sampled_from(FORMS)
reductions = st.sampled_from(REDUCTIONS)
distances = st.sampled_from(DISTANCES)


def draw_batch(seed: int, b: int, shape: tuple[int, ...], dtype=torch.float64):
    return (
        randn(b, 4, seed=seed, dtype=dtype),
        randn(b, 4, seed=seed + 1, dtype=dtype),
        randn(b, *shape, seed=seed + 2, dtype=dtype),
        randn(b, *shape, seed=seed + 3, dtype=dtype),
    )


def close(a, b, rtol=1e-9):
    torch.testing.assert_close(a, b, rtol=rtol, atol=1e-9)


@given(seed=seeds, b=batches, shape=shapes, distance=distances, form=forms, reduction=reductions)
def test_swapping_the_two_pairs_changes_nothing(seed, b, shape, distance, form, reduction):
    z1, z2, x1, x2 = draw_batch(seed, b, shape)
    options = {"distance": distance, "latent_distance": distance, "form": form, "reduction": reduction}
    options["tau"] = tau_for(form)
    close(mode_seeking_loss(z1, z2, x1, x2, **options), mode_seeking_loss(z2, z1, x2, x1, **options))


@given(
    seed=seeds,
    b=batches,
    shape=shapes,
    distance=st.sampled_from(["l1", "l2"]),
    reduction=reductions,
    scale=st.floats(0.01, 100.0),
)
def test_ratio_scales_linearly_with_the_outputs(seed, b, shape, distance, reduction, scale):
    z1, z2, x1, x2 = draw_batch(seed, b, shape)
    options = {"distance": distance, "form": "negative", "reduction": reduction}
    close(
        mode_seeking_loss(z1, z2, scale * x1, scale * x2, **options),
        scale * mode_seeking_loss(z1, z2, x1, x2, **options),
    )


@given(
    seed=seeds,
    b=batches,
    shape=shapes,
    distance=st.sampled_from(["l1", "l2", "mse"]),
    form=forms,
    reduction=reductions,
    shift=st.floats(-10.0, 10.0),
)
def test_translation_invariance(seed, b, shape, distance, form, reduction, shift):
    z1, z2, x1, x2 = draw_batch(seed, b, shape)
    options = {"distance": distance, "latent_distance": distance, "form": form, "reduction": reduction}
    options["tau"] = tau_for(form)
    close(
        mode_seeking_loss(z1 + shift, z2 + shift, x1 + shift, x2 + shift, **options),
        mode_seeking_loss(z1, z2, x1, x2, **options),
        rtol=1e-7,
    )


@given(seed=seeds, shape=shapes, distance=distances, form=forms)
def test_batch_equals_sample_when_b_is_1(seed, shape, distance, form):
    z1, z2, x1, x2 = draw_batch(seed, 1, shape)
    options = {"distance": distance, "form": form, "tau": tau_for(form)}
    batch_loss = mode_seeking_loss(z1, z2, x1, x2, reduction="batch", **options)
    close(batch_loss, mode_seeking_loss(z1, z2, x1, x2, reduction="sample", **options))
    close(batch_loss.reshape(1), mode_seeking_loss(z1, z2, x1, x2, reduction="none", **options))


@given(seed=seeds, b=batches, shape=shapes, distance=distances, form=forms, reduction=reductions, detach=st.booleans())
def test_module_equals_functional(seed, b, shape, distance, form, reduction, detach):
    z1, z2, x1, x2 = draw_batch(seed, b, shape, dtype=torch.float32)
    options = {
        "distance": distance,
        "form": form,
        "reduction": reduction,
        "tau": tau_for(form),
        "detach_second": detach,
    }
    assert torch.equal(ModeSeekingLoss(**options)(z1, z2, x1, x2), mode_seeking_loss(z1, z2, x1, x2, **options))


@given(seed=seeds, b=batches, shape=shapes, distance=distances, form=forms, reduction=reductions)
def test_all_pairs_with_two_samples_equals_paired(seed, b, shape, distance, form, reduction):
    z1, z2, x1, x2 = draw_batch(seed, b, shape)
    options = {"distance": distance, "form": form, "reduction": reduction, "tau": tau_for(form)}
    paired = mode_seeking_loss(z1, z2, x1, x2, **options)
    all_pairs = mode_seeking_loss_all_pairs(torch.stack([z1, z2]), torch.stack([x1, x2]), **options)
    close(all_pairs, paired.reshape(b, 1) if reduction == "none" else paired)


@given(seed=seeds, b=batches, shape=shapes, reduction=reductions)
def test_reciprocal_is_in_0_and_1_over_eps_and_inverse_is_positive(seed, b, shape, reduction):
    z1, z2, x1, x2 = draw_batch(seed, b, shape)
    reciprocal = mode_seeking_loss(z1, z2, x1, x2, form="reciprocal", reduction=reduction)
    assert ((reciprocal > 0) & (reciprocal <= 1e5 * (1 + 1e-12))).all()
    assert (mode_seeking_loss(z1, z2, x1, x2, form="inverse", reduction=reduction) > 0).all()


@pytest.mark.parametrize("samples", [3, 5])
def test_all_pairs_is_invariant_to_sample_order(samples):
    z, x = randn(samples, 4, 8, seed=3), randn(samples, 4, 3, 4, 4, seed=4)
    perm = torch.randperm(samples, generator=torch.Generator().manual_seed(0))
    for reduction in ("batch", "sample"):
        close(
            mode_seeking_loss_all_pairs(z[perm], x[perm], reduction=reduction),
            mode_seeking_loss_all_pairs(z, x, reduction=reduction),
            rtol=1e-6,
        )
