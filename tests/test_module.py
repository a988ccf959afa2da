"""The module form: options, repr, state, all-pairs method."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from tests.helpers import batch, randn
from torch_modeseek import ModeSeekingLoss, mode_seeking_loss, mode_seeking_loss_all_pairs


def test_module_has_no_parameters_or_buffers():
    ms = ModeSeekingLoss()
    assert list(ms.parameters()) == []
    assert list(ms.buffers()) == []
    assert ms.state_dict() == {}


def test_default_repr_names_every_option():
    assert repr(ModeSeekingLoss()) == (
        "ModeSeekingLoss(distance='l1', latent_distance='l1', eps=1e-05, form='reciprocal', reduction='batch')"
    )


def test_repr_shows_non_default_options_and_callables():
    def perceptual(a, b):
        return (a - b).abs().flatten(1).mean(1)

    ms = ModeSeekingLoss(distance=perceptual, form="clamped", tau=3.0, detach_second=True, backend="torch")
    assert repr(ms) == (
        "ModeSeekingLoss(distance=perceptual, latent_distance='l1', eps=1e-05, form='clamped', reduction='batch', "
        "tau=3.0, detach_second=True, backend='torch')"
    )


def test_all_pairs_method_equals_functional():
    z, x = randn(4, 3, 8, seed=1), randn(4, 3, 2, 5, seed=2)
    ms = ModeSeekingLoss(distance="l2", reduction="sample")
    torch.testing.assert_close(ms.all_pairs(z, x), mode_seeking_loss_all_pairs(z, x, distance="l2", reduction="sample"))


def test_module_pickles_deepcopies_and_moves():
    ms = ModeSeekingLoss(distance="cosine", reduction="none")
    z1, z2, x1, x2 = batch(3, 8, (4, 4))
    expected = ms(z1, z2, x1, x2)
    for clone in (pickle.loads(pickle.dumps(ms)), copy.deepcopy(ms), ms.to(torch.float64)):
        torch.testing.assert_close(clone(z1, z2, x1, x2), expected)


def test_gradient_reaches_the_generator():
    torch.manual_seed(0)
    generator = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh())
    z = torch.randn(6, 8)
    x1, x2 = generator(z).chunk(2)
    ModeSeekingLoss()(*z.chunk(2), x1, x2).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


def test_options_read_as_attributes_and_set_with_validation():
    ms = ModeSeekingLoss(form="clamped", tau=2.0)
    assert (ms.form, ms.tau, ms.eps) == ("clamped", 2.0, 1e-5)
    assert ms.options._asdict()["tau"] == 2.0
    ms.tau = 3.0
    assert ms.options.tau == 3.0
    assert "tau=3.0" in repr(ms)
    with pytest.raises(ValueError, match=r"tau must be a positive finite number; got -1.0"):
        ms.tau = -1.0
    assert ms.tau == 3.0
    z1, z2, x1, x2 = batch(3, 8, (4, 4))
    torch.testing.assert_close(ms(z1, z2, x1, x2), mode_seeking_loss(z1, z2, x1, x2, form="clamped", tau=3.0))
