"""DDP through torchrun: 2 CPU processes (gloo) for a few steps."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("task", ["dcgan", "drit"])
def test_ranks_end_with_identical_weights(task, tmp_path):
    # DRIT's second encoder/generator step uses gradients taken with torch.autograd.grad, which DDP does not
    # average; the trainer averages them itself. Without that the ranks drift apart after the first full iteration.
    probe = REPO / "tests" / "examples" / "ddp_weights_probe.py"
    prefix = tmp_path / "weights"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(probe),
           str(SCRIPTS[task]), str(prefix), "--out", str(tmp_path / "run"), "--device", "cpu", *TINY[task],
           "--max-steps", "6"]  # fmt: skip
    proc = subprocess.run(cmd, env=trainer_env(), capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"weights.rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0].keys() == ranks[1].keys()
    assert ranks[0] == ranks[1]
