"""Helpers for the example-trainer tests: real-format fixtures and a subprocess runner with tiny presets."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from examples.common.trainers import TRAINERS, script

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {short: script(short) for short in TRAINERS}
# Tiny networks and evaluations: a few seconds per run on a CPU core.
TINY = {
    "dcgan": ["--ngf", "4", "--ndf", "4", "--batch-size", "4", "--eval-inputs", "80", "--eval-samples", "2",
              "--ndb-bins", "2"],
    "pix2pix": ["--ngf", "4", "--ndf", "4", "--batch-size", "2", "--eval-inputs", "2", "--eval-samples", "2",
                "--ndb-bins", "2"],
    "stackgan": ["--ngf", "8", "--ndf", "4", "--c-dim", "8", "--base-size", "8", "--batch-size", "2",
                 "--eval-inputs", "2", "--eval-samples", "2", "--ndb-bins", "2"],
    "drit": ["--ngf", "8", "--ndf", "4", "--crop-size", "32", "--d-layers", "2", "--batch-size", "2",
             "--eval-inputs", "2", "--eval-samples", "2", "--ndb-bins", "2"],
}  # fmt: skip


def trainer_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # the same thread count in every run: bitwise-comparable results
    return env


def trainer_cmd(task: str, out: Path, *args: str) -> list[str]:
    return [sys.executable, str(SCRIPTS[task]), "--out", str(out), "--device", "cpu", *TINY[task], *args]


def run_trainer(task: str, out: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        trainer_cmd(task, out, *args), env=trainer_env(), capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def read_metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def write_cifar(root: Path, per_batch: int = 20, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A tiny cifar-10-batches-py/ in the distributed format (Python-2-style bytes keys, protocol 2)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        labels[:10] = list(range(10))  # every class present
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * per_batch}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        first = first or (data, labels)
    meta = {b"label_names": [n.encode() for n in "abcdefghij"], b"num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return first


def write_aligned(root: Path, count: int = 4, size: int = 40) -> None:
    """A tiny pix2pix aligned dataset: {train,val}/<i>.jpg, A (left) red-ish, B (right) blue-ish."""
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        for i in range(count):
            ab = np.zeros((size, 2 * size, 3), dtype=np.uint8)
            ab[:, :size, 0] = 200 + i
            ab[:, size:, 2] = 200 - i
            Image.fromarray(ab).save(root / split / f"{i}.jpg", quality=95)


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    write_cifar(tmp_path / "cifar")
    return tmp_path / "cifar"


@pytest.fixture
def aligned_root(tmp_path: Path) -> Path:
    write_aligned(tmp_path / "facades")
    return tmp_path / "facades"
