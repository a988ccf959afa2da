"""The trainers' data ceiling: overshoot logged beside collapse, --ms-tau data, --ms-warmup."""

from __future__ import annotations

import json

import pytest

from .conftest import read_metrics, run_trainer


@pytest.mark.parametrize("task", ["dcgan", "pix2pix"])
def test_built_in_runs_log_the_overshoot_beside_the_collapse(task, tmp_path):
    out = tmp_path / "run"
    proc = run_trainer(task, out, "--max-steps", "2", "--log-every", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "the data's ratio ceiling (l1): " in proc.stderr
    entry = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
    assert {"collapsed", "overshoot", "ms_ratio"} <= entry.keys()
    config = json.loads((out / "config.json").read_text())
    assert config["ms_ceiling"] > 0
    assert read_metrics(out)["last_log"]["overshoot"] == entry["overshoot"]


def test_ms_tau_data_clamps_at_the_estimated_ceiling(tmp_path):
    out = tmp_path / "run"
    args = ["--max-steps", "2", "--ms-form", "clamped", "--ms-tau", "data", "--ms-warmup", "4"]
    proc = run_trainer("pix2pix", out, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["ms_tau"] == config["ms_ceiling"] > 0
    assert config["ms_warmup"] == 4


def test_ms_tau_data_on_data_with_one_target_per_input_is_a_usage_error(tmp_path, aligned_root):
    args = ["--dataset", "facades", "--data-root", str(aligned_root), "--ms-form", "clamped", "--ms-tau", "data"]
    proc = run_trainer("pix2pix", tmp_path / "run", *args, "--max-steps", "1")
    assert proc.returncode == 2
    assert "--ms-tau data: facades has one target per input (or identical ones), so the data gives no ceiling" in (
        proc.stderr
    )


def test_without_a_ceiling_there_is_no_overshoot_entry(tmp_path, aligned_root):
    out = tmp_path / "run"
    args = ["--dataset", "facades", "--data-root", str(aligned_root), "--load-size", "36", "--crop-size", "32"]
    args += ["--d-layers", "2"]
    proc = run_trainer("pix2pix", out, *args, "--max-steps", "2", "--log-every", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    entry = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
    assert "collapsed" in entry
    assert "overshoot" not in entry
