"""Each fact has one home: the options' defaults, the hook's term (through the loss module it is given)."""

from __future__ import annotations

import inspect

import pytest
import torch

from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, mode_seeking_loss, mode_seeking_loss_all_pairs
from torch_modeseek._checks import DEFAULTS, LossOptions
from torch_modeseek.pairing import paired_inputs


@pytest.mark.parametrize("fn", [mode_seeking_loss, mode_seeking_loss_all_pairs, ModeSeekingLoss.__init__])
def test_every_signature_takes_its_defaults_from_the_options(fn):
    parameters = inspect.signature(fn).parameters
    for name in LossOptions._fields:
        assert parameters[name].default == getattr(DEFAULTS, name), name
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_module_options_are_plain_validated_attributes():
    assert "__getattr__" not in vars(ModeSeekingLoss)
    assert "__setattr__" not in vars(ModeSeekingLoss)
    loss = ModeSeekingLoss()
    assert loss.options == DEFAULTS
    loss.eps = 1e-4
    assert loss.options.eps == 1e-4
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        loss.eps = 0.0
    assert loss.eps == 1e-4
    with pytest.raises(ValueError, match="form='clamped' needs tau"):
        loss.form = "clamped"


class _Generator(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(3 + 4, 6)

    def forward(self, cond, z):
        return self.net(torch.cat([cond, z], dim=1))


def _hook_term(loss):
    torch.manual_seed(0)
    generator = _Generator()
    hook = ModeSeekingHook(generator, loss=loss)
    cond, z = paired_inputs(torch.eye(3), 4)
    generator(cond, z=z)
    return hook.loss(), hook


def test_the_hook_adds_what_its_loss_module_computes():
    class Doubled(ModeSeekingLoss):
        def forward(self, z1, z2, x1, x2):
            return 2 * super().forward(z1, z2, x1, x2)

    plain, hook = _hook_term(ModeSeekingLoss())
    doubled, doubled_hook = _hook_term(Doubled())
    torch.testing.assert_close(doubled, 2 * plain)
    torch.testing.assert_close(doubled_hook.last_ratios, hook.last_ratios)


def test_the_hook_splits_the_pair_without_select_nodes():
    """unbind: one backward node per tensor, no zero-filled full-size buffer per half (as x[0], x[1] make)."""
    term, _ = _hook_term(ModeSeekingLoss())
    names, stack, seen = set(), [term.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(fn for fn, _ in node.next_functions)
    assert "UnbindBackward0" in names
    assert "SelectBackward0" not in names
