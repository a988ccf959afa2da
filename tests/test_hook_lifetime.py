"""ModeSeekingHook edges: a forward that raises, loss() after remove(), deep copies and pickling."""

from __future__ import annotations

import copy
import io

import pytest
import torch

from tests.test_hooks import by_hand, cond_batch, make
from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, linear_decay, paired_inputs

NO_CAPTURE = r"no paired forward of the generator was captured since the last call"
REMOVED = (
    r"ModeSeekingHook.loss\(\): this hook was removed \(hook.remove\(\), or the end of its `with` block\), so it "
    r"captures no forward; create a new one, ModeSeekingHook\(generator, \.\.\.\), to add the term again"
)


def _features(module, cond2, z):
    """The mode-seeking term on the output of ``module.body`` by hand."""
    h = module.body(torch.cat([cond2, z], dim=1))
    z1, z2 = z.chunk(2)
    h1, h2 = h.chunk(2)
    return ModeSeekingLoss()(z1, z2, h1, h2)


def test_a_forward_that_raises_drops_the_previous_capture():
    generator = make()
    hook = ModeSeekingHook(generator)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied"):
        generator(cond2[:, :2], z=z)  # fails inside the forward, after the earlier forward was captured
    with pytest.raises(RuntimeError, match=NO_CAPTURE):
        hook.loss()
    generator(cond2, z=z)  # the hook works on as before
    torch.testing.assert_close(hook.loss(), by_hand(generator, cond2, z))


def test_a_forward_that_raises_after_the_selected_submodule_ran_leaves_nothing():
    generator = make()
    hook = ModeSeekingHook(generator, output=generator.body)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    with pytest.raises(TypeError):
        generator(cond2, z=z, scale="not a number")  # raises after body ran: its output must not be kept
    with pytest.raises(RuntimeError, match=NO_CAPTURE):
        hook.loss()
    generator(cond2, z=z)
    torch.testing.assert_close(hook.loss(), _features(generator, cond2, z))


def test_a_forward_without_gradients_that_raises_keeps_the_capture():
    generator = make()
    hook = ModeSeekingHook(generator)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"mat1 and mat2"):
        generator(cond2[:, :2], z=z)  # such forwards are never captured, so they do not drop the capture either
    torch.testing.assert_close(hook.loss(), by_hand(generator, cond2, z))


@pytest.mark.parametrize("how", ["remove", "context-manager", "remove-with-a-capture-pending"])
def test_loss_after_remove_says_the_hook_was_removed(how):
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    if how == "context-manager":
        with ModeSeekingHook(generator) as hook:
            generator(cond2, z=z)
    else:
        hook = ModeSeekingHook(generator)
        if how == "remove-with-a-capture-pending":
            generator(cond2, z=z)
        hook.remove()
    generator(cond2, z=z)
    with pytest.raises(RuntimeError, match=REMOVED):
        hook.loss()
    hook.remove()  # a second remove is harmless
    with pytest.raises(RuntimeError, match=REMOVED):
        hook.loss()


def test_deepcopy_of_a_hook_after_a_forward_is_an_independent_hook_on_a_copied_generator():
    generator = make()
    hook = ModeSeekingHook(generator, weight=linear_decay(1.0, steps=4))
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    hook.loss()
    generator(cond2, z=z)  # a capture pending: its tensors have a graph and are not copied
    twin = copy.deepcopy(hook)

    assert twin.module is not generator
    for mine, theirs in zip(twin.module.parameters(), generator.parameters(), strict=True):
        assert mine is not theirs
        assert torch.equal(mine, theirs)
    assert (twin.step, twin.weight) == (1, 0.75)
    torch.testing.assert_close(twin.last_ratios, hook.last_ratios)
    with pytest.raises(RuntimeError, match=NO_CAPTURE):
        twin.loss()  # the capture stays with the original
    torch.testing.assert_close(hook.loss(), 0.75 * by_hand(generator, cond2, z))

    with torch.no_grad():
        for p in twin.module.parameters():
            p.mul_(2.0)  # the copy's generator now differs from the original
    generator(cond2, z=z)
    with pytest.raises(RuntimeError, match=NO_CAPTURE):
        twin.loss()  # the original generator's forwards are not the copy's
    twin.module(cond2, z=z)
    torch.testing.assert_close(twin.loss(), 0.75 * by_hand(twin.module, cond2, z))
    assert (twin.step, hook.step) == (2, 2)  # the steps advance separately
    torch.testing.assert_close(hook.loss(), 0.5 * by_hand(generator, cond2, z))

    twin.remove()  # detaches the copy from its generator only
    assert not twin.module._forward_hooks
    assert not twin.module._forward_pre_hooks
    generator(cond2, z=z)
    hook.loss()


def test_deepcopy_of_the_generator_with_a_hook_and_a_pending_capture():
    """The EMA case: copy.deepcopy(generator) after a forward; the copy carries an independent hook of its own."""
    generator = make()
    hook = ModeSeekingHook(generator)
    ema = copy.deepcopy(generator)  # registered, no forward yet
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    ema = copy.deepcopy(generator)  # a capture pending
    with torch.no_grad():
        for p in ema.parameters():
            p.mul_(0.5)
        ema(cond2, z=z)
    ema(cond2, z=z)  # with gradients: captured by the copy's hook, not by the original
    torch.testing.assert_close(hook.loss(), by_hand(generator, cond2, z))
    (twin,) = (h.__self__ for h in ema._forward_hooks.values())
    assert twin is not hook
    assert twin.module is ema
    torch.testing.assert_close(twin.loss(), by_hand(ema, cond2, z))


def test_deepcopy_of_a_state_holding_the_generator_and_the_hook_keeps_them_together():
    generator = make("dict")
    hook = ModeSeekingHook(generator, output="image", weight=0.5)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    state = copy.deepcopy({"generator": generator, "hook": hook})
    assert state["hook"].module is state["generator"]
    state["generator"](cond2, z=z)
    expected = 0.5 * by_hand(state["generator"], cond2, z, lambda out: out["image"])
    torch.testing.assert_close(state["hook"].loss(), expected)
    torch.testing.assert_close(hook.loss(), 0.5 * by_hand(generator, cond2, z, lambda out: out["image"]))


def test_deepcopy_follows_a_submodule_output_selector_and_a_removed_hook_stays_removed():
    generator = make()
    hook = ModeSeekingHook(generator, output=generator.body)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    twin = copy.deepcopy(hook)
    assert twin.output is twin.module.body
    twin.module(cond2, z=z)
    torch.testing.assert_close(twin.loss(), _features(twin.module, cond2, z))
    hook.remove()
    removed = copy.deepcopy(hook)
    removed.module(cond2, z=z)
    with pytest.raises(RuntimeError, match=REMOVED):
        removed.loss()
    assert not removed.module._forward_hooks


def test_a_generator_with_a_hook_and_a_pending_capture_can_be_saved_whole():
    generator = make()
    ModeSeekingHook(generator)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    buffer = io.BytesIO()
    torch.save(generator, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    (twin,) = (h.__self__ for h in loaded._forward_hooks.values())
    assert twin.module is loaded
    with pytest.raises(RuntimeError, match=NO_CAPTURE):
        twin.loss()
    loaded(cond2, z=z)
    torch.testing.assert_close(twin.loss(), by_hand(loaded, cond2, z))
