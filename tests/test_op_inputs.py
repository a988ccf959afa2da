"""The public paired op checks its inputs before any backend runs: shapes, devices, dtypes (finding 4 and 2)."""

from __future__ import annotations

import pytest
import torch

from torch_modeseek import ops


@pytest.mark.parametrize("backend", ["torch", "triton", "auto"])
def test_different_shapes_are_refused_before_any_backend(backend):
    # the kernel takes n from x1: x2 of (2, 12) was read as (2, 10), and a smaller x2 out of bounds
    with pytest.raises(ValueError, match=r"x1 and x2 must have the same shape; got x1 \(2, 10\) and x2 \(2, 12\)"):
        ops.paired_distance(torch.randn(2, 10), torch.randn(2, 12), backend=backend)
    with pytest.raises(ValueError, match=r"got x1 \(2, 12\) and x2 \(2, 10\)"):
        ops.paired_distance(torch.randn(2, 12), torch.randn(2, 10), backend=backend)


def test_non_floating_inputs_are_refused():
    with pytest.raises(TypeError, match=r"x2 must be a floating-point tensor; got dtype torch\.int64"):
        ops.paired_distance(torch.randn(2, 3), torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"x1 must be a torch\.Tensor; got list"):
        ops.paired_distance([1.0, 2.0], torch.randn(2))


def test_different_devices_are_refused():
    with pytest.raises(ValueError, match="x1 and x2 must be on the same device; got cpu and meta"):
        ops.paired_distance(torch.randn(2, 3), torch.empty(2, 3, device="meta"))


@pytest.mark.parametrize("kind", ["l1", "l2", "mse", "cosine"])
def test_mixed_dtypes_compute_in_the_promoted_dtype(kind):
    x1 = torch.randn(3, 7, requires_grad=True)
    x2 = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    d = ops.paired_distance(x1, x2, kind)
    assert d.dtype == torch.float64
    want = ops.paired_distance(x1.detach().double(), x2.detach(), kind)
    torch.testing.assert_close(d.detach(), want)
    d.sum().backward()
    assert x1.grad.dtype == torch.float32
    assert x2.grad.dtype == torch.float64
