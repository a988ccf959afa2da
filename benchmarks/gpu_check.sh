#!/usr/bin/env bash
# Everything a GPU session should run, as one command, in under 5 minutes on an H100 or H200 (JIT compilation
# included); every result lands as CSV in one folder:
#
#   bash benchmarks/gpu_check.sh [OUT]        # OUT defaults to benchmarks/results/gpu-check-<date>
#
#   environment.csv   GPU, driver, multiprocessors, Python, torch, Triton, CUDA, compute-sanitizer, date
#   gpu-tests.csv     every test of tests/ops compiled on the GPU (parity with the reference at GPU sizes, NaN,
#                     ties, non-contiguous inputs, float16 and bfloat16, determinism, memory), with its outcome
#   sanitizer.csv     compute-sanitizer memcheck of a split paired L1 forward+backward and an all-pairs S=64 call
#                     (when compute-sanitizer is on the PATH)
#   <gpu>-<date>.csv  the benchmark: eager, torch.compile, the fused ops and the 3-copy floor (benchmarks/bench_ops.py)
#
# The tests and the sanitizer runs share the GPU while they run; the benchmark runs alone afterwards. Nothing is
# installed: the checkout is put on PYTHONPATH. Exit status 0 only when every step passed.
#
# GPU_CHECK_CPU=1 rehearses the script on a machine without a GPU (the kernels under the Triton interpreter, the
# quick CPU benchmark, no sanitizer), to prove that the script itself runs and writes its files.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/gpu-check-$(date +%F)}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py="${PYTHON:-python3}"
rehearsal="${GPU_CHECK_CPU:-0}"
status=0
started=$SECONDS
step() { printf '\n[%4ds] %s\n' "$((SECONDS - started))" "$*"; }

step "environment -> $out/environment.csv"
"$py" benchmarks/gpu_check_report.py environment > "$out/environment.csv" || status=1
cat "$out/environment.csv"

# 1. The kernel tests compiled on the GPU, in parallel processes when pytest-xdist is there (JIT compilation is
#    most of their time), in the background.
step "tests/ops -> $out/gpu-tests.csv"
workers=()
if "$py" -c "import xdist" 2>/dev/null; then workers=(-n 8); fi
if [[ "$rehearsal" == 1 ]]; then export TRITON_INTERPRET=1; fi
"$py" -m pytest tests/ops -q -p no:cacheprovider "${workers[@]}" --junitxml "$out/gpu-tests.xml" \
  > "$out/gpu-tests.log" 2>&1 &
tests_pid=$!

# 2. compute-sanitizer memcheck on one call of each case (the Triton cache is warmed first, outside the sanitizer).
step "compute-sanitizer memcheck -> $out/sanitizer.csv"
echo "case,tool,errors,exit_status,seconds" > "$out/sanitizer.csv"
device=cuda
if [[ "$rehearsal" == 1 ]]; then device=cpu; fi
for case in paired-split-l1 allpairs-s64; do
  "$py" benchmarks/gpu_sanitize.py "$case" "$device" > /dev/null || status=1
  if command -v compute-sanitizer > /dev/null && [[ "$rehearsal" != 1 ]]; then
    t0=$SECONDS
    timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 \
      "$py" benchmarks/gpu_sanitize.py "$case" > "$out/sanitizer-$case.log" 2>&1
    rc=$?
    errors="$(grep -oE 'ERROR SUMMARY: [0-9]+' "$out/sanitizer-$case.log" | grep -oE '[0-9]+' | tail -1)"
    echo "$case,memcheck,${errors:-unknown},$rc,$((SECONDS - t0))" >> "$out/sanitizer.csv"
    if [[ "$rc" != 0 || "${errors:-x}" != 0 ]]; then status=1; fi
  else
    echo "$case,memcheck,not run (no compute-sanitizer),,0" >> "$out/sanitizer.csv"
  fi
done
cat "$out/sanitizer.csv"

wait "$tests_pid" || status=1
"$py" benchmarks/gpu_check_report.py tests "$out/gpu-tests.xml" > "$out/gpu-tests.csv" || status=1
tail -3 "$out/gpu-tests.log"

# 3. The benchmark, alone on the GPU.
step "benchmark -> $out"
if [[ "$rehearsal" == 1 ]]; then
  unset TRITON_INTERPRET
  "$py" benchmarks/bench_ops.py --cpu --quick --out "$out" > "$out/bench.log" 2>&1 || status=1
else
  "$py" benchmarks/bench_ops.py --out "$out" > "$out/bench.log" 2>&1 || status=1
fi
tail -5 "$out/bench.log"

step "done, status $status; results in $out"
exit "$status"
