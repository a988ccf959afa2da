"""StackGAN++ and DRIT trainers on real-format fixtures, their variants, and bad data roots (the smoke runs on the
built-in data, resume exactness and torchrun are parametrized in test_trainers, test_resume and test_ddp)."""

from __future__ import annotations

import pytest

from examples.common.checkpoint import latest_checkpoint, load_checkpoint

from .conftest import read_metrics, run_trainer
from .realformat import write_cub, write_unpaired


def test_stackgan_on_cub_format(tmp_path):
    write_cub(tmp_path / "birds")
    out = tmp_path / "run"
    proc = run_trainer("stackgan", out, "--data-root", str(tmp_path / "birds"), "--max-steps", "3", "--ms-weight", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["dataset"] == "cub"
    assert metrics["step"] == 3
    assert "modes" not in metrics["evaluation"]
    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    assert {"G", "G_ema", "D0", "D1", "D2"} <= set(state["models"])  # the EMA generator is saved


def test_stackgan_ema_generator_is_what_is_evaluated(tmp_path):
    out = tmp_path / "run"
    proc = run_trainer("stackgan", out, "--max-steps", "2", "--stages", "2", "--ema-decay", "0.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))["models"]
    assert set(state) == {"G", "G_ema", "D0", "D1"}
    differs = [k for k, v in state["G"].items() if v.is_floating_point() and not v.equal(state["G_ema"][k])]
    assert differs  # an average, not a copy


@pytest.mark.parametrize("dataset", ["yosemite", "cat2dog"])
def test_drit_on_unpaired_format(tmp_path, dataset):
    write_unpaired(tmp_path / "data")
    out = tmp_path / "run"
    args = ["--dataset", dataset, "--data-root", str(tmp_path / "data"), "--load-size", "36", "--max-steps", "3"]
    proc = run_trainer("drit", out, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["dataset"] == dataset
    assert set(metrics["evaluation"]["per_group"]) == {"A2B", "B2A"}
    assert (out / "config.json").read_text().count('"concat": ' + ("1" if dataset == "yosemite" else "0")) == 1


def test_drit_schedule_and_both_hooks_resume(tmp_path):
    out = tmp_path / "run"
    proc = run_trainer("drit", out, "--max-steps", "6", "--concat", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    assert int(state["models"]["iteration"]["count"]) == 6
    assert state["hook"]["step"] == state["extra_hooks"]["A"]["step"] == 2  # E/G on iterations 3 and 6 only


@pytest.mark.parametrize(("task", "expected"), [("stackgan", "char-CNN-RNN-embeddings.pickle"), ("drit", "trainA")])
def test_bad_data_root_shows_the_expected_layout(tmp_path, task, expected):
    (tmp_path / "empty").mkdir()
    proc = run_trainer(task, tmp_path / "run", "--data-root", str(tmp_path / "empty"))
    assert proc.returncode == 2
    assert "Expected layout" in proc.stderr
    assert expected in proc.stderr
    assert not (tmp_path / "run").exists()
