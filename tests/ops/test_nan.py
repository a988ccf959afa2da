"""NaN in, NaN out: a NaN in one input gives a NaN distance in the kernels, as in the reference (never a finite one)."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import needs_kernels, randn
from torch_modeseek.ops import _reference

pytestmark = needs_kernels

KINDS = ("l1", "mse", "l2", "cosine")


@pytest.mark.parametrize("kind", KINDS)
def test_paired_distance_propagates_nan(kind):
    from torch_modeseek.ops import _triton

    x1, x2 = randn(3, 300, seed=0), randn(3, 300, seed=1)
    x1[1, 7] = float("nan")
    got, want = _triton.paired_distance(x1, x2, kind), _reference.paired_distance(x1, x2, kind)
    assert torch.equal(torch.isnan(got), torch.isnan(want))
    assert torch.isnan(got[1])
    torch.testing.assert_close(got[[0, 2]], want[[0, 2]].to(got.dtype))


@pytest.mark.parametrize("kind", KINDS)
def test_pairwise_distance_propagates_nan(kind):
    from torch_modeseek.ops import _triton

    x = randn(4, 2, 300, seed=2)
    x[1, 0, 3] = float("nan")  # sample 1 of condition 0
    got, want = _triton.pairwise_distance(x, kind), _reference.pairwise_distance(x, kind)
    off_diagonal = ~torch.eye(4, dtype=torch.bool)
    assert torch.isnan(got[0, 1][off_diagonal[1]]).all()
    assert torch.equal(torch.isnan(got) & off_diagonal, torch.isnan(want) & off_diagonal)
