"""Gradients in float64 against finite differences, for every form x distance x reduction."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.autograd import gradcheck

from tests.helpers import DISTANCES, FORMS, REDUCTIONS, randn
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs


def inputs(seed: int, lead: tuple[int, ...]):
    z1 = randn(*lead, 5, seed=seed, dtype=torch.float64)
    z2 = randn(*lead, 5, seed=seed + 1, dtype=torch.float64)
    x = randn(*lead, 2, 3, 3, seed=seed + 2, dtype=torch.float64)
    y = randn(*lead, 2, 3, 3, seed=seed + 3, dtype=torch.float64)
    return [t.requires_grad_() for t in (z1, z2, x, y)]


def tau_between(form: str, distance: str, reduction: str, z1, z2, x1, x2) -> float | None:
    """A ceiling away from the clamp's kink: between two per-pair ratios (some clamped, some not), or above the batch
    ratio, so that the gradient check sees a non-zero gradient."""
    if form != "clamped":
        return None
    with torch.no_grad():
        options = {"distance": distance, "latent_distance": distance, "form": "negative"}
        if reduction == "batch":
            return -2.0 * mode_seeking_loss(z1, z2, x1, x2, **options).item()
        ratios = (-mode_seeking_loss(z1, z2, x1, x2, reduction="none", **options)).sort().values
        return 0.5 * (ratios[0] + ratios[1]).item()


@pytest.mark.parametrize(("distance", "form", "reduction"), list(itertools.product(DISTANCES, FORMS, REDUCTIONS)))
def test_gradcheck_paired(distance, form, reduction):
    z1, z2, x1, x2 = inputs(0, (3,))
    tau = tau_between(form, distance, reduction, z1, z2, x1, x2)

    def fn(a, b, c, d):
        return mode_seeking_loss(
            a, b, c, d, distance=distance, latent_distance=distance, form=form, reduction=reduction, tau=tau
        )

    assert gradcheck(fn, (z1, z2, x1, x2), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("form", ["reciprocal", "negative", "inverse"])
def test_gradcheck_clamped_below_ceiling_matches_negative(form):
    z1, z2, x1, x2 = inputs(1, (3,))

    def fn(a, b, c, d):
        return mode_seeking_loss(a, b, c, d, form=form, reduction="sample")

    assert gradcheck(fn, (z1, z2, x1, x2), eps=1e-6, atol=1e-5, rtol=1e-4)
    clamped = mode_seeking_loss(z1, z2, x1, x2, form="clamped", tau=1e6, reduction="sample")
    negative = mode_seeking_loss(z1, z2, x1, x2, form="negative", reduction="sample")
    torch.testing.assert_close(torch.autograd.grad(clamped, x1)[0], torch.autograd.grad(negative, x1)[0])


@pytest.mark.parametrize(("distance", "reduction"), list(itertools.product(DISTANCES, REDUCTIONS)))
def test_gradcheck_all_pairs(distance, reduction):
    z, _, x, _ = inputs(2, (3, 2))

    def fn(a, b):
        return mode_seeking_loss_all_pairs(a, b, distance=distance, reduction=reduction)

    assert gradcheck(fn, (z, x), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradcheck_feature_sequence():
    z1, z2, x1, x2 = inputs(3, (2,))
    f1, f2 = randn(2, 7, seed=9, dtype=torch.float64).requires_grad_(), randn(2, 7, seed=10, dtype=torch.float64)

    def fn(a, b, c, d, e):
        return mode_seeking_loss(a, b, [c, e], [d, f2], distance="l2", reduction="sample")

    assert gradcheck(fn, (z1, z2, x1, x2, f1), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_upstream_gradient_not_one():
    z1, z2, x1, x2 = inputs(4, (3,))
    per_pair = mode_seeking_loss(z1, z2, x1, x2, reduction="none")
    upstream = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    (got,) = torch.autograd.grad(per_pair, x1, upstream, retain_graph=True)
    expected = sum(upstream[i] * torch.autograd.grad(per_pair[i], x1, retain_graph=True)[0] for i in range(3))
    torch.testing.assert_close(got, expected)
    assert gradcheck(
        lambda a: mode_seeking_loss(z1, z2, a, x2, reduction="none") * upstream, (x1,), eps=1e-6, atol=1e-5, rtol=1e-4
    )
