"""The fused ops with mixed input dtypes compute in the promoted dtype, as the reference does (finding 2)."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import needs_kernels, randn
from torch_modeseek import ops

pytestmark = needs_kernels


@pytest.mark.parametrize("kind", ["l1", "l2", "mse", "cosine"])
def test_float32_with_float64_gives_float64_like_the_reference(kernels, kind):
    x1 = randn(3, 300, seed=0)
    x2 = randn(3, 300, seed=1, dtype=torch.float64)
    got = ops.paired_distance(x1, x2, kind, backend="triton")
    want = ops.paired_distance(x1, x2, kind, backend="torch")
    assert got.dtype == want.dtype == torch.float64
    torch.testing.assert_close(got, want)


def test_different_shapes_never_reach_the_kernels(kernels):
    with pytest.raises(ValueError, match="x1 and x2 must have the same shape"):
        ops.paired_distance(randn(2, 12, seed=0), randn(2, 10, seed=1), backend="triton")
