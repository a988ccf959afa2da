"""torch.compile(fullgraph=True) traces the loss through the registered custom ops, forward and backward."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import needs_kernels, randn
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs

pytestmark = needs_kernels


def _recording_backend():
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    graphs = []

    def record(gm, _inputs):
        graphs.append(str(gm.code))
        return make_boxed_func(gm.forward)

    return aot_autograd(fw_compiler=record, bw_compiler=record), graphs


def _inputs(all_pairs: bool):
    if all_pairs:
        return randn(3, 2, 4, seed=0), randn(3, 2, 3, 7, seed=1).requires_grad_()
    return (randn(2, 4, seed=0), randn(2, 4, seed=1), randn(2, 3, 25, seed=2).requires_grad_(), randn(2, 3, 25, seed=3))


@pytest.mark.parametrize("all_pairs", [False, True], ids=["paired", "all_pairs"])
def test_fullgraph_compile_uses_the_custom_ops(kernels, all_pairs):
    loss_fn = mode_seeking_loss_all_pairs if all_pairs else mode_seeking_loss
    args = _inputs(all_pairs)
    x = args[1] if all_pairs else args[2]
    backend, graphs = _recording_backend()
    compiled = torch.compile(lambda *a: loss_fn(*a, backend="triton"), fullgraph=True, backend=backend)
    loss = compiled(*args)
    (grad,) = torch.autograd.grad(loss, x)
    ref = loss_fn(*args, backend="torch")
    (ref_grad,) = torch.autograd.grad(ref, x)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)
    op = "pairwise_distance" if all_pairs else "paired_distance"
    forward, backward = graphs
    assert f"torch_modeseek.{op}.default" in forward
    assert f"torch_modeseek.{op}_backward.default" in backward


@pytest.mark.cuda
def test_inductor_compile_on_cuda(kernels):
    z1, z2 = randn(8, 16, seed=0), randn(8, 16, seed=1)
    x1, x2 = randn(8, 3, 64, 64, seed=2).requires_grad_(), randn(8, 3, 64, 64, seed=3)
    compiled = torch.compile(lambda *a: mode_seeking_loss(*a, backend="triton"), fullgraph=True)
    loss = compiled(z1, z2, x1, x2)
    (grad,) = torch.autograd.grad(loss, x1)
    ref = mode_seeking_loss(z1, z2, x1, x2, backend="torch")
    (ref_grad,) = torch.autograd.grad(ref, x1)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)
