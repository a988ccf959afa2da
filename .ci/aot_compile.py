"""Compile every Triton kernel of torch_modeseek for real GPUs, ahead of time and without one.

For each target architecture (sm_80 and sm_90 by default), each kernel, each input dtype and each class of launch
configuration the launchers can pick (the GPU's launch parameters: tiles of 2048 and 8192 elements, 8 warps), this
runs ``triton.compile`` with an explicit ``GPUTarget`` and reads ptxas's report. It prints one row per compilation
(kernel, dtype, configuration, registers, spill bytes, stack bytes, shared memory) and exits 1 on a compile error, on
a spill or a stack frame in a float32/bfloat16/float16 configuration, or on ``.local`` arrays in any. Float64 spills are
reported, not fatal, and so is the stack frame they need (float64 runs at a fraction of float32's speed on these
GPUs, and its register tiles are twice as large).

    python .ci/aot_compile.py                   # sm_80 and sm_90, all configurations, 2 processes
    python .ci/aot_compile.py --arch 90 --csv aot.csv

Needs Triton (the ``triton`` extra); its wheel ships ptxas, so no CUDA toolkit or driver is used.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import io
import itertools
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass

# A fresh cache: a cached kernel skips ptxas, whose report this script reads.
os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="aot-triton-cache-")
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton's default; set to silence its warning

DTYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}
SAMPLES = (2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Job:
    """One compilation: a kernel, its argument types, its compile-time constants."""

    kernel: str
    dtype: str
    config: str
    signature: tuple[tuple[str, str], ...]  # (argument, type) for the runtime arguments
    constants: tuple[tuple[str, object], ...]  # (name, value); "ACC" as a dtype name
    warps: int
    arch: int


def _acc(dtype: str) -> str:
    return "float64" if dtype == "float64" else "float32"


def _range(dtype: str) -> dict[str, float]:
    if _acc(dtype) == "float64":
        return {"BIG": 2.0**-600, "UNBIG": 2.0**600, "HUGE": sys.float_info.max}
    return {"BIG": 2.0**-90, "UNBIG": 2.0**90, "HUGE": 3.4028234663852886e38}


def _kernel_kinds() -> dict[int, str]:
    """Kernel id -> kind name, for the kinds of the registry that have kernels."""
    from torch_modeseek.kinds import KINDS

    return {kind.kernel: name for name, kind in KINDS.items() if kind.kernel is not None}


def jobs(arches: list[int], launch) -> list[Job]:
    """Every (kernel, dtype, configuration) the launchers in ``launch`` can pick with the GPU's parameters."""
    gpu = launch.GPU
    block, tile, warps = gpu.paired_block, gpu.pairwise_tile, gpu.warps
    out: list[Job] = []

    def add(kernel, dtype, config, sig, consts, w=warps):
        for arch in arches:
            out.append(Job(kernel, dtype, config, tuple(sig.items()), tuple(consts.items()), w, arch))

    kinds = _kernel_kinds()
    for dtype, kind_id, ints in itertools.product(DTYPES, kinds, ("i32", "i64")):
        if ints == "i64" and dtype != "float32":
            continue  # 64-bit sizes and strides (inputs over 2**31 elements): one dtype is enough to show the code
        t, acc = "*" + DTYPES[dtype], "*" + DTYPES[_acc(dtype)]
        for final in (True, False):
            sig = {"x1_ptr": t, "x2_ptr": t, "stats_ptr": acc, "out_ptr": acc, "sign_ptr": "*i32", "live_ptr": "*i32"}
            sig |= dict.fromkeys(("n", "row1", "row2", "tiles_per_row", "tiles_per_split"), ints)
            consts = {"KIND": kind_id, "BLOCK": block, "FINAL": final, "ACC": _acc(dtype)} | _range(dtype)
            add("_paired_fwd", dtype, f"{kinds[kind_id]} {'one part' if final else 'split'} {ints}", sig, consts)
        for write1, write2 in ((True, True), (True, False), (False, True)):
            sig = {"x1_ptr": t, "x2_ptr": t, "g_ptr": acc, "g_stride": ints, "stats_ptr": acc, "out_ptr": acc}
            sig |= {"sign_ptr": "*i32", "live_ptr": "*i32", "g1_ptr": t, "g2_ptr": t}
            sig |= dict.fromkeys(("n", "row1", "row2", "tiles_per_row", "tiles_per_prog"), ints)
            consts = {"KIND": kind_id, "BLOCK": block, "WRITE1": write1, "WRITE2": write2, "ACC": _acc(dtype)}
            grads = "+".join(name for name, on in (("g1", write1), ("g2", write2)) if on)
            add("_paired_bwd", dtype, f"{kinds[kind_id]} {grads} {ints}", sig, consts)
    # The finalize kernel's tile (ROWS, SPLITS): from 2 parts per row to the most an H100 or H200 gets (528 -> 1024).
    for acc_dtype, kind_id in itertools.product(("float32", "float64"), kinds):
        acc = "*" + DTYPES[acc_dtype]
        for splits in (2, 32, 1024):
            rows = max(1, min(64, 2048 // splits))
            sig = {"part_ptr": acc, "stats_ptr": acc, "out_ptr": acc, "rows": "i32", "splits": "i32", "n": "i32"}
            limits = _range(acc_dtype)
            consts = {"KIND": kind_id, "ROWS": rows, "SPLITS": splits, "UNBIG": limits["UNBIG"], "HUGE": limits["HUGE"]}
            config = f"{kinds[kind_id]} rows {rows} x splits {splits}"
            add("_paired_finalize", acc_dtype, config, sig, consts, launch.PAIRED_FINALIZE_WARPS)
    for dtype, kind_id, samples in itertools.product(DTYPES, kinds, SAMPLES):
        t, acc = "*" + DTYPES[dtype], "*" + DTYPES[_acc(dtype)]
        bk = max(1, tile // (samples * samples))
        planes = 2 if kinds[kind_id] in ("mse", "l2") else 1
        for final in (True, False):
            sig = {"x_ptr": t, "part_ptr": acc, "out_ptr": acc, "raw_ptr": acc}
            sig |= dict.fromkeys(("n", "samples", "stride_s", "stride_b", "chunk"), "i32")
            consts = {"KIND": kind_id, "S": samples, "BK": bk, "FINAL": final, "ACC": _acc(dtype), "PLANES": planes}
            consts |= _range(dtype)
            config = f"{kinds[kind_id]} S={samples} {'one chunk' if final else 'chunks'}"
            add("_pairwise_fwd", dtype, config, sig, consts)
        sig = {"x_ptr": t, "g_ptr": acc, "gs0": "i32", "gs1": "i32", "gs2": "i32", "out_ptr": acc, "raw_ptr": acc}
        sig |= {"gx_ptr": t} | dict.fromkeys(("n", "samples", "stride_s", "stride_b", "chunk"), "i32")
        consts = {"KIND": kind_id, "S": samples, "BK": bk, "ACC": _acc(dtype)}
        add("_pairwise_bwd", dtype, f"{kinds[kind_id]} S={samples}", sig, consts)
        if dtype in ("float32", "float64"):  # the finalize kernel reads accumulator-dtype parts only
            sig = {"part_ptr": acc, "out_ptr": acc, "raw_ptr": acc, "n": "i32", "samples": "i32", "chunks": "i32"}
            limits = _range(dtype)
            consts = {"KIND": kind_id, "S": samples, "ACC": _acc(dtype), "PLANES": planes}
            consts |= {"UNBIG": limits["UNBIG"], "HUGE": limits["HUGE"]}
            warps_s = launch.pairwise_finalize_warps(samples)
            add("_pairwise_finalize", dtype, f"{kinds[kind_id]} S={samples}", sig, consts, warps_s)
    return out


_REGISTERS = re.compile(r"Used (\d+) registers")
_SMEM = re.compile(r"(\d+) bytes smem")
_STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def compile_one(job: Job) -> dict[str, object]:
    """Compile ``job``; return its row (registers, spills, stack, shared memory) or the error."""
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from torch_modeseek.ops import _triton_kernels, _triton_pairwise_kernels

    module = _triton_pairwise_kernels if job.kernel.startswith("_pairwise") else _triton_kernels
    fn = getattr(module, job.kernel)
    constants = {k: (getattr(tl, v) if k == "ACC" else v) for k, v in job.constants}
    signature = dict(job.signature) | dict.fromkeys(constants, "constexpr")
    row: dict[str, object] = {"arch": f"sm_{job.arch}", "kernel": job.kernel, "dtype": job.dtype, "config": job.config}
    log = io.StringIO()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            if hasattr(triton, "knobs"):
                triton.knobs.nvidia.dump_ptxas_log = True
            source = ASTSource(fn=fn, signature=signature, constexprs=constants)
            compiled = triton.compile(source, target=GPUTarget("cuda", job.arch, 32), options={"num_warps": job.warps})
    except Exception as exc:  # every failure becomes a row, and the run fails
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return row
    text = log.getvalue()
    registers, stack = _REGISTERS.search(text), _STACK.search(text)
    if registers is None or stack is None:
        row["error"] = "no ptxas report (a cached kernel, or a Triton without knobs.nvidia.dump_ptxas_log)"
        return row
    smem = _SMEM.search(text)
    row |= {
        "registers": int(registers.group(1)),
        "stack_bytes": int(stack.group(1)),
        "spill_stores": int(stack.group(2)),
        "spill_loads": int(stack.group(3)),
        "shared_bytes": max(int(smem.group(1)) if smem else 0, int(compiled.metadata.shared)),
        "local_in_ptx": ".local" in compiled.asm["ptx"],
        "seconds": round(time.perf_counter() - started, 2),
    }
    return row


def problems(row: dict[str, object]) -> list[str]:
    """Why ``row`` fails the check: a compile error, a spill outside float64, local memory."""
    if "error" in row:
        return [str(row["error"])]
    found = []
    if row["dtype"] != "float64" and (row["spill_stores"] or row["spill_loads"]):
        found.append(f"spills {row['spill_stores']} B stored, {row['spill_loads']} B loaded")
    if row["dtype"] != "float64" and row["stack_bytes"]:
        found.append(f"local memory: a stack frame of {row['stack_bytes']} B")
    if row["local_in_ptx"]:
        found.append("local memory: .local arrays in the PTX")
    return found


def main(argv: list[str] | None = None) -> int:
    """Compile, print the table, return 1 when any compilation fails the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", type=int, nargs="+", default=[80, 90], help="compute capabilities (default 80 90)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel compilations")
    parser.add_argument("--csv", help="also write the table here")
    parser.add_argument("--only", help="compile the kernels whose name contains this string")
    args = parser.parse_args(argv)

    import triton

    from torch_modeseek.ops import _triton_launch

    todo = [j for j in jobs(args.arch, _triton_launch) if args.only is None or args.only in j.kernel]
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(compile_one, todo, chunksize=4))
    wall = time.perf_counter() - started
    columns = ["arch", "kernel", "dtype", "config", "registers", "spill_stores", "spill_loads", "stack_bytes"]
    columns += ["shared_bytes", "local_in_ptx", "seconds", "error"]
    header = f"{'arch':6} {'kernel':19} {'dtype':9} {'configuration':28} {'regs':>4} {'spill':>5} {'stack':>5}"
    print(f"{header} {'smem':>6}")
    failed = []
    for row in rows:
        if "error" in row:
            print(f"{row['arch']:6} {row['kernel']:19} {row['dtype']:9} {row['config']:28} ERROR {row['error']}")
        else:
            spill = int(row["spill_stores"]) + int(row["spill_loads"])
            print(
                f"{row['arch']:6} {row['kernel']:19} {row['dtype']:9} {row['config']:28} {row['registers']:>4} "
                f"{spill:>5} {row['stack_bytes']:>5} {row['shared_bytes']:>6}"
            )
        failed += [f"{row['arch']} {row['kernel']} {row['dtype']} {row['config']}: {p}" for p in problems(row)]
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    print(f"\n{len(rows)} compilations (Triton {triton.__version__}, {args.jobs} processes) in {wall:.0f} s")
    if failed:
        print(f"{len(failed)} failed:\n  " + "\n  ".join(failed))
        return 1
    most = max(rows, key=lambda r: int(r["registers"]))
    print(
        f"no compile error, no spill outside float64, no local memory; most registers: {most['registers']} "
        f"({most['arch']} {most['kernel']} {most['dtype']} {most['config']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
