"""The default loss is MSGAN's official formula."""

from __future__ import annotations

import pytest
import torch

from tests import reference
from tests.helpers import batch, np64, randn
from torch_modeseek import ModeSeekingLoss, mode_seeking_loss


@pytest.mark.parametrize(
    ("b", "latent", "out"),
    [(1, 8, (3, 4, 4)), (4, 100, (3, 32, 32)), (7, 8, (1, 13, 11)), (16, 16, (64,)), (3, 3, (3, 64, 48))],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_equals_official_formula(b, latent, out, seed):
    z1, z2, x1, x2 = batch(b, latent, out, seed=seed)
    expected = reference.official(*np64([z1, z2, x1, x2]))
    got = mode_seeking_loss(z1, z2, x1, x2)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert ModeSeekingLoss()(z1, z2, x1, x2).item() == pytest.approx(expected, rel=1e-6)


def test_default_equals_official_code_line_by_line():
    """The exact torch lines of the official code (float32) give the same value and the same gradient."""
    z = randn(8, 8, seed=3)
    x = randn(8, 3, 16, 16, seed=4).requires_grad_()
    z1, z2 = z.chunk(2)
    x1, x2 = x.chunk(2)
    lz = torch.mean(torch.abs(x2 - x1)) / torch.mean(torch.abs(z2 - z1))
    official = 1 / (lz + 1e-5)
    (grad_official,) = torch.autograd.grad(official, x)
    ours = mode_seeking_loss(z1, z2, x1, x2)
    (grad_ours,) = torch.autograd.grad(ours, x)
    torch.testing.assert_close(ours, official, rtol=1e-6, atol=0)
    torch.testing.assert_close(grad_ours, grad_official, rtol=1e-5, atol=1e-12)


def test_float64_inputs_stay_float64_and_match_to_1e12():
    z1, z2, x1, x2 = batch(5, 8, (3, 6, 6), dtype=torch.float64)
    got = mode_seeking_loss(z1, z2, x1, x2)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(reference.official(*np64([z1, z2, x1, x2])), rel=1e-12)
