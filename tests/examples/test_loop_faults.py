"""The shared loop never loses a run: divergence, failing evaluations, mixed folders and resumes that change things.

A tiny in-process trainer (one linear generator, the real :func:`fit`) makes each fault happen at a chosen step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from examples.common import cli
from examples.common.checkpoint import CheckpointError, checkpoint_paths, load_checkpoint
from examples.common.divergence import DivergedError, non_finite
from examples.common.errors import RunError
from examples.common.loop import Parts, fit
from examples.common.runtime import Runtime
from torch_modeseek import ModeSeekingHook

PRESETS = {"builtin": {"epochs": 1, "batch_size": 2, "lr": 1e-2, "save_every": 2, "eval_every": 0}}


class _Items(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 64

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        return torch.full((3,), float(key[0]) / 64)


class _Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3 + 2, 3)

    def forward(self, cond: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([cond, z], 1))


def _train(out: Path, *argv: str, nan_loss_at=None, nan_weights_at=None, eval_fails=False, task="toy") -> int:
    parser = cli.base_parser("toy", ["builtin", "real"], PRESETS, default_out=str(out))
    args = cli.parse(parser, PRESETS, ["builtin", "real"], ["--out", str(out), "--device", "cpu", *argv])
    torch.manual_seed(args.seed)
    gen = _Generator()
    opt = torch.optim.SGD(gen.parameters(), lr=args.lr)
    hook = ModeSeekingHook(gen, latent="z", weight=args.ms_weight)
    parts = Parts(models={"G": gen}, optimizers={"G": opt}, hook=hook, scaler=torch.amp.GradScaler(enabled=False))
    done = {"steps": 0}

    def step(batch: torch.Tensor, rng: torch.Generator) -> dict[str, torch.Tensor]:
        done["steps"] += 1
        fake = gen(batch.repeat(2, 1), z=torch.randn(2 * len(batch), 2, generator=rng))
        loss = fake.pow(2).mean() + hook.loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if done["steps"] == nan_weights_at:
            with torch.no_grad():
                gen.net.weight.fill_(float("inf"))
        if done["steps"] == nan_loss_at:
            loss = loss * float("nan")
        return {"G": loss.detach()}

    def samples(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")

    def evaluate() -> tuple[dict, dict]:
        if eval_fails:
            raise OSError("image file is truncated (testA/7.jpg)")
        return {"score": 1.0}, {}

    return fit(args, Runtime(torch.device("cpu")), parts, _Items(), step, samples, evaluate, task=task)


def _steps(out: Path) -> list[int]:
    return [load_checkpoint(p)["step"] for p in checkpoint_paths(out / "checkpoints")]


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_finite_checkpoints(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(DivergedError, match=r"step 7: non-finite loss \(G=nan\); stopped without saving; the last "):
        _train(out, "--max-steps", "20", nan_loss_at=7)
    assert _steps(out) == [4, 6]  # step 7 never saved; nothing pruned in favour of it
    for path in checkpoint_paths(out / "checkpoints"):
        assert not non_finite({"G": load_checkpoint(path)["models"]["G"]["net.weight"]})
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped_by"] == "diverged"
    assert metrics["step"] == 6


def test_non_finite_weights_are_never_saved(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(DivergedError, match=r"the weights of G are not finite|non-finite loss"):
        _train(out, "--max-steps", "20", nan_weights_at=4)  # the save of step 4 sees the infinite weights
    assert _steps(out) == [2]


def test_divergence_before_any_save_says_so(tmp_path):
    with pytest.raises(DivergedError, match="no checkpoint was saved yet"):
        _train(tmp_path / "run", "--max-steps", "20", nan_loss_at=1)


def test_a_failing_final_evaluation_keeps_the_trained_steps(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(OSError, match="truncated"):
        _train(out, "--max-steps", "5", "--save-every", "100", eval_fails=True)
    assert _steps(out) == [5]  # saved before the evaluation, though --save-every was never reached
    assert "evaluation at step 5 failed; the checkpoint of step 5 is saved" in capsys.readouterr().err
    assert _train(out, "--max-steps", "5", "--save-every", "100", "--resume") == 0  # evaluates again, no step
    assert json.loads((out / "metrics.json").read_text())["evaluation"] == {"score": 1.0}


def test_a_failing_periodic_evaluation_keeps_its_step(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(OSError, match="truncated"):
        _train(out, "--max-steps", "20", "--save-every", "0", "--eval-every", "3", eval_fails=True)
    assert _steps(out) == [3]


def test_a_fresh_run_refuses_a_folder_with_another_runs_checkpoints(tmp_path):
    out = tmp_path / "run"
    _train(out, "--max-steps", "8", "--save-every", "2")
    before = {p.name: p.read_bytes() for p in checkpoint_paths(out / "checkpoints")}
    config = (out / "config.json").read_text()
    with pytest.raises(RunError, match=r"holds the checkpoints of another run \(latest: step_00000008\.pt\); pass "):
        _train(out, "--max-steps", "4", "--save-every", "2")
    assert {p.name: p.read_bytes() for p in checkpoint_paths(out / "checkpoints")} == before
    assert (out / "config.json").read_text() == config


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (["--lr", "0.5"], r"--lr 0\.5 \(checkpoint: 0\.01\)"),
        (["--seed", "3"], r"--seed 3 \(checkpoint: 0\)"),
        (["--ms-weight", "0"], r"--ms-weight 0\.0 \(checkpoint: 1\.0\)"),
        (["--batch-size", "4"], r"--batch-size 4 \(checkpoint: 2\)"),
    ],
)
def test_resume_refuses_options_that_change_what_is_trained(tmp_path, changed, message):
    out = tmp_path / "run"
    _train(out, "--max-steps", "4")
    with pytest.raises(RunError, match=rf"these options change what is trained: {message}; resume with"):
        _train(out, "--max-steps", "6", "--resume", *changed)
    assert _steps(out) == [2, 4]


def test_resume_applies_the_other_options_and_records_them(tmp_path, capsys):
    out = tmp_path / "run"
    _train(out, "--max-steps", "4")
    assert _train(out, "--max-steps", "6", "--resume", "--log-every", "3") == 0
    assert "--resume: new values of --log-every 10 -> 3, --max-steps 4 -> 6" in capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["max_steps"] == 6
    assert config["log_every"] == 3
    assert _steps(out) == [4, 6]


def test_resume_refuses_another_trainers_checkpoint(tmp_path):
    out = tmp_path / "run"
    _train(out, "--max-steps", "2", task="other_trainer")
    with pytest.raises(CheckpointError, match=r"step_00000002\.pt was written by other_trainer, not by toy"):
        _train(out, "--max-steps", "4", "--resume")


def test_resume_from_a_truncated_latest_checkpoint_continues_from_the_one_before(tmp_path, capsys):
    out = tmp_path / "run"
    _train(out, "--max-steps", "4")
    latest = out / "checkpoints" / "step_00000004.pt"
    latest.write_bytes(latest.read_bytes()[:200])
    assert _train(out, "--max-steps", "6", "--resume") == 0
    assert f"warning: checkpoint {latest}: it is unreadable" in capsys.readouterr().err
    assert _steps(out) == [4, 6]  # step 4 trained again from step 2 and saved intact


def test_orphaned_temporary_files_are_removed_at_start(tmp_path, capsys):
    out = tmp_path / "run"
    _train(out, "--max-steps", "2")
    (out / "checkpoints" / ".tmp_k1ll3d.pt").write_bytes(b"half")
    _train(out, "--max-steps", "4", "--resume")
    assert not list((out / "checkpoints").glob(".tmp_*"))
    assert "removed 1 temporary file(s) left by an interrupted save: .tmp_k1ll3d.pt" in capsys.readouterr().err
