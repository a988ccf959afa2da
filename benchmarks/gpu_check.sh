#!/usr/bin/env bash
# One prepared command for a machine with one NVIDIA GPU and Triton installed: the kernel tests compiled on the GPU
# (tests/ops, including the cuda-marked ones), then the full benchmark. Everything is written under OUT
# (default benchmarks/results): gpu-tests.log, bench.log, <gpu>-<date>.csv and .png. Under 10 minutes on an H100
# (the benchmark alone < 5); pass --quick as second argument for a smoke run of the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$out/gpu-info.txt" || true
status=0
python -m pytest -q -p no:cacheprovider tests/ops 2>&1 | tee "$out/gpu-tests.log" || status=1  # bench runs anyway
python benchmarks/bench_ops.py --out "$out" ${2:-} 2>&1 | tee "$out/bench.log" || status=1
exit "$status"
