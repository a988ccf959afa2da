"""Exact resumption: a run killed with SIGKILL and resumed ends with the weights of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import torch

from examples.common.checkpoint import latest_checkpoint, load_checkpoint

from .conftest import read_metrics, run_trainer, trainer_cmd, trainer_env

STEPS = {"dcgan": 24, "pix2pix": 20, "stackgan": 20, "drit": 20}


def _assert_same_state(a: dict, b: dict, path: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_state(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize("task", ["dcgan", "pix2pix", "stackgan", "drit"])
def test_sigkill_then_resume_equals_uninterrupted(task, tmp_path):
    total = STEPS[task]
    args = ["--max-steps", str(total), "--save-every", "5", "--eval-every", "12", "--num-workers", "1"]
    straight = tmp_path / "straight"
    proc = run_trainer(task, straight, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]

    killed = tmp_path / "killed"
    child = subprocess.Popen(trainer_cmd(task, killed, *args), env=trainer_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        latest = latest_checkpoint(killed / "checkpoints")
        if latest is not None and int(latest.stem.split("_")[1]) >= 10:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    interrupted_at = load_checkpoint(latest_checkpoint(killed / "checkpoints"))["step"]
    assert 10 <= interrupted_at < total, "the run must be killed mid-way"

    proc = run_trainer(task, killed, *args, "--resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = load_checkpoint(latest_checkpoint(straight / "checkpoints"))
    b = load_checkpoint(latest_checkpoint(killed / "checkpoints"))
    assert a["step"] == b["step"] == total
    for key in ("models", "optimizers", "schedulers", "hook", "scaler"):
        _assert_same_state(a[key], b[key], key)
    assert read_metrics(killed)["evaluation"] == read_metrics(straight)["evaluation"]


def test_sigterm_saves_a_checkpoint_and_metrics(tmp_path):
    out = tmp_path / "run"
    child = subprocess.Popen(
        trainer_cmd("dcgan", out, "--max-steps", "100000", "--save-every", "3"),
        env=trainer_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while latest_checkpoint(out / "checkpoints") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    metrics = read_metrics(out)
    assert metrics["stopped_by"] == "SIGTERM"
    assert 3 <= metrics["step"] < 100000
    assert load_checkpoint(latest_checkpoint(out / "checkpoints"))["step"] == metrics["step"]
    proc = run_trainer("dcgan", out, "--max-steps", str(metrics["step"] + 2), "--resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(out)["step"] == metrics["step"] + 2
