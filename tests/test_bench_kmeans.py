"""Smoke test of benchmarks/bench_kmeans.py: it runs both fits and writes the CSV (nothing is timed here)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_writes_both_fits(tmp_path):
    pytest.importorskip("sklearn")
    bench = load_script(ROOT / "benchmarks" / "bench_kmeans.py", "bench_kmeans")
    path = bench.main(["--quick", "--out", str(tmp_path)])
    rows = list(csv.DictReader(path.open()))
    assert [row["dtype"] for row in rows] == ["float32", "float64"]
    for row in rows:
        assert float(row["ours_s"]) > 0
        assert float(row["sklearn_s"]) > 0
        assert float(row["inertia_ours"]) == pytest.approx(float(row["inertia_sklearn"]), rel=0.2)
