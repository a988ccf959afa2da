"""Atomic checkpoints that resume a run exactly, loaded with ``torch.load(..., weights_only=True)``.

A checkpoint holds the step, the models, optimizers, LR schedulers and grad scaler, the mode-seeking hook's state,
the RNG states of the CPU, of every CUDA device, of Python's ``random`` and of numpy, and the run's config. It is
written to a temporary file in the same folder, flushed to disk and renamed over ``step_<N>.pt``, so a crash never
leaves a half-written checkpoint behind; only the newest ``keep`` files stay.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng", "latest_checkpoint", "load_checkpoint", "restore_rng", "save_checkpoint"]

_NAME = re.compile(r"^step_(\d+)\.pt$")


def capture_rng() -> dict[str, Any]:
    """RNG states of torch (CPU and every CUDA device), Python ``random`` and numpy, in ``weights_only`` types."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "gauss": (has_gauss, gauss),
        },
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng` returned (CUDA states only for the devices present now)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state((np_state["kind"], keys, np_state["pos"], *np_state["gauss"]))


def save_checkpoint(folder: str | Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` (plus ``step``) atomically to ``folder/step_<step>.pt`` and prune older files.

    Args:
        folder: the checkpoint folder (created when missing).
        step: the global step the state belongs to.
        state: tensors, containers and Python scalars only (so ``weights_only`` loading works).
        keep: how many of the newest checkpoints to keep (>= 1).

    Returns:
        The path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:08d}.pt"
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({**state, "step": step}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in sorted(p for p in folder.iterdir() if _NAME.match(p.name))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint with the highest step in ``folder``, or ``None``."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name)))
    return found[-1][1] if found else None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no code can run from the file)."""
    return torch.load(path, map_location=map_location, weights_only=True)
