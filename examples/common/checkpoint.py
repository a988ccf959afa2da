"""Atomic checkpoints that resume a run exactly, loaded with ``torch.load(..., weights_only=True)``.

A checkpoint holds the step, the models, optimizers, LR schedulers and grad scaler, the mode-seeking hook's state,
the RNG states of the CPU, of every CUDA device, of Python's ``random`` and of numpy, and the run's config. It is
written to a temporary file in the same folder, flushed to disk and renamed over ``step_<N>.pt``, so a crash never
leaves a half-written checkpoint behind; only the newest ``keep`` files stay. A save that fails (disk full, folder
not writable) removes its temporary file, leaves the earlier checkpoints as they were and raises
:class:`CheckpointError` naming the file and the operating system's reason. Loading tries the newest checkpoint first
and falls back, with a warning, to the newest one that is intact; temporary files orphaned by a killed save are
removed by :func:`remove_orphans`.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from examples.common.errors import RunError

__all__ = [
    "CheckpointError",
    "capture_rng",
    "check_writable",
    "checkpoint_paths",
    "latest_checkpoint",
    "load_checkpoint",
    "load_latest",
    "remove_orphans",
    "restore_rng",
    "save_checkpoint",
]

_NAME = re.compile(r"^step_(\d+)\.pt$")
_TEMPORARY = ".tmp_"  # prefix of the files that atomic writes rename into place


class CheckpointError(RunError):
    """A checkpoint could not be written or read; the message names the file and the reason."""


def _os_reason(error: BaseException) -> str:
    """The operating system's reason behind ``error`` (torch wraps a failed write in a RuntimeError), else its text."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


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

    Raises:
        CheckpointError: the file could not be written (e.g. disk full, folder not writable); the earlier checkpoints
            are untouched and no temporary file is left behind.
    """
    folder = Path(folder)
    path = folder / f"step_{step:08d}.pt"
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TEMPORARY, suffix=".pt", dir=folder)
        with os.fdopen(fd, "wb") as f:
            torch.save({**state, "step": step}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        earlier = checkpoint_paths(folder) if folder.is_dir() else []
        kept = f"; the earlier checkpoint {earlier[-1]} is intact" if earlier else ""
        raise CheckpointError(f"could not write checkpoint {path}: {_os_reason(error)}{kept}") from error
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    for old in checkpoint_paths(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def checkpoint_paths(folder: str | Path) -> list[Path]:
    """The ``step_<N>.pt`` files in ``folder``, oldest step first (empty when the folder does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    steps = {p: int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))}
    return sorted(steps, key=steps.__getitem__)


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint with the highest step in ``folder``, or ``None``."""
    found = checkpoint_paths(folder)
    return found[-1] if found else None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no code can run from the file).

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, holds objects that a weights-only load refuses, or
            is not a checkpoint of these trainers; the message names the file.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, OSError, ... by the damage
        if isinstance(error, pickle.UnpicklingError) and "Weights only load failed" in str(error):
            reason = "it holds objects that a weights-only load refuses (not a checkpoint of these trainers)"
        else:
            reason = f"it is unreadable ({_os_reason(error)})"
        raise CheckpointError(f"checkpoint {path}: {reason}") from error
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"checkpoint {path}: it is not a checkpoint of these trainers (no step)")
    return state


def load_latest(
    folder: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Path, dict[str, Any]] | tuple[None, None]:
    """The newest checkpoint in ``folder`` that loads, and its state; ``(None, None)`` when the folder has none.

    A newest checkpoint that is truncated or corrupt is skipped with a warning on stderr naming it, and the one
    before it is tried.

    Raises:
        CheckpointError: the folder holds checkpoints and none of them loads.
    """
    found = checkpoint_paths(folder)
    failures: list[str] = []
    for path in reversed(found):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as error:
            failures.append(str(error))
            print(f"warning: {error}; trying the checkpoint before it", file=sys.stderr)
    if found:
        raise CheckpointError(f"no checkpoint in {folder} loads: {'; '.join(failures)}")
    return None, None


def remove_orphans(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed atomic writes left in ``folder`` (``.tmp_*``); returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    orphans = sorted(p for p in folder.iterdir() if p.name.startswith(_TEMPORARY) and p.is_file())
    for path in orphans:
        path.unlink(missing_ok=True)
    return orphans


def check_writable(folder: str | Path) -> None:
    """Create ``folder`` when missing and check that a file can be written in it.

    Raises:
        CheckpointError: the folder cannot be created or written (read-only, a file in the way, ...).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=_TEMPORARY, suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise CheckpointError(f"cannot write to {folder}: {_os_reason(error)}") from error
