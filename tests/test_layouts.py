"""Memory layouts, and tracing the functional with torch.compile."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import DISTANCES, REDUCTIONS, batch, randn
from torch_modeseek import mode_seeking_loss, mode_seeking_loss_all_pairs


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_channels_last_and_non_contiguous_inputs_match_contiguous(distance, reduction):
    z1, z2, x1, x2 = batch(4, 8, (3, 6, 5), seed=7)
    options = {"distance": distance, "reduction": reduction}
    expected = mode_seeking_loss(z1, z2, x1, x2, **options)

    channels_last = [t.to(memory_format=torch.channels_last) for t in (x1, x2)]
    assert not channels_last[0].is_contiguous()
    torch.testing.assert_close(mode_seeking_loss(z1, z2, *channels_last, **options), expected)

    transposed = [t.transpose(2, 3).contiguous().transpose(2, 3) for t in (x1, x2)]
    assert not transposed[0].is_contiguous()
    torch.testing.assert_close(mode_seeking_loss(z1, z2, *transposed, **options), expected)

    big = randn(4, 3, 12, 10, seed=1)
    strided = [big[:, :, ::2, ::2].clone().copy_(t) for t in (x1, x2)]
    views = [big.clone()[:, :, ::2, ::2] for _ in range(2)]
    for view, values in zip(views, (x1, x2), strict=False):
        view.copy_(values)
    assert not views[0].is_contiguous()
    torch.testing.assert_close(mode_seeking_loss(z1, z2, *views, **options), expected)
    torch.testing.assert_close(mode_seeking_loss(z1, z2, *strided, **options), expected)

    z_views = [torch.stack([z1, z2], dim=1)[:, k] for k in range(2)]  # rows interleaved in memory
    assert not z_views[0].is_contiguous()
    torch.testing.assert_close(mode_seeking_loss(*z_views, x1, x2, **options), expected)


def test_channels_last_gradient_keeps_its_layout_and_values():
    z1, z2, x1, x2 = batch(4, 8, (3, 6, 5), seed=7)
    a = x1.clone().requires_grad_()
    b = x1.to(memory_format=torch.channels_last).requires_grad_()
    mode_seeking_loss(z1, z2, a, x2).backward()
    mode_seeking_loss(z1, z2, b, x2.to(memory_format=torch.channels_last)).backward()
    torch.testing.assert_close(b.grad, a.grad)


def test_all_pairs_accepts_a_strided_sample_axis():
    z, x = randn(4, 3, 8, seed=1), randn(3, 4, 2, 5, seed=2).transpose(0, 1)  # (S, B, ...) view of a (B, S, ...) tensor
    assert not x.is_contiguous()
    torch.testing.assert_close(mode_seeking_loss_all_pairs(z, x), mode_seeking_loss_all_pairs(z, x.contiguous()))


@pytest.mark.parametrize(
    ("distance", "form", "reduction"),
    [("l1", "reciprocal", "batch"), ("cosine", "clamped", "sample"), ("l2", "inverse", "none")],
)
def test_torch_compile_fullgraph_matches_eager(distance, form, reduction):
    torch._dynamo.reset()
    tau = 0.5 if form == "clamped" else None

    def step(z1, z2, x1, x2):
        return mode_seeking_loss(z1, z2, x1, x2, distance=distance, form=form, reduction=reduction, tau=tau)

    compiled = torch.compile(step, fullgraph=True)
    z1, z2, x1, x2 = batch(4, 8, (3, 8, 8), seed=3)
    a = x1.clone().requires_grad_()
    b = x1.clone().requires_grad_()
    eager = step(z1, z2, a, x2)
    traced = compiled(z1, z2, b, x2)
    torch.testing.assert_close(traced, eager, rtol=1e-5, atol=1e-6)
    traced.sum().backward()
    eager.sum().backward()
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-8)


def test_torch_compile_fullgraph_all_pairs():
    torch._dynamo.reset()
    compiled = torch.compile(mode_seeking_loss_all_pairs, fullgraph=True)
    z, x = randn(3, 2, 8, seed=1), randn(3, 2, 3, 4, 4, seed=2)
    torch.testing.assert_close(compiled(z, x), mode_seeking_loss_all_pairs(z, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance", DISTANCES)
def test_no_host_synchronisation(distance, reduction):
    """On the meta device tensors have no values: any .item(), .tolist() or value-dependent branch would raise."""
    z1, z2, x1, x2 = (t.to("meta") for t in batch(4, 8, (3, 8, 8)))
    x1.requires_grad_()
    loss = mode_seeking_loss(z1, z2, x1, x2, distance=distance, reduction=reduction)
    assert loss.device.type == "meta"
    loss.sum().backward()
    assert x1.grad.shape == x1.shape
    loss = mode_seeking_loss_all_pairs(torch.stack([z1, z2, z1]), torch.stack([x1, x2, x2]), distance=distance)
    assert loss.device.type == "meta"
