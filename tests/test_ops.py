"""The distance ops against the float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests import reference
from tests.helpers import DISTANCES, np64, randn
from torch_modeseek import ops


@pytest.mark.parametrize("kind", DISTANCES)
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 5, 4)])
def test_paired_distance(kind, shape):
    x1, x2 = randn(4, *shape, seed=1), randn(4, *shape, seed=2)
    got = ops.paired_distance(x1, x2, kind)
    assert got.shape == (4,)
    np.testing.assert_allclose(got.double().numpy(), reference.per_sample(np64(x1), np64(x2), kind), rtol=1e-5)


def test_one_dimensional_inputs_are_batches_of_scalars():
    x1, x2 = torch.tensor([0.0, 1.0]), torch.tensor([2.0, -1.0])
    torch.testing.assert_close(ops.paired_distance(x1, x2, "l1"), torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(ops.paired_distance(x1, x2, "mse"), torch.tensor([4.0, 4.0]))


@pytest.mark.parametrize("kind", DISTANCES)
def test_pairwise_distance_is_symmetric_with_zero_diagonal(kind):
    x = randn(4, 3, 2, 5, seed=3)
    d = ops.pairwise_distance(x, kind)
    assert d.shape == (3, 4, 4)
    torch.testing.assert_close(d, d.transpose(1, 2))
    torch.testing.assert_close(torch.diagonal(d, dim1=1, dim2=2), torch.zeros(3, 4))
    for b in range(3):
        for i in range(4):
            for j in range(4):
                if i != j:
                    assert d[b, i, j].item() == pytest.approx(
                        reference.pair_distance(np64(x[i, b]), np64(x[j, b]), kind), rel=1e-5, abs=1e-6
                    )


def test_unknown_kind_and_backend():
    x = randn(2, 3)
    with pytest.raises(ValueError, match=r"kind must be one of 'l1', 'l2', 'mse', 'cosine'; got 'l0'"):
        ops.paired_distance(x, x, "l0")
    with pytest.raises(ValueError, match=r"backend must be one of 'auto', 'torch', 'triton'; got 'cuda'"):
        ops.pairwise_distance(x[None].expand(2, 2, 3), "l1", backend="cuda")


def test_triton_backend_on_cpu_tensors_fails_loudly():
    x = randn(2, 3)
    with pytest.raises(RuntimeError, match=r"backend='triton' cannot run: the tensors are on cpu, .*CUDA"):
        ops.paired_distance(x, x, "l1", backend="triton")
    with pytest.raises(RuntimeError, match=r"backend='triton' cannot run: the tensors are on cpu"):
        ops.pairwise_distance(x[None].expand(2, 2, 3), "l1", backend="triton")
