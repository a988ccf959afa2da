"""Smoke test of benchmarks/bench_ops.py in its CPU mode: it runs and writes the documented CSV (nothing is timed)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_ops", ROOT / "benchmarks" / "bench_ops.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_cpu_mode_writes_the_csv(tmp_path):
    bench = _load_bench()
    path = bench.main(["--cpu", "--quick", "--shapes", "2x3x4x4,3x5", "--out", str(tmp_path)])
    assert path.parent == tmp_path
    assert path.name.startswith("cpu-")
    assert path.suffix == ".csv"
    with path.open() as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == bench.COLUMNS
        rows = list(reader)
    assert [(r["shape"], r["variant"]) for r in rows] == [
        ("2x3x4x4", "eager"),
        ("2x3x4x4", "reference"),
        ("3x5", "eager"),
        ("3x5", "reference"),
    ]
    for row in rows:
        assert float(row["time_ms"]) > 0
        assert float(row["speedup_vs_eager"]) > 0
        assert row["device"]
        assert row["torch"]
        assert row["date"]


def test_official_formula_matches_the_loss():
    import torch

    from torch_modeseek import mode_seeking_loss

    bench = _load_bench()
    g = torch.Generator().manual_seed(0)
    z1, z2, x1, x2 = (torch.randn(4, *s, generator=g) for s in ((8,), (8,), (3, 5, 5), (3, 5, 5)))
    for kind in ("l1", "l2", "mse", "cosine"):
        for reduction in ("batch", "sample"):
            want = mode_seeking_loss(z1, z2, x1, x2, distance=kind, reduction=reduction)
            torch.testing.assert_close(bench.official(kind, reduction)(z1, z2, x1, x2), want)
