"""NaN in, NaN out in the reference: a diverging generator's NaN reaches the loss, never a finite distance."""

from __future__ import annotations

import pytest
import torch

from torch_modeseek import mode_seeking_loss, ops

KINDS = ("l1", "mse", "l2", "cosine")


@pytest.mark.parametrize("kind", KINDS)
def test_paired_and_pairwise_distances_propagate_nan(kind):
    x1, x2 = torch.randn(3, 300), torch.randn(3, 300)
    x1[1, 7] = float("nan")
    d = ops.paired_distance(x1, x2, kind, backend="torch")
    assert torch.isnan(d).tolist() == [False, True, False]
    x = torch.randn(4, 2, 300)
    x[1, 0, 3] = float("nan")
    p = ops.pairwise_distance(x, kind, backend="torch")
    assert torch.isnan(p[0, 1, [0, 2, 3]]).all()
    assert not torch.isnan(p[1]).any()


@pytest.mark.parametrize("kind", KINDS)
def test_the_loss_of_a_nan_output_is_nan(kind):
    z1, z2 = torch.randn(2, 4, 8)
    x1, x2 = torch.randn(2, 4, 3, 5, 5)
    x1[2, 0, 1, 1] = float("nan")
    assert torch.isnan(mode_seeking_loss(z1, z2, x1, x2, distance=kind, backend="torch"))
