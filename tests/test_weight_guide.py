"""Smoke test of benchmarks/weight_guide.py: a few steps of two configurations write the documented outputs."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]


def _load_guide():
    spec = importlib.util.spec_from_file_location("weight_guide", ROOT / "benchmarks" / "weight_guide.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_tiny_grid_writes_the_outputs(tmp_path):
    guide = _load_guide()
    out, assets = tmp_path / "out", tmp_path / "assets"
    argv = ["--configs", "baseline", "clamped-1", "--seeds", "0", "--steps", "6", "--tail", "3"]
    argv += ["--eval-per-class", "12", "--pairs", "10", "--ndb-restarts", "1", "--date", "2026-12-03"]
    path = guide.main([*argv, "--out", str(out), "--docs-assets", str(assets)])

    assert path == out / "weight_guide.json"
    report = json.loads(path.read_text())
    assert report["date"] == "2026-12-03"
    assert report["machine"]
    assert {"torch", "torch_modeseek", "scikit-learn"} <= set(report["versions"])
    assert report["settings"]["steps"] == 6
    assert 0 < report["ceiling"] < 1
    assert 0 < report["real_diversity"] < 1
    assert 0 < report["real_overshoot"] < 1
    assert 0.9 < report["classifier"]["held_out_accuracy"] <= 1
    assert len(report["tutorial_width_init"]["ratio_init"]) == 1
    assert [row["config"] for row in report["summary"]] == ["baseline", "clamped-1"]
    assert [(run["config"], run["seed"]) for run in report["runs"]] == [("baseline", 0), ("clamped-1", 0)]
    for run in report["runs"]:
        assert 0 <= run["accuracy"] <= 1
        assert 0 <= run["ndb"] <= 10 * 5  # 10 classes x 5 bins
        assert 0 <= run["overshoot_end"] <= 1
        assert run["ratio_init"] > 0
        assert all(math.isfinite(run[key]) for key in guide.METRICS)
    baseline, clamped = report["runs"]
    assert baseline["ratio_init"] == clamped["ratio_init"]  # same seed, same initialisation
    assert clamped["term_init"] == pytest.approx(-min(clamped["ratio_init"], report["ceiling"]), rel=1e-4)

    with (out / "runs.csv").open() as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == guide.RUN_COLUMNS
        rows = list(reader)
    expected = [("baseline", "reciprocal", "0"), ("clamped-1", "clamped", "1")]
    assert [(r["config"], r["form"], r["weight"]) for r in rows] == expected
    with (out / "summary.csv").open() as fh:
        summary = list(csv.DictReader(fh))
    assert [r["config"] for r in summary] == ["baseline", "clamped-1"]
    assert all(float(r["accuracy_std"]) == 0 and r["seeds"] == "1" for r in summary)

    for name in ("weight_guide.png", "samples.png"):
        for folder in (out, assets):
            assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
