"""Backend rules of torch_modeseek.ops: auto, torch, triton, the environment override, the size threshold."""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import needs_kernels, randn
from torch_modeseek import mode_seeking_loss, ops


def _took_triton(out: torch.Tensor) -> bool:
    return type(out.grad_fn).__name__.startswith(("_Paired", "_Pairwise"))


def _x(*shape, seed=0):
    return randn(*shape, seed=seed).cpu().requires_grad_()


def test_auto_keeps_cpu_tensors_on_the_reference():
    x1, x2 = _x(4, 1 << 15), _x(4, 1 << 15, seed=1)
    assert not _took_triton(ops.paired_distance(x1, x2))
    assert ops.resolve_backend("auto", x1, x2) == "torch"
    assert ops.resolve_backend("auto") == "torch"
    assert ops.resolve_backend("torch", x1) == "torch"


def test_triton_on_cpu_tensors_fails_loudly_through_the_loss():
    z1, z2, x1, x2 = randn(2, 4, seed=0), randn(2, 4, seed=1), _x(2, 8), _x(2, 8, seed=2)
    with pytest.raises(RuntimeError, match=r"backend='triton' cannot run: the tensors are on cpu"):
        mode_seeking_loss(z1.cpu(), z2.cpu(), x1, x2, backend="triton")


@pytest.mark.parametrize("value", ["cuda", "TORCH", " auto"])
def test_invalid_environment_value_is_refused(monkeypatch, value):
    monkeypatch.setenv(ops.ENV_VAR, value)
    with pytest.raises(
        ValueError, match=rf"environment variable TORCH_MODESEEK_BACKEND must be one of .*got {value!r}"
    ):
        ops.paired_distance(_x(2, 3), _x(2, 3))


def test_environment_overrides_auto_only(monkeypatch):
    x = _x(2, 3)
    monkeypatch.setenv(ops.ENV_VAR, "triton")
    with pytest.raises(RuntimeError, match="backend='triton' cannot run"):
        ops.paired_distance(x, x)
    assert not _took_triton(ops.paired_distance(x, x, backend="torch"))  # explicit beats the environment
    monkeypatch.setenv(ops.ENV_VAR, "")
    assert ops.resolve_backend("auto", x) == "torch"


def test_empty_batches_always_take_the_reference():
    x = _x(0, 3)
    assert ops.paired_distance(x, x, backend="triton").shape == (0,)
    assert ops.pairwise_distance(_x(2, 0, 3), backend="triton").shape == (0, 2, 2)


@needs_kernels
def test_auto_takes_triton_from_the_threshold_on(kernels, monkeypatch):
    monkeypatch.setattr(ops, "AUTO_MIN_NUMEL", 96)
    small, large = (_x(2, 47), _x(2, 47, seed=1)), (_x(2, 48), _x(2, 48, seed=1))
    assert not _took_triton(ops.paired_distance(*small))
    assert _took_triton(ops.paired_distance(*large))
    assert _took_triton(ops.pairwise_distance(_x(2, 3, 16)))
    monkeypatch.setenv(ops.ENV_VAR, "torch")
    assert not _took_triton(ops.paired_distance(*large))


@needs_kernels
def test_more_samples_than_the_kernels_take(kernels, monkeypatch):
    monkeypatch.setattr(ops, "AUTO_MIN_NUMEL", 1)
    x = _x(65, 1, 2)
    assert not _took_triton(ops.pairwise_distance(x))
    with pytest.raises(RuntimeError, match=r"support S <= 64 samples; got S=65"):
        ops.pairwise_distance(x, backend="triton")
    assert _took_triton(ops.pairwise_distance(x[:64], backend="triton"))


@needs_kernels
def test_loss_and_all_pairs_loss_pass_the_backend_through(kernels):
    from torch_modeseek import mode_seeking_loss_all_pairs

    z1, z2, x1, x2 = randn(3, 4, seed=0), randn(3, 4, seed=1), _x(3, 2, 9, seed=2), _x(3, 2, 9, seed=3)
    fused = mode_seeking_loss(z1, z2, x1, x2, backend="triton", reduction="sample")
    ref = mode_seeking_loss(z1, z2, x1, x2, backend="torch", reduction="sample")
    torch.testing.assert_close(fused, ref)
    z, x = randn(3, 2, 4, seed=4), _x(3, 2, 10, seed=5)
    fused = mode_seeking_loss_all_pairs(z, x, backend="triton", distance="l2")
    torch.testing.assert_close(fused, mode_seeking_loss_all_pairs(z, x, backend="torch", distance="l2"))
