"""NDB's k-means fit against scikit-learn's KMeans on the same data, with the same runs, in one interleaved run.

Both cluster the same (N, d) samples into K clusters with ``n_init`` k-means++ restarts of at most ``max_iter``
Lloyd iterations (scikit-learn: ``algorithm="lloyd"``, its default ``tol``), on the CPU with the same thread count.
Data: pixel-like values (a mixture of K' Gaussian blobs around 0.5, clipped to [0, 1]) in float32 and float64.
Writes ``<out>/kmeans-<date>.csv`` with the median wall time of each and their ratio, and the inertia of each fit.

    python benchmarks/bench_kmeans.py                 # needs scikit-learn (the test extra)
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch_modeseek.metrics import kmeans

CASES = [(10000, 64, 20), (20000, 192, 50), (5000, 768, 100)]  # (N, d, K)


def data(n: int, d: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centres = 0.5 + 0.2 * torch.randn(32, d, generator=g, dtype=torch.float64)
    x = centres[torch.randint(0, 32, (n,), generator=g)] + 0.1 * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x.clamp(0, 1).to(dtype)


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else ``platform.processor()``."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> Path:
    """Time both on every case; write and return the CSV."""
    import sklearn
    from sklearn.cluster import KMeans

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-init", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "kmeans")
    parser.add_argument("--quick", action="store_true", help="one tiny case, one repeat: a smoke run")
    args = parser.parse_args(argv)
    cases = [(200, 8, 4)] if args.quick else CASES
    if args.quick:
        args.repeats, args.n_init = 1, 2
    threads = torch.get_num_threads()
    rows = []
    for n, d, k in cases:
        for dtype in (torch.float32, torch.float64):
            x = data(n, d, dtype)
            xn = x.numpy()
            ours, theirs, inertia = [], [], {}
            for repeat in range(args.repeats):
                start = time.perf_counter()
                res = kmeans(x, k, n_init=args.n_init, max_iter=args.max_iter,
                             generator=torch.Generator().manual_seed(repeat))  # fmt: skip
                ours.append(time.perf_counter() - start)
                inertia["ours"] = res.inertia
                start = time.perf_counter()
                sk = KMeans(k, n_init=args.n_init, max_iter=args.max_iter, algorithm="lloyd", random_state=repeat)
                sk.fit(xn)
                theirs.append(time.perf_counter() - start)
                inertia["sklearn"] = float(sk.inertia_)
            row = {
                "n": n, "d": d, "k": k, "dtype": str(dtype).removeprefix("torch."), "n_init": args.n_init,
                "ours_s": f"{statistics.median(ours):.3f}", "sklearn_s": f"{statistics.median(theirs):.3f}",
                "speedup_vs_sklearn": f"{statistics.median(theirs) / statistics.median(ours):.2f}",
                "inertia_ours": f"{inertia['ours']:.6g}", "inertia_sklearn": f"{inertia['sklearn']:.6g}",
                "threads": threads, "cpu": cpu_name(), "torch": torch.__version__, "numpy": np.__version__,
                "sklearn": sklearn.__version__, "date": datetime.date.today().isoformat(),
            }  # fmt: skip
            rows.append(row)
            quiet = ("cpu", "torch", "numpy", "sklearn", "date")
            print(", ".join(f"{key}={value}" for key, value in row.items() if key not in quiet))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"kmeans-{datetime.date.today().isoformat()}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
