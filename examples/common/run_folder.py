"""One run per output folder: start-up checks before step 1, and what a resume may change.

Before the first step, :func:`prepare_run_folder` checks that the output folder and its ``checkpoints/`` can be
written (a read-only folder fails now, not at the first save), removes the temporary files that killed atomic writes
left behind, and refuses a fresh run in a folder that holds another run's checkpoints: the new run would prune them on
its first saves and ``metrics.json`` would describe one run while ``--resume`` continues the other.

A resumed run must train what the checkpoint trained. :func:`check_resume_config` compares the options: those in
:data:`RESUMABLE` (how long, how often to save, log and evaluate, where the data and the weights live, which device)
take the new value, and the run's ``config.json`` records it; any other difference (dataset, network sizes,
learning rates, loss weights, seed, ...) is refused, with the checkpoint's values to resume with.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from examples.common.checkpoint import check_writable, checkpoint_paths, remove_orphans
from examples.common.errors import RunError

__all__ = ["RESUMABLE", "check_resume_config", "prepare_run_folder"]

#: options that a resumed run may change; every other option must equal the checkpoint's
RESUMABLE = frozenset({
    "out", "resume", "max_steps", "epochs", "save_every", "log_every", "eval_every", "eval_inputs", "eval_samples",
    "ndb_bins", "lpips_linear", "lpips_backbone", "fid_weights", "collapse_threshold", "data_root", "num_workers",
    "device", "ddp_timeout", "skip_data_check", "ms_ceiling",
})  # fmt: skip


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def prepare_run_folder(out: str | Path, resume: bool, is_main: bool = True) -> None:
    """Check ``out`` before the first step (rank 0 changes files; every rank checks).

    Args:
        out: the run's output folder (created when missing).
        resume: whether the run continues from ``out/checkpoints``.
        is_main: whether this process may change files (rank 0).

    Raises:
        RunError: the folder (or ``checkpoints/``) is not writable, or a fresh run would mix with the checkpoints
            of another run.
    """
    out = Path(out)
    folder = out / "checkpoints"
    existing = checkpoint_paths(folder)
    if existing and not resume:
        raise RunError(
            f"{out} holds the checkpoints of another run (latest: {existing[-1].name}); pass --resume to continue "
            "that run, or choose a new --out (or delete the folder) to start afresh"
        )
    if not is_main:
        return
    check_writable(out)
    check_writable(folder)
    orphans = remove_orphans(folder) + remove_orphans(out)
    if orphans:
        names = ", ".join(p.name for p in orphans)
        print(f"removed {len(orphans)} temporary file(s) left by an interrupted save: {names}", file=sys.stderr)


def check_resume_config(saved: Mapping[str, Any], current: Mapping[str, Any], checkpoint: str | Path) -> list[str]:
    """Compare a checkpoint's options with the new run's; returns the flags that changed and take the new value.

    Args:
        saved: the config stored in the checkpoint.
        current: the resumed run's config (the options it was started with).
        checkpoint: the checkpoint's path, for the message.

    Returns:
        The changed options of :data:`RESUMABLE`, as ``--flag old -> new`` texts.

    Raises:
        RunError: an option outside :data:`RESUMABLE` differs; the message lists each with the checkpoint's value.

    Example:
        >>> check_resume_config({"lr": 2e-4, "max_steps": 10}, {"lr": 2e-4, "max_steps": 20}, "step_10.pt")
        ['--max-steps 10 -> 20']
    """
    common = sorted(k for k in saved.keys() & current.keys() if saved[k] != current[k])
    refused = [f"{_flag(k)} {current[k]!r} (checkpoint: {saved[k]!r})" for k in common if k not in RESUMABLE]
    if refused:
        raise RunError(
            f"--resume from {checkpoint}: these options change what is trained: {', '.join(refused)}; resume with "
            "the checkpoint's values, or start a new run in another --out"
        )
    return [f"{_flag(k)} {saved[k]!r} -> {current[k]!r}" for k in common if k != "resume"]
