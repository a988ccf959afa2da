"""Smoke test of benchmarks/bench_ops.py in its CPU mode: it runs and writes the documented CSV (nothing is timed)."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[1]


def _load_bench():
    return load_script(ROOT / "benchmarks" / "bench_ops.py", "bench_ops")


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


def test_the_tie_heavy_case_ties_a_fifth_of_the_elements():
    bench = _load_bench()
    g = bench.torch.Generator().manual_seed(0)
    x1 = bench.sample_output((8, 3, 32, 32), bench.torch.bfloat16, g, ties=True)
    x2 = bench.sample_output((8, 3, 32, 32), bench.torch.bfloat16, g, ties=True)
    assert 0.18 < (x1 == x2).float().mean().item() < 0.3
    case = bench.paired_case("l1", (2, 3, 8, 8), bench.torch.bfloat16, "batch", "cpu", ties=True)
    assert case.name == "loss-batch-l1-2x3x8x8-bfloat16-tanh-ties"
