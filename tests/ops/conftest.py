"""Run the Triton kernels under the interpreter on CPU; on a CUDA machine, compiled on the GPU.

Triton decides between interpreting and compiling a kernel when ``@triton.jit`` runs, that is when
``torch_modeseek.ops._triton_kernels`` is first imported. This conftest is loaded before any test module of this folder
and, with the default ``testpaths``, before the package's doctests import that module, so it sets
``TRITON_INTERPRET=1`` here, at import time, when no CUDA device is present (or when
``TORCH_MODESEEK_TEST_INTERPRET=1`` asks for the interpreter on a GPU machine). Nothing else in the suite launches a
Triton kernel, so the variable changes nothing outside this folder.
"""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available() or os.environ.get("TORCH_MODESEEK_TEST_INTERPRET") == "1":
    os.environ["TRITON_INTERPRET"] = "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU and Triton; skipped without them")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none here); the interpreter tests cover the kernels on CPU")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture
def kernels(monkeypatch: pytest.MonkeyPatch):
    """The launch module, with the public dispatch allowed to pick Triton for CPU tensors under the interpreter."""
    from tests.ops.kernels import INTERPRETED
    from torch_modeseek import ops
    from torch_modeseek.ops import _triton_launch

    monkeypatch.setattr(ops, "_TRITON_ON_CPU", INTERPRETED)
    return _triton_launch
