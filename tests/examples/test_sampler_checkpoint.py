from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from examples.common.checkpoint import (
    capture_rng,
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from examples.common.data.sampler import StepBatches
from examples.common.training import EpochLinearDecay


def test_resumed_sampler_repeats_the_uninterrupted_batches():
    full = list(StepBatches(50, 4, seed=3, start_step=0, total_steps=30))
    assert len(full) == 30
    assert list(StepBatches(50, 4, seed=3, start_step=17, total_steps=30)) == full[17:]
    epoch0 = [i for batch in full[:12] for i, _ in batch]
    assert len(set(epoch0)) == 48  # one epoch = 12 steps of distinct items; the tail of 2 is dropped
    assert full[12] != full[0]  # a new permutation next epoch


def test_ranks_share_each_global_batch_without_overlap():
    ranks = [list(StepBatches(40, 5, seed=0, start_step=0, total_steps=4, rank=r, world_size=2)) for r in range(2)]
    for step in range(4):
        a, b = ({i for i, _ in ranks[r][step]} for r in range(2))
        assert len(a) == len(b) == 5
        assert not a & b


def test_too_small_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one global batch"):
        StepBatches(3, 4, seed=0, start_step=0, total_steps=1)


def test_checkpoints_are_atomic_pruned_and_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, EpochLinearDecay(2, 5, 10))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched.step()
    for step in (1, 2, 3):
        save_checkpoint(
            tmp_path,
            step,
            {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "rng": capture_rng()},
        )
    (tmp_path / ".tmp_crashed.pt").write_bytes(b"half")  # a write killed before its rename is ignored
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_00000002.pt", "step_00000003.pt"]
    latest = latest_checkpoint(tmp_path)
    assert latest is not None
    assert latest.name == "step_00000003.pt"
    state = load_checkpoint(latest)  # weights_only=True inside
    assert state["step"] == 3
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    opt2.load_state_dict(state["opt"])
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, EpochLinearDecay(1, 0, 1))
    sched2.load_state_dict(state["sched"])
    assert sched2.lr_lambdas[0] == EpochLinearDecay(2, 5, 10)


def test_rng_states_round_trip():
    state = capture_rng()
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.rand(5), random.random(), np.random.rand(7)
    restore_rng(state)
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0])
    assert got[1:] == expected[1:]
