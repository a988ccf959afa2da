"""Benchmark of the mode-seeking loss: eager official formula, torch.compile of it, the fused ops, the copy floor.

GPU mode (default; one CUDA GPU, Triton installed): for every case, in one run on the same GPU, forward+backward of

* ``eager``: MSGAN's official formula in plain PyTorch (for all pairs: ``torch.cdist(p=1)`` as ``cdist`` and the
  reference pair loop as ``eager``);
* ``compile``: ``torch.compile`` of that formula;
* ``fused``: ``mode_seeking_loss(..., backend="triton")`` (the fused op plus the loss's scalar ops);
* ``fused_op``: the fused distance op alone;
* ``floor``: three device-to-device copies of one input (6N elements: a fused L1 step moves 4N and N/2 bytes).

Times are medians of CUDA-event timings (``triton.testing.do_bench``); ``wall_ms`` is host wall time per step over
back-to-back steps (what launch and host overhead cost); ``peak_extra_mib`` is the peak memory a step allocates beyond
the inputs and the gradients it returns. Results go to ``<out>/<gpu>-<date>.csv`` (GPU name, torch and Triton
versions, date in every row) and a plot ``<out>/<gpu>-<date>.png``.

CPU mode (``--cpu``): the reference path (``backend="torch"``) against the eager formula, L1, 64x3x128x128 and two
other sizes, wall time of forward+backward; writes ``<out>/cpu-<date>.csv`` naming the CPU model.

    python benchmarks/bench_ops.py                 # GPU, all cases (< 5 minutes on an H100)
    python benchmarks/bench_ops.py --quick         # GPU smoke run: a few small cases
    python benchmarks/bench_ops.py --cpu           # CPU comparison
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch_modeseek import mode_seeking_loss, ops

EPS = 1e-5
COLUMNS = [
    "case", "kind", "reduction", "shape", "dtype", "variant", "time_ms", "best_ms", "wall_ms", "peak_extra_mib",
    "x_floor", "speedup_vs_compile", "speedup_vs_eager", "device", "torch", "triton", "date",
]  # fmt: skip
Step = Callable[[], Sequence[torch.Tensor]]


@dataclass
class Case:
    """One benchmark case: a loss (paired) or a distance matrix (all pairs) at one shape and dtype."""

    kind: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    reduction: str = "batch"
    all_pairs: bool = False
    ties: bool = False
    variants: dict[str, Step] = field(default_factory=dict)

    @property
    def name(self) -> str:
        what = "allpairs" if self.all_pairs else f"loss-{self.reduction}"
        name = f"{what}-{self.kind}-{'x'.join(map(str, self.shape))}-{str(self.dtype).removeprefix('torch.')}"
        return name + ("-tanh-ties" if self.ties else "")


def _per_sample(d: torch.Tensor) -> torch.Tensor:
    return d.flatten(1).mean(1) if d.dim() > 1 else d


def official(kind: str, reduction: str) -> Callable[..., torch.Tensor]:
    """MSGAN's formula written as plain tensor ops (the official code is kind="l1", reduction="batch")."""

    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = a.float(), b.float()
        if kind == "cosine":
            return 1 - torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1, eps=1e-8)
        d = b - a
        per = _per_sample(d.abs() if kind == "l1" else d * d)
        return per.sqrt() if kind == "l2" else per

    def loss(z1: torch.Tensor, z2: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        if reduction == "batch" and kind == "l1":  # the official code, verbatim
            lz = torch.mean(torch.abs(x2 - x1)) / torch.mean(torch.abs(z2 - z1))
            return 1 / (lz + EPS)
        if reduction == "batch":
            return 1 / (distance(x1, x2).mean() / torch.mean(torch.abs(z2 - z1)) + EPS)
        return (1 / (distance(x1, x2) / torch.abs(z2 - z1).mean(1) + EPS)).mean()

    return loss


def _grad_step(fn: Callable[..., torch.Tensor], args: Sequence[torch.Tensor], wrt: Sequence[torch.Tensor]) -> Step:
    return lambda: torch.autograd.grad(fn(*args), wrt)


def _floor_step(x: torch.Tensor) -> Step:
    dst = torch.empty_like(x)

    def step() -> Sequence[torch.Tensor]:
        for _ in range(3):
            dst.copy_(x)
        return ()

    return step


def sample_output(shape: tuple[int, ...], dtype: torch.dtype, g: torch.Generator, *, ties: bool) -> torch.Tensor:
    """Standard normal outputs, or generator-like ``tanh(8 z)`` (saturating to exactly +-1 in half precision)."""
    x = torch.randn(shape, device=g.device, generator=g)
    return (x.mul_(8.0).tanh_() if ties else x).to(dtype)


def paired_case(
    kind: str, shape: tuple[int, ...], dtype: torch.dtype, reduction: str, device: str, *, ties: bool = False
) -> Case:
    """One paired loss case. ``ties``: generator-like outputs, tanh(8 z) in ``dtype``, where saturation to exactly
    +-1 makes about a fifth of the elements tie in bfloat16 (the L1 backward's worst case for a tie-sensitive design).
    """
    case = Case(kind, shape, dtype, reduction, ties=ties)
    g = torch.Generator(device=device).manual_seed(0)
    z1, z2 = (torch.randn(shape[0], 8, device=device, generator=g) for _ in range(2))
    x1, x2 = (sample_output(shape, dtype, g, ties=ties).requires_grad_() for _ in range(2))
    formula = official(kind, reduction)
    case.variants["eager"] = _grad_step(formula, (z1, z2, x1, x2), (x1, x2))
    if device == "cpu":
        ref = lambda *a: mode_seeking_loss(*a, distance=kind, reduction=reduction, backend="torch")  # noqa: E731
        case.variants["reference"] = _grad_step(ref, (z1, z2, x1, x2), (x1, x2))
        return case
    case.variants["compile"] = _grad_step(torch.compile(formula), (z1, z2, x1, x2), (x1, x2))
    fused = lambda *a: mode_seeking_loss(*a, distance=kind, reduction=reduction, backend="triton")  # noqa: E731
    case.variants["fused"] = _grad_step(fused, (z1, z2, x1, x2), (x1, x2))
    op = lambda a, b: ops.paired_distance(a, b, kind, backend="triton").sum()  # noqa: E731
    case.variants["fused_op"] = _grad_step(op, (x1, x2), (x1, x2))
    case.variants["floor"] = _floor_step(x1.detach())
    return case


def pairwise_case(samples: int, features: tuple[int, ...], device: str) -> Case:
    shape = (samples, 1, *features)
    case = Case("l1", shape, torch.float32, all_pairs=True)
    x = torch.randn(shape, device=device, generator=torch.Generator(device=device).manual_seed(0)).requires_grad_()
    flat = lambda t: t.flatten(2).transpose(0, 1)  # noqa: E731 - (S, B, ...) -> (B, S, N)
    case.variants["cdist"] = _grad_step(lambda t: torch.cdist(flat(t), flat(t), p=1).sum(), (x,), (x,))
    case.variants["eager"] = _grad_step(lambda t: ops.pairwise_distance(t, backend="torch").sum(), (x,), (x,))
    case.variants["fused"] = _grad_step(lambda t: ops.pairwise_distance(t, backend="triton").sum(), (x,), (x,))
    case.variants["floor"] = _floor_step(x.detach())
    return case


def gpu_cases(quick: bool) -> list[Case]:
    f32, bf16 = torch.float32, torch.bfloat16
    if quick:
        return [
            paired_case("l1", (64, 3, 32, 32), f32, "batch", "cuda"),
            paired_case("l1", (64, 3, 128, 128), bf16, "sample", "cuda"),
            pairwise_case(8, (3, 64, 64), "cuda"),
        ]
    cases = [paired_case("l1", (64, 3, 32, 32), f32, "batch", "cuda")]
    for shape in [(256, 3, 256, 256), (1024, 3, 128, 128)]:
        for dtype in (f32, bf16):
            cases += [paired_case("l1", shape, dtype, reduction, "cuda") for reduction in ("batch", "sample")]
    cases.append(paired_case("l1", (256, 3, 256, 256), bf16, "batch", "cuda", ties=True))
    for kind in ("l2", "mse", "cosine"):
        cases += [paired_case(kind, (256, 3, 256, 256), dtype, "batch", "cuda") for dtype in (f32, bf16)]
    cases += [pairwise_case(s, (3, 256, 256), "cuda") for s in (8, 16, 32)]
    return cases


def cpu_cases(shapes: list[tuple[int, ...]]) -> list[Case]:
    return [paired_case("l1", shape, torch.float32, "batch", "cpu") for shape in shapes]


def time_gpu(steps: dict[str, Step], quick: bool) -> dict[str, tuple[float, float, float, float]]:
    """Per variant: (median and best CUDA-event ms, host wall ms per step, peak extra MiB), one after the other."""
    return {name: _time_gpu_step(step, quick) for name, step in steps.items()}


def _time_gpu_step(step: Step, quick: bool) -> tuple[float, float, float, float]:
    import triton.testing

    ms, best = triton.testing.do_bench(step, warmup=10 if quick else 25, rep=30 if quick else 100, quantiles=[0.5, 0.0])
    iters = 20 if quick else 100
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    torch.cuda.synchronize()
    wall = (time.perf_counter() - start) * 1e3 / iters
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    grads = step()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated() - base - sum(g.nbytes for g in grads)
    return ms, best, wall, extra / 2**20


CPU_REPEATS = 61


def time_cpu(
    steps: dict[str, Step], quick: bool, repeats: int = CPU_REPEATS
) -> dict[str, tuple[float, float, float, float]]:
    """Per variant: (median and best wall ms, the median again, no memory figure); the variants are interleaved step
    by step so that a drifting clock or a noisy neighbour affects them alike."""
    repeats = 3 if quick else repeats
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm up
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: (statistics.median(t), min(t), statistics.median(t), float("nan")) for name, t in times.items()}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


Timer = Callable[[dict[str, Step], bool], dict[str, tuple[float, float, float, float]]]


def run(cases: list[Case], timer: Timer, quick: bool, meta: dict) -> list[dict]:
    rows = []
    for case in cases:
        timed = timer(case.variants, quick)
        base = {k: timed[k][0] for k in ("floor", "compile", "eager") if k in timed}
        for name, (ms, best, wall, extra) in timed.items():
            rows.append({
                "case": case.name, "kind": case.kind, "reduction": "" if case.all_pairs else case.reduction,
                "shape": "x".join(map(str, case.shape)), "dtype": str(case.dtype).removeprefix("torch."),
                "variant": name, "time_ms": f"{ms:.4f}", "best_ms": f"{best:.4f}", "wall_ms": f"{wall:.4f}",
                "peak_extra_mib": f"{extra:.2f}",
                "x_floor": f"{ms / base['floor']:.3f}" if "floor" in base else "",
                "speedup_vs_compile": f"{base['compile'] / ms:.3f}" if "compile" in base else "",
                "speedup_vs_eager": f"{base['eager'] / ms:.3f}", **meta,
            })  # fmt: skip
        case.variants.clear()  # free the inputs and compiled graphs of this case
        print(f"{case.name:48s} " + "  ".join(f"{k} {v[0]:.3f}ms" for k, v in timed.items()), flush=True)
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict], path: Path, title: str) -> bool:
    """Bar chart of each variant's time over the floor (or over eager when there is no floor); False without plt."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = list(dict.fromkeys(r["case"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    key = "x_floor" if any(r["x_floor"] for r in rows) else "speedup_vs_eager"
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(cases) + 2), 4.5))
    width = 0.8 / len(variants)
    for k, variant in enumerate(variants):
        values = [next((float(r[key]) for r in rows if r["case"] == c and r["variant"] == variant and r[key]), 0.0)
                  for c in cases]  # fmt: skip
        ax.bar([i + k * width for i in range(len(cases))], values, width, label=variant)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))], cases, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("time / floor (lower is better)" if key == "x_floor" else "speed-up over eager")
    if key == "x_floor":
        ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.lower().split("x"))


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true", help="compare the reference path with the eager formula on CPU")
    parser.add_argument("--quick", action="store_true", help="fewer cases and repeats: a smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--shapes", type=str, default=None, help="CPU shapes, e.g. 64x3x128x128,16x3x64x64")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--repeats", type=int, default=CPU_REPEATS, help="CPU: interleaved steps per variant")
    args = parser.parse_args(argv)
    date = datetime.date.today().isoformat()
    meta = {"torch": torch.__version__, "date": date}
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cpu:
        default = "8x3x32x32" if args.quick else "64x3x128x128,16x3x64x64,8x3x256x256"
        shapes = [_shape(s) for s in (args.shapes or default).split(",")]
        name = cpu_model()
        threads = torch.get_num_threads()
        meta |= {"device": f"{name} ({threads} thread{'s' if threads != 1 else ''})", "triton": ""}
        timer = functools.partial(time_cpu, repeats=args.repeats)
        rows = run(cpu_cases(shapes), timer, args.quick, meta)
        stem = f"cpu-{date}"
    else:
        if not torch.cuda.is_available():
            parser.error("no CUDA device: run with --cpu, or on a machine with an NVIDIA GPU and Triton")
        import triton

        name = torch.cuda.get_device_name()
        meta |= {"device": name, "triton": triton.__version__}
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
        rows = run(gpu_cases(args.quick), time_gpu, args.quick, meta)
        stem = f"{_slug(name)}-{date}" + ("-quick" if args.quick else "")
    path = args.out / f"{stem}.csv"
    write_csv(rows, path)
    plotted = plot(rows, path.with_suffix(".png"), f"{name}, torch {torch.__version__}, {date}")
    print(f"wrote {path}" + (f" and {path.with_suffix('.png').name}" if plotted else ""))
    return path


if __name__ == "__main__":
    main()
