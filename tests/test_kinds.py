"""One registry of distance kinds (torch_modeseek.kinds), read by the checks, the reference, dispatch, kernels, CLI."""

from __future__ import annotations

import pytest
import torch

from torch_modeseek import kinds, ops
from torch_modeseek._checks import DISTANCES
from torch_modeseek.ops import _reference


def test_every_reader_takes_the_registry():
    assert DISTANCES == kinds.NAMES == tuple(kinds.KINDS)
    assert set(_reference.REFERENCE) == set(kinds.KINDS), "every kind needs its reference function"
    ids = [k.kernel for k in kinds.KINDS.values() if k.kernel is not None]
    assert len(ids) == len(set(ids)), "kernel ids must be distinct"


def test_the_example_command_line_offers_the_registry():
    cli = pytest.importorskip("examples.common.cli")
    assert cli.DISTANCES == kinds.NAMES


def test_the_kernels_compare_with_the_registry_ids():
    pytest.importorskip("triton")
    from torch_modeseek.ops import _triton_kernels as K

    for constant, name in ((K.L1, "l1"), (K.MSE, "mse"), (K.L2, "l2"), (K.COSINE, "cosine")):
        assert getattr(constant, "value", constant) == kinds.kernel_id(name)


def test_a_kind_without_a_kernel_runs_on_the_reference(monkeypatch):
    """Dispatch has a per-kind gate: a reference-only kind never reaches the kernels."""
    monkeypatch.setattr(ops, "kernel_id", lambda name: None)
    monkeypatch.setattr(ops, "_TRITON_ON_CPU", True)  # as if the tensors could take the kernels
    x1, x2 = torch.randn(2, 70000), torch.randn(2, 70000)
    assert ops._choose("auto", (x1, x2), kind="l1") == "torch"
    with pytest.raises(RuntimeError, match="the distance kind 'l1' has no Triton kernel"):
        ops.paired_distance(x1, x2, "l1", backend="triton")
