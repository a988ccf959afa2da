"""The training loop every trainer shares: data, steps, progress, checkpoints, signals, evaluation, metrics.json.

A trainer builds its networks, optimizers and :class:`~torch_modeseek.ModeSeekingHook` into :class:`Parts`, and
hands :func:`fit` three functions: ``step(batch, rng)`` (one training iteration; returns detached losses),
``samples(path)`` (writes the fixed-latent grid) and ``evaluate()`` (returns the evaluation summary and the NDB
results to plot). :func:`fit` does the rest:

- the step count: ``--max-steps`` when given, else ``--epochs`` passes; a resumed run continues to the same end;
- data order and per-step randomness as pure functions of ``(seed, step, rank)``
  (:class:`~examples.common.data.sampler.StepBatches`; ``rng`` is a fresh ``torch.Generator`` per step), so a
  resumed run repeats an uninterrupted one bit for bit on the CPU;
- every ``--log-every`` steps, the losses and the mode-seeking ratios on the progress bar and in ``train_log.jsonl``:
  the batch ratio, the share of pairs whose own ratio is below ``--collapse-threshold`` (conditions whose samples
  coincide), the smallest per-pair ratio and, where the data gives a ceiling, the share of pairs past it
  (:func:`pair_ratio_summary`);
- checkpoints every ``--save-every`` steps, at the end, and on SIGINT/SIGTERM (then it exits with 128 + signal);
- evaluation, grid and ``metrics.json`` every ``--eval-every`` steps and at the end (on a signal: ``metrics.json``
  with the latest evaluation, no new one); in DDP only rank 0 evaluates and writes files. A checkpoint is saved
  before every evaluation, so a failing evaluation never costs trained steps (``--resume`` evaluates again);
- nothing is lost or mixed: the output folder is checked before step 1 and a fresh run never starts over another
  run's checkpoints (:func:`~examples.common.run_folder.prepare_run_folder`); a resume loads the newest intact
  checkpoint and refuses options that change what is trained (:func:`~examples.common.run_folder.check_resume_config`);
- a non-finite loss stops the run at once, and a checkpoint is never written from non-finite weights, so the last
  finite checkpoint stays (the run then fails with a :class:`~examples.common.divergence.DivergedError`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from examples.common.checkpoint import (
    CheckpointError,
    capture_rng,
    latest_checkpoint,
    load_latest,
    restore_rng,
    save_checkpoint,
)
from examples.common.cli import write_json, write_text
from examples.common.data.sampler import StepBatches, steps_per_epoch
from examples.common.data.seeding import derive_seed
from examples.common.divergence import DivergedError, non_finite
from examples.common.evaluation import plot_ndb
from examples.common.run_folder import check_resume_config, prepare_run_folder
from examples.common.runtime import Runtime, unwrap
from torch_modeseek import ModeSeekingHook, overshoot

__all__ = ["Parts", "fit", "pair_ratio_summary", "total_steps"]

_STEP_TAG = 0x57E9  # keeps per-step seeds apart from the data seeds
TRAINING_LOG = "train_log.jsonl"  # one JSON object per --log-every steps: step, losses, mode-seeking ratios
StepFn = Callable[[Any, torch.Generator], dict[str, torch.Tensor]]


@dataclass
class Parts:
    """What a checkpoint holds besides the step, RNG states and config.

    Attributes:
        models: the networks by name (DDP-wrapped or not; the plain module is saved).
        optimizers: by name.
        hook: the mode-seeking hook of the generator.
        scaler: the AMP gradient scaler (disabled without AMP).
        schedulers: LR schedulers by name; :func:`fit` steps each once per iteration.
        extra_hooks: further mode-seeking hooks by name (e.g. one per translation direction); saved and restored
            with the rest; the progress bar shows ``hook``'s ratio.
    """

    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    hook: ModeSeekingHook
    scaler: torch.amp.GradScaler
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = field(default_factory=dict)
    extra_hooks: dict[str, ModeSeekingHook] = field(default_factory=dict)

    def hooks(self) -> list[ModeSeekingHook]:
        """The mode-seeking hooks: ``hook`` first, then ``extra_hooks``."""
        return [self.hook, *self.extra_hooks.values()]

    def state_dict(self) -> dict[str, Any]:
        """Everything the parts hold, in ``weights_only``-loadable types."""
        return {
            "models": {k: unwrap(m).state_dict() for k, m in self.models.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "hook": self.hook.state_dict(),
            "extra_hooks": {k: h.state_dict() for k, h in self.extra_hooks.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for k, m in self.models.items():
            unwrap(m).load_state_dict(state["models"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.hook.load_state_dict(state["hook"])
        for k, h in self.extra_hooks.items():
            h.load_state_dict(state["extra_hooks"][k])


def pair_ratio_summary(
    hooks: list[ModeSeekingHook], threshold: float, ceiling: float | None = None
) -> dict[str, float]:
    """The mode-seeking ratios of the hooks' last terms, for the progress bar and the training log.

    ``ms_ratio`` is the ratio of the first hook (the batch ratio that the official term uses); ``collapsed`` is the
    share of pairs, over all hooks, whose per-pair ratio (:attr:`~torch_modeseek.ModeSeekingHook.last_ratios`) is
    below ``threshold``: conditions whose two samples (nearly) coincide, which the batch ratio hides while the other
    conditions are diverse; ``min_ratio`` is the smallest per-pair ratio. With the data's ``ceiling``
    (:func:`torch_modeseek.diversity_ceiling`), ``overshoot`` is the share of pairs whose ratio is past it: samples
    spread further apart than the real data's, the opposite failure. Empty before the first term.

    Example:
        >>> from types import SimpleNamespace
        >>> hook = SimpleNamespace(last_ratio=torch.tensor(0.3), last_ratios=torch.tensor([0.0, 0.4, 0.5, 0.3]))
        >>> pair_ratio_summary([hook], 0.02, ceiling=0.45)
        {'ms_ratio': 0.30000001192092896, 'collapsed': 0.25, 'min_ratio': 0.0, 'overshoot': 0.25}
    """
    ratios = [h.last_ratios.flatten() for h in hooks if h.last_ratios is not None]
    if not ratios or hooks[0].last_ratio is None:
        return {}
    pairs = torch.cat(ratios).float()
    summary = {
        "ms_ratio": float(hooks[0].last_ratio),
        "collapsed": float((pairs < threshold).float().mean()),
        "min_ratio": float(pairs.min()),
    }
    if ceiling is not None:
        summary["overshoot"] = overshoot(pairs, ceiling)
    return summary


def _ceiling(args: argparse.Namespace) -> float | None:
    """The resolved ``--ms-ceiling`` (a number), or ``None`` when the trainer has none."""
    value = getattr(args, "ms_ceiling", None)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _short(value: float) -> str:
    return f"{value:.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


class _Signals:
    """Record SIGINT/SIGTERM instead of dying, so the loop can save first."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch


def total_steps(args: argparse.Namespace, per_epoch: int) -> int:
    """The run's last step: ``--max-steps`` when given, else ``--epochs`` x ``per_epoch``."""
    return args.max_steps if args.max_steps is not None else args.epochs * per_epoch


class _Run:
    """State of one :func:`fit` call: files, history, the latest evaluation."""

    def __init__(self, args: argparse.Namespace, runtime: Runtime, parts: Parts, task: str) -> None:
        self.args, self.runtime, self.parts, self.task = args, runtime, parts, task
        self.out = Path(args.out)
        self.config = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}
        self.evaluation: dict[str, Any] | None = None
        self.evaluation_step: int | None = None
        self.saved_step: int | None = None
        self.history: list[dict[str, Any]] = []
        self.last_log: dict[str, Any] | None = None
        self.started = time.monotonic()

    @property
    def log_path(self) -> Path:
        return self.out / TRAINING_LOG

    @property
    def checkpoints(self) -> Path:
        return self.out / "checkpoints"

    def start_log(self, step: int) -> None:
        """Keep the training log's entries up to ``step`` (those of the run being resumed; none from step 0)."""
        if not self.runtime.is_main:
            return
        kept = []
        if step and self.log_path.is_file():
            for line in self.log_path.read_text().splitlines():
                with contextlib.suppress(ValueError):  # a line cut short by a kill mid-write
                    entry = json.loads(line)
                    if isinstance(entry, dict) and entry.get("step", step + 1) <= step:
                        kept.append(line)
        write_text(self.log_path, "".join(f"{line}\n" for line in kept))

    def log(self, entry: dict[str, Any]) -> None:
        """Append one entry (step, losses, mode-seeking ratios) to the training log."""
        self.last_log = entry
        if self.runtime.is_main:
            with self.log_path.open("a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

    def save(self, step: int) -> None:
        """Checkpoint ``step`` (rank 0); non-finite weights raise ``DivergedError`` instead (nothing is written)."""
        if self.saved_step == step:
            return
        bad = non_finite(self.parts.models)
        if bad:
            raise DivergedError(f"step {step}: the weights of {', '.join(bad)} are not finite; {self.kept()}")
        if self.runtime.is_main:
            state = {**self.parts.state_dict(), "rng": capture_rng(), "config": self.config, "task": self.task}
            state["world_size"] = self.runtime.world_size
            save_checkpoint(self.checkpoints, step, state)
        self.saved_step = step
        self.runtime.barrier()

    def kept(self) -> str:
        """Where the run can continue from: the last checkpoint saved, or that there is none."""
        latest = latest_checkpoint(self.checkpoints)
        if latest is None:
            return "no checkpoint was saved yet (a lower --lr or a warm-up may help)"
        return f"the last finite checkpoint, {latest}, is kept: --resume continues from it (a lower --lr may help)"

    def resume(self) -> int:
        path, state = load_latest(self.checkpoints, map_location=self.runtime.device)
        if path is None or state is None:
            if self.runtime.is_main:
                print(f"--resume: no checkpoint in {self.checkpoints}; starting from step 0", file=sys.stderr)
            return 0
        if state.get("task", self.task) != self.task:
            raise CheckpointError(f"--resume: {path} was written by {state['task']}, not by {self.task}")
        if state.get("world_size", self.runtime.world_size) != self.runtime.world_size:
            raise CheckpointError(
                f"--resume: {path} was trained by {state['world_size']} processes, this run has "
                f"{self.runtime.world_size} (the batches would change); resume with the same number of processes"
            )
        applied = check_resume_config(state["config"], self.config, path)
        if applied and self.runtime.is_main:
            print(f"--resume: new values of {', '.join(applied)}", file=sys.stderr)
        try:
            self.parts.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(f"--resume: {path} does not fit this trainer's networks ({reason})") from error
        restore_rng(state["rng"])
        metrics = self.out / "metrics.json"
        if metrics.is_file():
            previous = json.loads(metrics.read_text())
            self.history = [h for h in previous.get("history", []) if h["step"] <= state["step"]]
            self.evaluation, self.evaluation_step = previous.get("evaluation"), previous.get("evaluation_step")
        self.saved_step = int(state["step"])
        return int(state["step"])

    def evaluate(self, step: int, samples: Callable[[Path], None], evaluate: Callable[[], Any]) -> None:
        """Save ``step`` first, then write the grid and evaluate (rank 0)."""
        self.save(step)
        if self.runtime.is_main:
            try:
                samples(self.out / "samples" / f"step_{step:08d}.png")
                summary, ndb_results = evaluate()
            except Exception:
                print(
                    f"the evaluation at step {step} failed; the checkpoint of step {step} is saved in "
                    f"{self.checkpoints} (--resume evaluates again)",
                    file=sys.stderr,
                )
                raise
            self.evaluation, self.evaluation_step = summary, step
            scalars = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
            self.history.append({"step": step, **scalars})
            if ndb_results:
                plot_ndb(ndb_results, self.out / "ndb_bins.png", f"{self.task} step {step}: NDB bin proportions")
        self.runtime.barrier(slow=True)

    def write_metrics(self, step: int, total: int, stopped_by: str) -> None:
        if not self.runtime.is_main:
            return
        payload = {
            "task": self.task,
            "dataset": self.args.dataset,
            "ms_weight": self.args.ms_weight,
            "step": step,
            "total_steps": total,
            "stopped_by": stopped_by,
            "world_size": self.runtime.world_size,
            "seconds": round(time.monotonic() - self.started, 1),
            "evaluation_step": self.evaluation_step,
            "evaluation": self.evaluation,
            "history": self.history,
            "training_log": TRAINING_LOG,
            "last_log": self.last_log,
        }
        write_json(self.out / "metrics.json", payload)


def fit(
    args: argparse.Namespace,
    runtime: Runtime,
    parts: Parts,
    dataset: Dataset,
    step: StepFn,
    samples: Callable[[Path], None],
    evaluate: Callable[[], tuple[dict[str, Any], dict[str, Any]]],
    task: str,
) -> int:
    """Train to the end (or a signal) and evaluate; returns the process exit status (0, or 128 + signal).

    The caller opened ``runtime`` (``with Runtime.start(...) as runtime:``) and closes it.

    Args:
        args: parsed options of :func:`examples.common.cli.base_parser` plus the trainer's.
        runtime: device and process group.
        parts: models, optimizers, schedulers, scaler and hook.
        dataset: training items keyed by ``(index, seed)``.
        step: one iteration on a batch already on the device, with a per-step generator; returns losses.
        samples: writes the sample grid PNG to the given path (rank 0, under ``evaluating``).
        evaluate: the evaluation, ``(summary, ndb_results)`` (rank 0).
        task: the trainer's name (in checkpoints and metrics).

    Raises:
        RunError: the output folder cannot be used (another run's checkpoints, not writable), the checkpoint to
            resume cannot be read or does not match, a save failed, or the run diverged
            (:class:`~examples.common.divergence.DivergedError`); the
            message is one line naming the file or option at fault.
    """
    run = _Run(args, runtime, parts, task)
    with contextlib.closing(runtime):  # the process group is left on every way out
        return _train(run, dataset, step, samples, evaluate)


def _train(
    run: _Run,
    dataset: Dataset,
    step: StepFn,
    samples: Callable[[Path], None],
    evaluate: Callable[[], tuple[dict[str, Any], dict[str, Any]]],
) -> int:
    args, runtime, parts, task = run.args, run.runtime, run.parts, run.task
    total = total_steps(args, steps_per_epoch(len(dataset), args.batch_size, runtime.world_size))
    prepare_run_folder(run.out, args.resume, runtime.is_main)
    start = run.resume() if args.resume else 0
    if runtime.is_main:
        write_json(run.out / "config.json", run.config)  # the options in effect (a resume checked them)
    run.start_log(start)
    sampler = StepBatches(len(dataset), args.batch_size, args.seed, start, total, runtime.rank, runtime.world_size)
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=args.num_workers,
        pin_memory=runtime.device.type == "cuda",
        generator=torch.Generator().manual_seed(args.seed),  # the workers' base seed; items do not use it
    )
    signals = _Signals()
    bar = tqdm(total=total, initial=start, disable=not runtime.is_main, dynamic_ncols=True, desc=task)
    current, stopped_by = start, "max_steps" if args.max_steps is not None else "epochs"
    try:
        for batch in loader:
            rng = torch.Generator().manual_seed(derive_seed(args.seed, _STEP_TAG, current, runtime.rank))
            losses = runtime.collective(lambda: step(_to_device(batch, runtime.device), rng))  # noqa: B023
            bad = non_finite(losses)
            if runtime.any_rank(bool(bad)):
                values = ", ".join(f"{k}={float(v.float().mean()):.4g}" for k, v in losses.items())
                run.write_metrics(current, total, "diverged")
                raise DivergedError(
                    f"step {current + 1}: non-finite loss ({values}); stopped without saving; {run.kept()}"
                )
            with warnings.catch_warnings():  # schedules count global steps, also those an optimizer sat out
                warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
                for scheduler in parts.schedulers.values():
                    scheduler.step()
            current += 1
            bar.update(1)
            if current % args.log_every == 0 or current == total:
                entry = {"step": current, **{k: float(v) for k, v in losses.items()}}
                entry |= pair_ratio_summary(parts.hooks(), args.collapse_threshold, _ceiling(args))
                bar.set_postfix({k: _short(v) for k, v in entry.items() if k != "step"})
                run.log(entry)
            if runtime.any_rank(signals.received is not None):
                stopped_by = signal.Signals(signals.received or signal.SIGTERM).name
                break
            if args.save_every and current % args.save_every == 0 and current < total:
                run.save(current)
            if args.eval_every and current % args.eval_every == 0 and current < total:
                run.evaluate(current, samples, evaluate)
                run.write_metrics(current, total, "running")
        run.save(current)  # before the final evaluation: a failing evaluation never costs the trained steps
        if not stopped_by.startswith("SIG") and run.evaluation_step != current:
            run.evaluate(current, samples, evaluate)
        run.write_metrics(current, total, stopped_by)
    finally:
        bar.close()
        signals.restore()
    if stopped_by.startswith("SIG"):
        received = signals.received or signal.SIGTERM
        if runtime.is_main:
            print(f"stopped by {stopped_by} at step {current}; checkpoint saved, --resume continues", file=sys.stderr)
        return 128 + int(received)
    return 0
