"""Every option of the paired and all-pairs losses against the float64 reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests import reference
from tests.helpers import DISTANCES, FORMS, REDUCTIONS, batch, np64, randn, tau_for
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs

GRID = list(itertools.product(DISTANCES, FORMS, REDUCTIONS))


def assert_matches(got: torch.Tensor, expected, rtol: float = 2e-5) -> None:
    np.testing.assert_allclose(
        got.detach().double().numpy(), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=1e-6
    )


@pytest.mark.parametrize(("distance", "form", "reduction"), GRID)
def test_paired_option_grid(distance, form, reduction):
    z1, z2, x1, x2 = batch(6, 8, (3, 5, 7), seed=11)
    options = {"distance": distance, "form": form, "reduction": reduction, "tau": tau_for(form)}
    got = mode_seeking_loss(z1, z2, x1, x2, **options)
    assert got.shape == ((6,) if reduction == "none" else ())
    assert_matches(got, reference.loss(*np64([z1, z2, x1, x2]), **options))


@pytest.mark.parametrize("latent_distance", DISTANCES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_latent_distance(latent_distance, reduction):
    z1, z2, x1, x2 = batch(5, 16, (2, 9), seed=5)
    options = {"latent_distance": latent_distance, "reduction": reduction}
    got = mode_seeking_loss(z1, z2, x1, x2, **options)
    assert_matches(got, reference.loss(*np64([z1, z2, x1, x2]), **options))


@pytest.mark.parametrize("eps", [1e-8, 1e-3, 0.5])
@pytest.mark.parametrize("form", FORMS)
def test_eps(eps, form):
    z1, z2, x1, x2 = batch(3, 4, (10,), seed=9)
    options = {"eps": eps, "form": form, "tau": tau_for(form)}
    assert_matches(mode_seeking_loss(z1, z2, x1, x2, **options), reference.loss(*np64([z1, z2, x1, x2]), **options))


@pytest.mark.parametrize("tau", [0.1, 1.0, 100.0])
def test_clamped_ceiling(tau):
    z1, z2, x1, x2 = batch(4, 8, (3, 4, 4), seed=2)
    got = mode_seeking_loss(z1, z2, x1, x2, form="clamped", tau=tau, reduction="none")
    assert (got >= -tau - 1e-6).all()
    assert_matches(got, reference.loss(*np64([z1, z2, x1, x2]), form="clamped", tau=tau, reduction="none"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance", DISTANCES)
def test_feature_sequences_average_layers(reduction, distance):
    z1, z2 = randn(4, 8, seed=0), randn(4, 8, seed=1)
    x1 = [randn(4, 16, 8, 8, seed=2), randn(4, 32, 4, 4, seed=3), randn(4, 10, seed=4)]
    x2 = [randn(4, 16, 8, 8, seed=5), randn(4, 32, 4, 4, seed=6), randn(4, 10, seed=7)]
    options = {"distance": distance, "reduction": reduction}
    got = mode_seeking_loss(z1, z2, x1, x2, **options)
    assert_matches(got, reference.loss(*np64([z1, z2]), np64(x1), np64(x2), **options))
    assert torch.equal(got, mode_seeking_loss(z1, z2, tuple(x1), tuple(x2), **options))


def test_single_element_sequence_equals_tensor():
    z1, z2, x1, x2 = batch(3, 8, (3, 4, 4))
    torch.testing.assert_close(mode_seeking_loss(z1, z2, [x1], [x2]), mode_seeking_loss(z1, z2, x1, x2))


def test_callable_distance_equals_builtin():
    z1, z2, x1, x2 = batch(4, 8, (3, 6, 6), seed=4)

    def my_l1(a, b):
        return (a - b).abs().flatten(1).mean(1)

    got = mode_seeking_loss(z1, z2, x1, x2, distance=my_l1, latent_distance=my_l1, reduction="sample")
    torch.testing.assert_close(got, mode_seeking_loss(z1, z2, x1, x2, reduction="sample"))


def test_callable_distance_receives_original_dtype_and_result_is_upcast():
    seen = []

    def half_distance(a, b):
        seen.append(a.dtype)
        return (a - b).abs().flatten(1).mean(1)

    z1, z2, x1, x2 = batch(4, 8, (3, 6, 6))
    got = mode_seeking_loss(z1, z2, x1.half(), x2.half(), distance=half_distance)
    assert seen == [torch.float16]
    assert got.dtype == torch.float32
    assert torch.isfinite(got)


@pytest.mark.parametrize("all_pairs", [False, True])
def test_detach_second_stops_gradient_through_second_sample(all_pairs):
    z1, z2, x1, x2 = batch(4, 8, (3, 4, 4))
    x1.requires_grad_()
    x2.requires_grad_()
    if all_pairs:
        x = torch.stack([x1, x2])
        loss = mode_seeking_loss_all_pairs(torch.stack([z1, z2]), x, detach_second=True)
        loss.backward()
        assert x1.grad is not None
        assert x1.grad.abs().sum() > 0
        assert x2.grad is not None
        assert torch.count_nonzero(x2.grad) == 0
        return
    value = mode_seeking_loss(z1, z2, x1, x2, detach_second=True)
    value.backward()
    assert x2.grad is None
    x1_only = mode_seeking_loss(z1, z2, x1.detach().requires_grad_(), x2.detach())
    torch.testing.assert_close(value, x1_only)


@pytest.mark.parametrize(("distance", "form", "reduction"), GRID)
def test_all_pairs_option_grid(distance, form, reduction):
    z, x = randn(4, 3, 8, seed=1), randn(4, 3, 2, 5, 5, seed=2)
    options = {"distance": distance, "form": form, "reduction": reduction, "tau": tau_for(form)}
    got = mode_seeking_loss_all_pairs(z, x, **options)
    assert got.shape == ((3, 6) if reduction == "none" else ())
    assert_matches(got, reference.loss_all_pairs(np64(z), np64(x), **options))


def test_all_pairs_feature_sequence():
    z = randn(3, 2, 8, seed=1)
    x = [randn(3, 2, 4, 4, seed=2), randn(3, 2, 7, seed=3)]
    got = mode_seeking_loss_all_pairs(z, x, reduction="none")
    assert_matches(got, reference.loss_all_pairs(np64(z), np64(x), reduction="none"))


def test_all_pairs_callable_distance_and_pair_order():
    z, x = randn(3, 2, 8, seed=1), randn(3, 2, 6, seed=2)

    def my_l1(a, b):
        return (a - b).abs().mean(1)

    got = mode_seeking_loss_all_pairs(z, x, distance=my_l1, reduction="none", form="negative")
    rows, cols = torch.triu_indices(3, 3, 1)
    expected = torch.stack(
        [-my_l1(x[i], x[j]) / (z[i] - z[j]).abs().mean(1) for i, j in zip(rows.tolist(), cols.tolist(), strict=False)],
        dim=1,
    )
    torch.testing.assert_close(got, expected)
