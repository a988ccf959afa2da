"""The launchers on their own (as the registered custom ops reach them, without the public dispatcher): the device
they launch on, zero-size inputs, mismatched inputs, 64-bit offsets of the upstream gradient, launch parameters."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.ops.kernels import DEVICE, assert_close, needs_kernels, randn
from torch_modeseek.ops import _reference

pytestmark = needs_kernels


@pytest.fixture
def launch():
    from torch_modeseek.ops import _triton_launch

    return _triton_launch


def test_guard_switches_to_the_tensors_device(launch, monkeypatch):
    entered = []
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device", lambda device: entered.append(device) or contextlib.nullcontext())
    with launch.device_guard(torch.device("cuda", 1)):
        pass
    assert entered == [torch.device("cuda", 1)]
    with launch.device_guard(torch.device("cuda", 0)), launch.device_guard(torch.device("cpu")):
        pass
    assert entered == [torch.device("cuda", 1)], "no switch when the device is already current, or off CUDA"


def test_every_launcher_launches_under_the_guard(launch, monkeypatch):
    seen = []
    real = launch.device_guard
    monkeypatch.setattr(launch, "device_guard", lambda device: seen.append(device) or real(device))
    x1, x2 = randn(3, 70, seed=0).requires_grad_(), randn(3, 70, seed=1)
    from torch_modeseek.ops import _triton

    _triton.paired_distance(x1, x2, "l1").sum().backward()
    x = randn(4, 2, 30, seed=2).requires_grad_()
    _triton.pairwise_distance(x, "l2").sum().backward()
    assert [d.type for d in seen] == [DEVICE.type] * 4  # paired forward, backward; all-pairs forward, backward


@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_tensors_on_a_device_that_is_not_current():
    from torch_modeseek.ops import _triton

    x1 = torch.randn(4, 3, 64, 64, device="cuda:1", requires_grad=True)
    x2 = torch.randn(4, 3, 64, 64, device="cuda:1")
    assert torch.cuda.current_device() == 0
    got = _triton.paired_distance(x1, x2, "l1")
    (g,) = torch.autograd.grad(got.sum(), x1)
    want = _reference.paired_distance(x1, x2, "l1")
    (w,) = torch.autograd.grad(want.sum(), x1)
    assert_close(got, want, torch.float32)
    assert_close(g, w, torch.float32)


@pytest.mark.parametrize("kind", ["l1", "mse", "l2", "cosine"])
def test_empty_batch(launch, kind):
    x1, x2 = randn(0, 3, 5, seed=3), randn(0, 3, 5, seed=4)
    saved = launch.paired_forward(x1, x2, kind)
    assert saved[0].shape == (0,)
    g1, g2 = launch.paired_backward(torch.ones(0, device=DEVICE), x1, x2, list(saved), kind, True, True)
    assert g1.shape == g2.shape == (0, 3, 5)
    for shape in [(3, 0, 5), (0, 2, 5)]:
        x = randn(*shape, seed=5)
        dist, raw = launch.pairwise_forward(x, kind)
        assert dist.shape == (shape[1], shape[0], shape[0])
        gx = launch.pairwise_backward(torch.ones_like(dist), x, dist, raw, kind)
        assert gx.shape == shape


def test_samples_without_elements_are_refused(launch):
    with pytest.raises(ValueError, match="the samples hold no element"):
        launch.paired_forward(randn(2, 0, seed=6), randn(2, 0, seed=7), "l1")
    with pytest.raises(ValueError, match="the samples hold no element"):
        launch.pairwise_forward(randn(3, 2, 0, seed=8), "l1")


def test_registered_op_refuses_mismatched_inputs():
    from torch_modeseek.ops import _triton

    with pytest.raises(ValueError, match=r"same shape; got \(2, 10\) and \(2, 12\)"):
        _triton.paired_distance_op(randn(2, 10, seed=9), randn(2, 12, seed=10), "l1")


def test_l1_gradient_of_a_large_strided_upstream_gradient():
    """The all-pairs backward's upstream-gradient offsets are 64-bit: ``i * stride`` beyond 2**31 elements.

    Run in a child process: a 32-bit product there reads a wrong address and may crash the interpreter. The upstream
    gradient is a (1, 4, 4) view with a row stride of 2**30 elements (6 GiB of address space, 16 elements touched).
    """
    script = textwrap.dedent(
        """
        import torch
        from torch_modeseek.ops import _reference, _triton_launch
        x = torch.randn(4, 1, 40, generator=torch.Generator().manual_seed(0))
        g = torch.randn(1, 4, 4, generator=torch.Generator().manual_seed(1))
        storage = torch.empty(3 * 2**30 + 4, dtype=torch.bfloat16)
        view = storage.as_strided((1, 4, 4), (0, 2**30, 1))
        view.copy_(g)
        dist, raw = _triton_launch.pairwise_forward(x, "l1")
        got = _triton_launch.pairwise_backward(view, x, dist, raw, "l1")
        a = x.clone().requires_grad_()
        (want,) = torch.autograd.grad(_reference.pairwise_distance(a, "l1"), a, view.float())
        torch.testing.assert_close(got, want, rtol=2e-6, atol=1e-6)
        print("ok")
        """
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "ok"


def test_launch_parameters_are_injectable(launch):
    x1, x2 = randn(2, 3, 40, seed=11), randn(2, 3, 40, seed=12)
    small = launch.LaunchParams(paired_block=32, pairwise_tile=32, programs=64)
    with launch.use_params(small):
        assert launch.params() == small
        signs = launch.paired_forward(x1, x2, "l1")[2]
        assert signs.shape == (2, 4)  # 120 elements: four tiles of 32, one word each
    assert launch.params() != small
    with pytest.raises(ValueError, match="power of two"), launch.use_params(launch.LaunchParams(48, 64)):
        pass


@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1", reason="a profile of the interpreter runs")
def test_the_launch_profile_is_the_one_asked_for(launch):
    """CI runs this folder twice under the interpreter: small tiles, then the GPU's (TORCH_MODESEEK_LAUNCH=gpu)."""
    want = launch.GPU_INTERPRETED if os.environ.get(launch.LAUNCH_ENV_VAR) == "gpu" else launch.INTERPRETER
    assert launch.params() == want
    assert launch.GPU_INTERPRETED.paired_block == launch.GPU.paired_block == 2048
    assert launch.GPU_INTERPRETED.pairwise_tile == launch.GPU.pairwise_tile == 8192
