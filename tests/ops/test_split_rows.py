"""Rows long enough to be split into as many programs as the launch parameters in effect aim for.

Under the GPU's parameters (``TORCH_MODESEEK_LAUNCH=gpu``: tiles of 2048 elements, 528 programs) these are the sizes
at which a GPU splits rows and sums the parts in the finalize kernels; under the interpreter's small tiles the same
paths run on small inputs. Shapes follow the parameters, so each profile reaches its own split paths.
"""

from __future__ import annotations

import pytest
import torch

from tests.ops.kernels import DEVICE, assert_close, needs_kernels, randn
from torch_modeseek.ops import _reference

pytestmark = needs_kernels


def _params():
    from torch_modeseek.ops import _triton_launch

    return _triton_launch, _triton_launch.params()


def _grads(fn, inputs, upstream):
    leaves = [t.detach().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return (out, *torch.autograd.grad(out, leaves, upstream))


@pytest.mark.parametrize("kind", ["l1", "cosine", "l2"])
def test_paired_rows_split_into_the_most_parts(kind):
    launch, p = _params()
    batch = 2
    parts = launch._cdiv(launch._target_programs(DEVICE), batch)
    n = p.paired_block * parts * 2 - 37  # two tiles per part, a ragged last tile
    assert launch._split(launch._cdiv(n, p.paired_block), batch, DEVICE)[0] == parts
    x1, x2 = randn(batch, n, seed=1), randn(batch, n, seed=2)
    x2[:, ::3] = x1[:, ::3]  # ties
    from torch_modeseek.ops import _triton

    upstream = randn(batch, seed=3) * 3.0
    got = _grads(lambda a, b: _triton.paired_distance(a, b, kind), (x1, x2), upstream)
    want = _grads(lambda a, b: _reference.paired_distance(a, b, kind), (x1, x2), upstream)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, torch.float32)


@pytest.mark.parametrize("samples", [3, 64])
def test_pairwise_rows_split_into_chunks(samples):
    launch, _ = _params()
    batch = 2
    bk = launch._pairwise_tiles(samples)[1]
    n = bk * launch._cdiv(launch._target_programs(DEVICE), batch) * 2 + 5
    x = randn(samples, batch, n, seed=4)
    assert launch._pairwise_split(x)[2] > 1
    from torch_modeseek.ops import _triton

    upstream = randn(batch, samples, samples, seed=5)
    got = _grads(lambda a: _triton.pairwise_distance(a, "l1"), (x,), upstream)
    want = _grads(lambda a: _reference.pairwise_distance(a, "l1"), (x,), upstream)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, torch.float32)
