"""One fused call per case, small enough to run under ``compute-sanitizer --tool memcheck`` (run by gpu_check.sh).

Cases: ``paired-split-l1``, a paired L1 forward and backward at 2x3x256x256 float32 (rows split across programs, so
the finalize kernel runs too), and ``allpairs-s64``, an all-pairs L1 forward and backward with S = 64 samples (the
largest register tile). Prints ``ok <case>`` after a device synchronisation.

    python benchmarks/gpu_sanitize.py paired-split-l1
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch_modeseek import ops

CASES = ("paired-split-l1", "allpairs-s64")


def run(case: str, device: str = "cuda") -> None:
    """Run ``case`` once on ``device`` with the Triton backend."""
    if device == "cpu":  # a rehearsal under the Triton interpreter (TRITON_INTERPRET=1): let CPU tensors in
        ops._TRITON_ON_CPU = True
    g = torch.Generator(device=device).manual_seed(0)
    if case == "paired-split-l1":
        x1 = torch.randn(2, 3, 256, 256, device=device, generator=g).requires_grad_()
        x2 = torch.randn(2, 3, 256, 256, device=device, generator=g).requires_grad_()
        d = ops.paired_distance(x1, x2, "l1", backend="triton")
        d.backward(torch.randn(d.shape, device=device, generator=g))
    elif case == "allpairs-s64":
        x = torch.randn(64, 2, 3, 32, 32, device=device, generator=g).requires_grad_()
        d = ops.pairwise_distance(x, "l1", backend="triton")
        d.backward(torch.randn(d.shape, device=device, generator=g))
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    if device == "cuda":
        torch.cuda.synchronize()
    print(f"ok {case}")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cuda")
