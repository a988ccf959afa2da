"""A rank that stops answering ends the others' wait after --ddp-timeout with one clear line, not 30 minutes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from examples.common.runtime import Runtime

from .conftest import REPO, run_trainer

PROBE = REPO / "tests" / "examples" / "ddp_timeout_probe.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_stopped_rank_fails_the_others_after_the_timeout(tmp_path):
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    ranks = [
        subprocess.Popen(
            [sys.executable, str(PROBE), "3"],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    started = time.monotonic()
    try:
        _, stderr = ranks[0].communicate(timeout=60)
        waited = time.monotonic() - started
    finally:
        for proc in ranks:
            proc.kill()
            proc.communicate()
    assert ranks[0].returncode == 1, stderr[-3000:]
    assert "error: rank 0: the other ranks did not answer within --ddp-timeout 3 s" in stderr
    assert "Traceback" not in stderr
    assert waited < 30


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_the_timeout_must_be_a_positive_number(timeout):
    with pytest.raises(ValueError, match="--ddp-timeout must be a positive number of seconds"):
        Runtime.start("cpu", timeout=timeout)


def test_the_trainers_refuse_a_bad_timeout_on_the_command_line(tmp_path):
    proc = run_trainer("dcgan", tmp_path / "run", "--ddp-timeout", "0")
    assert proc.returncode == 2
    assert "argument --ddp-timeout: must be a finite number > 0, got 0" in proc.stderr
