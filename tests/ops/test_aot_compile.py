"""The ahead-of-time compile check (``.ci/aot_compile.py``) covers every kernel, with the kernels' real signatures."""

from __future__ import annotations

import importlib.util
import inspect
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.ops.kernels import SKIP_REASON

pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / ".ci" / "aot_compile.py"


@pytest.fixture(scope="module")
def aot():
    spec = importlib.util.spec_from_file_location("aot_compile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses need it
    spec.loader.exec_module(module)
    return module


def _kernels():
    from torch_modeseek.ops import _triton_kernels, _triton_pairwise_kernels

    found = {}
    for module in (_triton_kernels, _triton_pairwise_kernels):
        for name, value in vars(module).items():
            fn = getattr(value, "fn", None)  # a JITFunction, or an InterpretedFunction under the interpreter
            if fn is not None and getattr(fn, "__module__", None) == module.__name__:
                found[name] = list(inspect.signature(fn).parameters)
    return found


def test_every_launched_kernel_is_compiled_with_every_argument(aot):
    from torch_modeseek.ops import _triton_launch

    jobs = aot.jobs([90], _triton_launch)
    kernels = _kernels()
    launched = {name for name in kernels if not name.startswith(("_finish", "_sqrt", "_pairwise_store"))}
    assert {job.kernel for job in jobs} == launched
    for job in jobs:
        names = kernels[job.kernel]
        given = [name for name, _ in job.signature] + [name for name, _ in job.constants]
        assert sorted(given) == sorted(names), job.kernel
    dtypes = {(job.kernel, job.dtype) for job in jobs}
    for kernel in ("_paired_fwd", "_paired_bwd", "_pairwise_fwd", "_pairwise_bwd"):
        assert {d for k, d in dtypes if k == kernel} == {"float16", "bfloat16", "float32", "float64"}


def test_the_check_fails_on_spills_and_local_memory_outside_float64(aot):
    row = {"dtype": "bfloat16", "spill_stores": 0, "spill_loads": 0, "stack_bytes": 0, "local_in_ptx": False}
    assert aot.problems(row) == []
    assert aot.problems(row | {"spill_stores": 8}) == ["spills 8 B stored, 0 B loaded"]
    assert aot.problems(row | {"stack_bytes": 16}) == ["local memory: a stack frame of 16 B"]
    assert aot.problems(row | {"local_in_ptx": True}) == ["local memory: .local arrays in the PTX"]
    assert aot.problems(row | {"dtype": "float64", "spill_stores": 8, "stack_bytes": 8}) == []
    assert aot.problems({"error": "CompilationError: x"}) == ["CompilationError: x"]


def test_the_script_compiles_for_sm90_without_a_gpu():
    """One kernel's configurations, compiled for real (the interpreter's kernels cannot be): the CI step in small."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    args = [sys.executable, str(SCRIPT), "--arch", "90", "--only", "_paired_bwd", "--jobs", "2"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\n60 compilations \(Triton [\d.]+", done.stdout), done.stdout[-500:]
    assert "no compile error, no spill outside float64, no local memory" in done.stdout
