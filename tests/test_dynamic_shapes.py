"""torch.compile(fullgraph=True, dynamic=True): the option checks trace with symbolic sizes and floats."""

from __future__ import annotations

import pytest
import torch

from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs


@pytest.mark.parametrize("all_pairs", [False, True], ids=["paired", "all_pairs"])
def test_dynamic_fullgraph_compile_matches_eager_over_batch_sizes(all_pairs):
    torch._dynamo.reset()
    if all_pairs:

        def loss(z, x, eps):
            return mode_seeking_loss_all_pairs(z, x, eps=eps, backend="torch")

    else:

        def loss(z, x, eps):
            return mode_seeking_loss(z[0], z[1], x[0], x[1], eps=eps, backend="torch")

    compiled = torch.compile(loss, fullgraph=True, dynamic=True, backend="aot_eager")
    gen = torch.Generator().manual_seed(0)
    for batch in (4, 6, 9):
        z = torch.randn(3, batch, 8, generator=gen)
        x = torch.randn(3, batch, 3, 4, 4, generator=gen, requires_grad=True)
        for eps in (1e-5, 3e-4):
            got = compiled(z, x, eps)
            (grad,) = torch.autograd.grad(got, x)
            want = loss(z, x, eps)
            (want_grad,) = torch.autograd.grad(want, x)
            torch.testing.assert_close(got, want)
            torch.testing.assert_close(grad, want_grad)


def test_a_symbolic_eps_that_is_not_positive_still_fails_loudly():
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda z1, z2, x1, x2, eps: mode_seeking_loss(z1, z2, x1, x2, eps=eps, backend="torch"),
        fullgraph=True,
        dynamic=True,
        backend="aot_eager",
    )
    z1, z2, x1, x2 = torch.randn(4, 2, 8).unbind(1) + torch.randn(4, 2, 8).unbind(1)
    compiled(z1, z2, x1, x2, 1e-5)
    with pytest.raises(Exception, match="eps must be a positive finite number"):
        compiled(z1, z2, x1, x2, -1e-5)
