"""benchmarks/reproduce.py: aggregation, verdicts and reuse of finished runs (no training here)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce.py"


@pytest.fixture(scope="module")
def reproduce():
    module = load_script(SCRIPT, "reproduce")
    yield module
    sys.modules.pop("reproduce", None)


def test_mean_and_sample_std(reproduce):
    assert reproduce.mean_std([1.0]) == (1.0, 0.0)
    mean, std = reproduce.mean_std([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert std == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("m0", "s0", "m1", "s1", "higher", "verdict"),
    [
        (0.1, 0.01, 0.2, 0.01, True, "helped"),
        (0.1, 0.01, 0.2, 0.01, False, "did not help"),
        (5.0, 0.5, 4.0, 0.2, False, "helped"),
        (0.10, 0.02, 0.11, 0.02, True, "better, within the seed spread"),
        (0.10, 0.02, 0.09, 0.02, True, "worse, within the seed spread"),
        (3.0, 0.0, 3.0, 0.0, True, "no change"),
        (0.0, 0.0, 0.0, 0.0, True, "0 in both runs: no sample came within the mode radius; see the modes hit"),
    ],
)
def test_verdicts(reproduce, m0, s0, m1, s1, higher, verdict):
    assert reproduce.compare(m0, s0, m1, s1, higher) == verdict


def fake_run(path: Path, step: int, diversity: float) -> dict:
    metrics = {"step": step, "stopped_by": "max_steps", "seconds": 1.0, "evaluation": {"diversity_l1": diversity}}
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(json.dumps(metrics))
    return metrics


def test_finished_runs_are_reused_and_the_report_is_written(reproduce, tmp_path):
    runs = {}
    for weight in reproduce.WEIGHTS:
        runs[weight] = [
            fake_run(reproduce.run_dir(tmp_path, "dcgan_cifar10", weight, seed), 7, 0.1 + weight * 0.1 + seed * 0.001)
            for seed in (0, 1)
        ]
    assert reproduce.finished(reproduce.run_dir(tmp_path, "dcgan_cifar10", 1.0, 0), max_steps=7)
    assert not reproduce.finished(reproduce.run_dir(tmp_path, "dcgan_cifar10", 1.0, 0), max_steps=8)
    reused = reproduce.run_one("dcgan_cifar10", 1.0, 1, tmp_path, max_steps=7)  # no training: metrics.json is reused
    assert reused == runs[1.0][1]
    args = argparse.Namespace(seeds=[0, 1], max_steps=7, jobs=1, out=tmp_path)
    text = reproduce.report(
        {"dcgan_cifar10": runs}, args, tmp_path / "assets", tmp_path / "report.md", ["--seeds", "0"]
    )
    assert "## dcgan_cifar10" in text
    assert "| diversity (pixel L1 between samples of one condition) (higher is better) | 0.1005 +/- 0.00071 | " in text
    assert "| helped |" in text
    assert "Steps per run: 7" in text


def test_a_partial_run_rewrites_only_its_sections(reproduce, tmp_path):
    runs = {w: [fake_run(reproduce.run_dir(tmp_path, "stackgan_birds", w, 0), 5, 0.2 + w)] for w in reproduce.WEIGHTS}
    previous = "# old title\n\nold intro\n\n## dcgan_cifar10\n\nkept table\n\n## stackgan_birds\n\nold table\n"
    args = argparse.Namespace(seeds=[0], max_steps=5, jobs=1, out=tmp_path)
    argv = ["--tasks", "stackgan_birds"]
    text = reproduce.report({"stackgan_birds": runs}, args, tmp_path / "a", tmp_path / "r.md", argv, previous)
    assert text.startswith(reproduce.HEADER[0])
    assert "## dcgan_cifar10\n\nkept table\n" in text
    assert "old table" not in text
    assert text.index("## dcgan_cifar10") < text.index("## stackgan_birds")
    assert "- Command: `python benchmarks/reproduce.py --tasks stackgan_birds`; seeds 0" in text
    assert "Not in this report yet: pix2pix_facades, drit_yosemite." in text


def test_captions_read_at_the_page_width(reproduce):
    from PIL import Image

    grids = [Image.new("RGB", (1100, 400), "gray"), Image.new("RGB", (1100, 400), "gray")]
    canvas = reproduce.captioned(grids, ["without the term (ms 0), seed 0", "with the term (ms 1), seed 0"])
    strip = canvas.height - 400
    assert canvas.width == 2216
    assert strip >= 90  # a 55 px font: about 1/40 of the width, legible when the page scales the picture down
    band = canvas.crop((0, 0, canvas.width, strip)).convert("L")
    assert band.getextrema()[0] < 50  # the labels are drawn
