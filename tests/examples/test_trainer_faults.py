"""The trainers end every fault with one line naming the file or option at fault, and lose no trained step."""

from __future__ import annotations

import pytest

from examples.common.checkpoint import checkpoint_paths

from .badfiles import truncate, write_noise_image
from .conftest import read_metrics, run_trainer
from .realformat import write_unpaired


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("task", ["dcgan", "drit"])
def test_a_fresh_run_in_a_used_folder_refuses_and_keeps_its_checkpoints(task, tmp_path):
    out = tmp_path / "run"
    assert run_trainer(task, out, "--max-steps", "2").returncode == 0
    before = {p.name: p.read_bytes() for p in checkpoint_paths(out / "checkpoints")}
    proc = run_trainer(task, out, "--max-steps", "4")
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert "holds the checkpoints of another run (latest: step_00000002.pt); pass --resume" in line
    assert {p.name: p.read_bytes() for p in checkpoint_paths(out / "checkpoints")} == before


def test_a_diverging_run_stops_at_once_and_saves_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run_trainer("dcgan", out, "--max-steps", "12", "--save-every", "1", "--lr", "1e30")
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert line.startswith("error: step 1: non-finite loss (")
    assert "no checkpoint was saved yet" in line
    assert checkpoint_paths(out / "checkpoints") == []


@pytest.mark.parametrize(
    ("task", "args", "message"),
    [
        ("dcgan", ["--lr", "nan"], "argument --lr: must be a finite number > 0, got nan"),
        ("dcgan", ["--lr", "inf"], "argument --lr: must be a finite number > 0, got inf"),
        ("dcgan", ["--ms-weight", "nan"], "argument --ms-weight: must be a finite number >= 0, got nan"),
        ("dcgan", ["--weight-decay", "-1"], "argument --weight-decay: must be a finite number >= 0, got -1"),
        ("pix2pix", ["--lambda-l1", "nan"], "argument --lambda-l1: must be a finite number >= 0, got nan"),
        ("stackgan", ["--kl-weight", "inf"], "argument --kl-weight: must be a finite number >= 0, got inf"),
        ("stackgan", ["--ema-decay", "1"], "argument --ema-decay: must be a finite number >= 0 and < 1, got 1"),
        ("drit", ["--ms-tau", "nan"], "argument --ms-tau: must be a finite number > 0, got nan"),
    ],
)
def test_non_finite_options_are_refused_by_name(task, args, message, tmp_path):
    proc = run_trainer(task, tmp_path / "run", *args, "--max-steps", "1")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (tmp_path / "run").exists()


def test_resuming_into_another_trainers_folder_names_both(tmp_path):
    out = tmp_path / "run"
    assert run_trainer("pix2pix", out, "--max-steps", "2").returncode == 0
    proc = run_trainer("dcgan", out, "--max-steps", "4", "--resume")
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert "step_00000002.pt was written by pix2pix_facades, not by dcgan_cifar10" in line


def test_resuming_with_another_architecture_is_refused_by_option(tmp_path):
    out = tmp_path / "run"
    assert run_trainer("dcgan", out, "--max-steps", "2").returncode == 0
    proc = run_trainer("dcgan", out, "--max-steps", "4", "--resume", "--ngf", "8")
    assert proc.returncode == 1
    assert "--ngf 8 (checkpoint: 4)" in _one_error_line(proc.stderr)


def _unpaired_with_a_truncated_test_image(root):
    write_unpaired(root)
    bad = write_noise_image(root / "testA" / "1.jpg", width=80, height=60)  # not a grid input: read at evaluation
    return truncate(bad)


def test_a_truncated_test_image_stops_the_run_before_step_one_naming_it(tmp_path):
    bad = _unpaired_with_a_truncated_test_image(tmp_path / "data")
    out = tmp_path / "run"
    args = ["--dataset", "yosemite", "--data-root", str(tmp_path / "data"), "--load-size", "36", "--max-steps", "3"]
    proc = run_trainer("drit", out, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr
    assert "truncated" in proc.stderr
    assert not (out / "checkpoints").exists()  # nothing trained, nothing written


def test_a_bad_test_image_found_only_at_the_evaluation_costs_no_trained_step(tmp_path):
    bad = _unpaired_with_a_truncated_test_image(tmp_path / "data")
    out = tmp_path / "run"
    args = ["--dataset", "yosemite", "--data-root", str(tmp_path / "data"), "--load-size", "36", "--max-steps", "3"]
    proc = run_trainer("drit", out, *args, "--skip-data-check")
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert str(bad) in line
    assert "the evaluation at step 3 failed; the checkpoint of step 3 is saved" in proc.stderr
    assert [p.name for p in checkpoint_paths(out / "checkpoints")] == ["step_00000003.pt"]
    (tmp_path / "data" / "testA" / "1.jpg").unlink()
    write_noise_image(tmp_path / "data" / "testA" / "1.jpg", width=80, height=60)
    proc = run_trainer("drit", out, *args, "--resume")  # evaluates the saved step 3, trains nothing
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(out)["evaluation_step"] == 3


def test_an_output_folder_that_cannot_be_written_fails_before_step_one(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoints").write_text("a file where the checkpoint folder goes")
    proc = run_trainer("dcgan", out, "--max-steps", "2")
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert f"cannot write to {out / 'checkpoints'}: File exists" in line
    assert not (out / "train_log.jsonl").exists()  # nothing trained
