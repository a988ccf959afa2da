"""DDP through torchrun: 2 CPU processes (gloo) for a few steps."""

from __future__ import annotations

import subprocess
import sys

import pytest

from examples.common.checkpoint import latest_checkpoint, load_checkpoint

from .conftest import REPO, SCRIPTS, TINY, read_metrics, trainer_env


@pytest.mark.parametrize("task", ["dcgan", "pix2pix", "stackgan", "drit"])
def test_torchrun_two_cpu_processes(task, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(SCRIPTS[task]),
           "--out", str(out), "--device", "cpu", *TINY[task], "--max-steps", "3"]  # fmt: skip
    proc = subprocess.run(cmd, env=trainer_env(), capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    metrics = read_metrics(out)
    assert metrics["world_size"] == 2
    assert metrics["step"] == 3
    assert load_checkpoint(latest_checkpoint(out / "checkpoints"))["step"] == 3
