"""The real presets' schedules are the official ones: per-epoch LR decay (Pix2Pix, DRIT), DRIT's per-epoch D schedule.

References written from the official code (HelenMao/MSGAN at e386c25): Pix2Pix's ``lambda_rule(epoch) = 1 - max(0,
epoch - niter) / (niter_decay + 1)`` and DRIT's ``1 - max(0, ep - n_ep_decay) / (n_ep - n_ep_decay + 1)``, each a
``LambdaLR`` stepped once after every epoch; DRIT's ``train.py`` updates the content discriminator alone when
``(it + 1) % d_iter != 0 and it < len(train_loader) - 2``, ``it`` counting from 0 in every epoch.
"""

from __future__ import annotations

import pytest
import torch

from examples import drit_yosemite, pix2pix_facades
from examples.common.runtime import Runtime
from examples.common.training import EpochLinearDecay


def official_factor(epoch: int, constant: int, decay: int) -> float:
    return 1.0 - max(0, epoch - constant) / float(decay + 1)


@pytest.mark.parametrize(("constant", "decay"), [(100, 100), (600, 600), (4, 4), (0, 3)])
@pytest.mark.parametrize("per_epoch", [1, 3, 7])
def test_epoch_decay_is_the_official_lambda_at_every_step(constant, decay, per_epoch) -> None:
    schedule = EpochLinearDecay(per_epoch, constant, decay)
    for step in range((constant + decay) * per_epoch):
        assert schedule(step) == official_factor(step // per_epoch, constant, decay)


def test_the_last_epochs_run_at_the_official_factors() -> None:
    assert EpochLinearDecay(10, 100, 100)(1999) == pytest.approx(2 / 101)  # Pix2Pix: 0.0198, not 0
    assert EpochLinearDecay(10, 600, 600)(11999) == pytest.approx(2 / 601)  # DRIT


def test_epoch_decay_through_lambda_lr_steps_once_per_iteration() -> None:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, EpochLinearDecay(per_epoch=2, constant_epochs=1, decay_epochs=2))
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([2e-4, 2e-4, 2e-4, 2e-4, 2e-4 * 2 / 3, 2e-4 * 2 / 3])


@pytest.mark.parametrize("per_epoch", range(1, 11))
def test_drit_content_schedule_is_the_official_loop(per_epoch) -> None:
    schedule = drit_yosemite.ContentSchedule(per_epoch)
    for iteration in range(3 * per_epoch):
        it = iteration % per_epoch  # enumerate(train_loader) restarts every epoch
        official = (it + 1) % 3 != 0 and it < per_epoch - 2
        assert schedule.content_only(iteration) == official


@pytest.mark.parametrize(
    ("trainer", "argv", "constant", "decay"),
    [
        (pix2pix_facades, ["--dataset", "facades"], 100, 100),
        (drit_yosemite, ["--dataset", "yosemite"], 600, 600),
        (drit_yosemite, ["--dataset", "cat2dog"], 600, 600),
    ],
)
def test_real_presets_use_the_official_schedules(trainer, argv, constant, decay) -> None:
    _, args = trainer.parse_args(argv, check_data=False)
    train_size = 400
    with Runtime.start("cpu", False, timeout=60) as runtime:
        if trainer is drit_yosemite:
            with torch.device("meta"):
                nets = trainer.make_networks(args)
            nets = trainer.wrap_networks({k: n.to_empty(device="cpu") for k, n in nets.items()}, runtime)
            parts, _, _, schedule = trainer.build_training(args, runtime, nets, train_size)
            assert schedule == drit_yosemite.ContentSchedule(train_size // args.batch_size)
        else:
            parts = trainer.build_training(args, runtime, train_size)
    per_epoch = train_size // args.batch_size
    for scheduler in parts.schedulers.values():
        assert scheduler.lr_lambdas[0] == EpochLinearDecay(per_epoch, constant, decay)
