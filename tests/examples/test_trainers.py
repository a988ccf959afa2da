"""Smoke runs of the trainers (a few steps with tiny networks), on built-in and real-format data, and bad input."""

from __future__ import annotations

import json

import pytest

from examples.common.trainers import TRAINERS

from .conftest import SCRIPTS, read_metrics, run_trainer


@pytest.mark.parametrize("task", list(TRAINERS))
def test_smoke_builtin(task, tmp_path):
    out = tmp_path / "run"
    proc = run_trainer(task, out, "--max-steps", "4", "--eval-every", "2", "--save-every", "2", "--log-every", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["step"] == 4
    assert metrics["stopped_by"] == "max_steps"
    assert metrics["dataset"] == "builtin"
    evaluation = metrics["evaluation"]
    for key in ("ndb", "ndb_k", "jsd", "diversity_l1", "modes_covered", "modes_classified"):
        assert isinstance(evaluation[key], float), key
    assert evaluation["modes"]["num_modes"] == 8
    assert [h["step"] for h in metrics["history"]] == [2, 4]
    for shown in ("ms_ratio=", "collapsed=", "min_ratio="):  # the progress bar: batch ratio, per-pair collapse
        assert shown in proc.stderr, shown
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [3, 4]  # every --log-every steps, and the last step
    assert {"ms_ratio", "collapsed", "min_ratio"} <= set(log[-1])
    assert 0.0 <= log[-1]["collapsed"] <= 1.0
    assert log[-1]["min_ratio"] <= log[-1]["ms_ratio"] or task == "drit"  # DRIT: min over both directions
    assert metrics["last_log"] == log[-1]
    config = json.loads((out / "config.json").read_text())
    assert config["max_steps"] == 4
    assert config["ms_weight"] == 1.0
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_00000002.png", "step_00000004.png"]
    assert (out / "ndb_bins.png").stat().st_size > 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000002.pt", "step_00000004.pt"]


def test_smoke_dcgan_on_cifar_format(tmp_path, cifar_root):
    out = tmp_path / "run"
    proc = run_trainer("dcgan", out, "--data-root", str(cifar_root), "--max-steps", "3", "--eval-inputs", "20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["dataset"] == "cifar10"
    assert metrics["step"] == 3
    assert "modes" not in metrics["evaluation"]
    assert set(metrics["evaluation"]["per_group"]) == set("abcdefghij")


def test_smoke_pix2pix_on_aligned_format(tmp_path, aligned_root):
    out = tmp_path / "run"
    args = [
        "--dataset",
        "maps",
        "--data-root",
        str(aligned_root),
        "--crop-size",
        "32",
        "--load-size",
        "36",
        "--d-layers",
        "2",
    ]
    proc = run_trainer("pix2pix", out, *args, "--max-steps", "3", "--direction", "AtoB", "--ms-weight", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["dataset"] == "maps"
    assert metrics["ms_weight"] == 0.0
    assert "modes" not in metrics["evaluation"]


@pytest.mark.parametrize(
    ("task", "args", "message"),
    [
        ("dcgan", ["--dataset", "imagenet"], "invalid choice: 'imagenet'"),
        ("pix2pix", ["--dataset", "cityscapes"], "invalid choice: 'cityscapes'"),
        ("dcgan", ["--dataset", "cifar10"], "--dataset cifar10 needs --data-root"),
        ("pix2pix", ["--data-root", "/nonexistent/facades"], "does not exist"),
        ("dcgan", ["--max-steps", "0"], "must be a positive integer"),
        ("pix2pix", ["--crop-size", "48"], "power of two"),
        ("pix2pix", ["--d-layers", "3"], "--d-layers 3 needs --crop-size >= 48"),
        ("stackgan", ["--ms-form", "clamped"], "--ms-form/--ms-tau: form='clamped' needs tau"),
        ("drit", ["--ms-tau", "0.5"], "--ms-form/--ms-tau: tau"),
        ("dcgan", ["--ms-reduction", "none"], "invalid choice: 'none'"),
    ],
)
def test_bad_cli_input_is_a_clear_error(task, args, message, tmp_path):
    proc = run_trainer(task, tmp_path / "run", *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr
    assert not (tmp_path / "run").exists()


def test_bad_data_root_shows_the_expected_layout(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_trainer("pix2pix", tmp_path / "run", "--data-root", str(tmp_path / "empty"))
    assert proc.returncode == 2
    assert "Expected layout" in proc.stderr
    assert "train/*.jpg" in proc.stderr
    proc = run_trainer("dcgan", tmp_path / "run", "--data-root", str(tmp_path / "empty"))
    assert proc.returncode == 2
    assert "cifar-10-batches-py/" in proc.stderr


@pytest.mark.parametrize("task", list(TRAINERS))
def test_help_documents_every_common_option(task):
    import subprocess
    import sys

    from .conftest import trainer_env

    text = subprocess.run(
        [sys.executable, str(SCRIPTS[task]), "--help"], env=trainer_env(), capture_output=True, text=True, check=True
    ).stdout
    options = "data-root out max-steps epochs batch-size ms-weight ms-distance seed device amp resume eval-every"
    for option in (options + " save-every num-workers ms-form ms-reduction ms-tau collapse-threshold").split():
        assert f"--{option}" in text, option


def test_the_trainer_list_is_the_one_the_docs_and_reproduce_use():
    """One list of trainers (examples/common/trainers.py): a script for each, each in the docs and the report."""
    from examples.common.trainers import TASKS, script

    repo = SCRIPTS["dcgan"].parents[1]
    examples_page = (repo / "docs" / "examples.md").read_text(encoding="utf-8")
    report = (repo / "docs" / "reproduction.md").read_text(encoding="utf-8")
    for task in TASKS:
        assert script(task).is_file()
        assert f"examples/{task}.py" in examples_page, task
        assert f"## {task}" in report, task
