"""ModeSeekingHook: capture, selection, pairing, errors, state and lifetime."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.helpers import randn
from torch_modeseek import (
    ModeSeekingHook,
    ModeSeekingLoss,
    linear_decay,
    mode_seeking_loss_all_pairs,
    paired_inputs,
    repeated_inputs,
)


class Generator(nn.Module):
    """cond (B, 3) + z (B, 8) -> image (B, 2, 4, 4); optionally a tuple or dict of several outputs."""

    def __init__(self, returns: str = "tensor") -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3 + 8, 32), nn.ReLU())
        self.head = nn.Linear(32, 2 * 4 * 4)
        self.returns = returns

    def forward(self, cond, z, scale: float = 1.0):
        h = self.body(torch.cat([cond, z], dim=1))
        image = scale * torch.tanh(self.head(h)).view(-1, 2, 4, 4)
        if self.returns == "tuple":
            return [image[:, :, ::2, ::2], image], h.mean(1), h.std(1)  # (stages, mu, logvar) as StackGAN++
        if self.returns == "dict":
            return {"image": image, "features": h}
        return image


def make(returns: str = "tensor", seed: int = 0):
    torch.manual_seed(seed)
    return Generator(returns)


def cond_batch(b: int = 4):
    return torch.eye(3)[torch.arange(b) % 3]


def by_hand(generator, cond2, z, select=lambda out: out):
    x = select(generator(cond2, z))
    z1, z2 = z.chunk(2)
    x1, x2 = x.chunk(2)
    return ModeSeekingLoss()(z1, z2, x1, x2)


def test_term_equals_loss_on_halves_by_hand():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8, generator=torch.Generator().manual_seed(1))
    with ModeSeekingHook(generator, latent="z") as hook:
        generator(cond2, z=z)
        term = hook.loss()
    torch.testing.assert_close(term, by_hand(generator, cond2, z))
    term.backward()
    assert all(p.grad is not None for p in generator.parameters())


@pytest.mark.parametrize("how", ["keyword", "positional-by-name", "index"])
def test_latent_found_by_keyword_name_or_position(how):
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator, latent=1 if how == "index" else "z")
    if how == "keyword":
        generator(cond2, z=z)
    else:
        generator(cond2, z)
    torch.testing.assert_close(hook.loss(), by_hand(generator, cond2, z))


def test_weight_multiplies_and_last_ratio_is_detached():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator, weight=2.5)
    generator(cond2, z=z)
    term = hook.loss()
    torch.testing.assert_close(term, 2.5 * by_hand(generator, cond2, z))
    assert not hook.last_ratio.requires_grad
    x1, x2 = generator(cond2, z).chunk(2)
    z1, z2 = z.chunk(2)
    expected_ratio = (x2 - x1).abs().mean() / (z2 - z1).abs().mean()
    torch.testing.assert_close(hook.last_ratio, expected_ratio.detach())


@pytest.mark.parametrize("reduction", ["batch", "sample", "none"])
@pytest.mark.parametrize("pairing", ["halves", "interleaved"])
def test_last_ratios_are_the_detached_per_pair_ratios(reduction, pairing):
    generator = make()
    b = 5
    z = randn(2 * b, 8, seed=3)
    cond2 = cond_batch(b).repeat(2, 1) if pairing == "halves" else cond_batch(b).repeat_interleave(2, 0)
    hook = ModeSeekingHook(generator, loss=ModeSeekingLoss(reduction=reduction), pairing=pairing)
    x = generator(cond2, z=z).double()
    hook.loss()
    (z1, z2), (x1, x2) = (z.chunk(2), x.chunk(2)) if pairing == "halves" else ((z[0::2], z[1::2]), (x[0::2], x[1::2]))
    expected = (x2 - x1).abs().flatten(1).mean(1) / (z2.double() - z1.double()).abs().mean(1)
    assert hook.last_ratios.shape == (b,)
    assert not hook.last_ratios.requires_grad
    torch.testing.assert_close(hook.last_ratios.double(), expected.detach(), rtol=1e-5, atol=1e-7)


def test_last_ratios_show_a_collapsed_condition_that_the_batch_ratio_hides():
    z = randn(8, 8, seed=4)
    x = randn(8, 2, 4, 4, seed=5)
    x[4] = x[0]  # condition 0: both samples identical
    hook = ModeSeekingHook(nn.Identity(), latent=0, output=lambda _: x)
    hook.module(z)  # the hook reads the forward's argument 0 as the latent
    hook.loss()
    assert float(hook.last_ratio) > 0.5
    assert float(hook.last_ratios[0]) == 0.0
    assert bool((hook.last_ratios[1:] > 0.5).all())


def test_last_ratios_with_samples_are_per_pair():
    generator = make()
    cond3, z = repeated_inputs(cond_batch(), 8, 3)
    hook = ModeSeekingHook(generator, samples=3)
    generator(cond3, z=z)
    hook.loss()
    assert hook.last_ratios.shape == (4, 3)
    assert bool((hook.last_ratios > 0).all())


def test_custom_loss_options_are_used():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    loss = ModeSeekingLoss(distance="l2", form="negative", reduction="sample")
    hook = ModeSeekingHook(generator, loss=loss)
    x = generator(cond2, z=z)
    torch.testing.assert_close(hook.loss(), loss(*z.chunk(2), *x.chunk(2)))


@pytest.mark.parametrize(
    ("returns", "output", "select"),
    [
        ("tuple", (0, -1), lambda out: out[0][-1]),
        ("tuple", (0, 0), lambda out: out[0][0]),
        ("dict", "image", lambda out: out["image"]),
        ("dict", ("features",), lambda out: out["features"]),
        ("tuple", lambda out: out[0][1] * 2, lambda out: out[0][1] * 2),
    ],
)
def test_output_selection(returns, output, select):
    generator = make(returns)
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator, output=output)
    generator(cond2, z=z)
    torch.testing.assert_close(hook.loss(), by_hand(generator, cond2, z, select))


def test_list_output_is_compared_as_feature_layers():
    generator = make("tuple")
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator, output=0)  # the list of stages
    stages = generator(cond2, z=z)[0]
    expected = ModeSeekingLoss()(*z.chunk(2), [s.chunk(2)[0] for s in stages], [s.chunk(2)[1] for s in stages])
    torch.testing.assert_close(hook.loss(), expected)


def test_submodule_output_gives_a_feature_space_distance():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator, output=generator.body)
    generator(cond2, z=z)
    features = generator.body(torch.cat([cond2, z], dim=1))
    torch.testing.assert_close(hook.loss(), ModeSeekingLoss()(*z.chunk(2), *features.chunk(2)))


def test_interleaved_pairing():
    generator = make()
    cond = cond_batch()
    cond2 = cond.repeat_interleave(2, dim=0)
    z = randn(8, 8, seed=5)
    hook = ModeSeekingHook(generator, pairing="interleaved")
    x = generator(cond2, z=z)
    torch.testing.assert_close(hook.loss(), ModeSeekingLoss()(z[0::2], z[1::2], x[0::2], x[1::2]))


def test_several_samples_per_condition_use_all_pairs():
    generator = make()
    cond3, z = repeated_inputs(cond_batch(), 8, samples=3)
    hook = ModeSeekingHook(generator, samples=3)
    x = generator(cond3, z=z)
    expected = mode_seeking_loss_all_pairs(z.view(3, 4, 8), x.view(3, 4, 2, 4, 4))
    torch.testing.assert_close(hook.loss(), expected)


def test_no_forward_since_last_call_raises():
    generator = make()
    hook = ModeSeekingHook(generator)
    with pytest.raises(RuntimeError, match=r"no paired forward of the generator was captured since the last call"):
        hook.loss()
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    hook.loss()
    with pytest.raises(RuntimeError, match=r"captured since the last call"):
        hook.loss()


def test_forwards_without_gradients_are_not_captured():
    generator = make()
    hook = ModeSeekingHook(generator)
    cond2, z = paired_inputs(cond_batch(), 8)
    generator(cond2, z=z)
    with torch.no_grad():
        generator(cond2[:3], z=z[:3])  # e.g. sampling a grid: neither captured nor an error
    term = hook.loss()
    with torch.no_grad():
        generator(cond2, z=z)
    with pytest.raises(RuntimeError, match=r"captured"):
        hook.loss()
    hook.remove()
    torch.testing.assert_close(term, by_hand(generator, cond2, z))


def test_odd_batch_cannot_be_paired():
    generator = make()
    hook = ModeSeekingHook(generator)
    generator(cond_batch(5), z=randn(5, 8))
    with pytest.raises(ValueError, match=r"the captured latent of shape \(5, 8\) cannot be paired: its batch 5 is not"):
        hook.loss()


def test_latent_not_found_is_refused_when_the_hook_is_built_listing_the_parameters():
    generator = make()
    with pytest.raises(ValueError, match=r"latent='noise' is not a parameter of Generator.forward, whose parameters "
                       r"are: cond, z, scale; pass latent="):  # fmt: skip
        ModeSeekingHook(generator, latent="noise")
    with pytest.raises(ValueError, match=r"latent=5 is out of range: Generator.forward takes 3 positional parameters"):
        ModeSeekingHook(generator, latent=5)


def test_latent_position_past_the_given_arguments_is_an_error_at_the_forward():
    class Star(nn.Module):
        def forward(self, *inputs):
            return torch.cat(inputs, 1)

    generator = Star()
    ModeSeekingHook(generator, latent=5)
    with pytest.raises(ValueError, match=r"latent=5 but the forward got 2 positional arguments"):
        generator(cond_batch(), randn(4, 8))


def test_tuple_output_without_selector_is_refused_with_advice():
    generator = make("tuple")
    ModeSeekingHook(generator)
    with pytest.raises(ValueError, match=r"the module's output is a tuple, .* output=\(0, -1\) takes the last stage"):
        generator(*paired_inputs(cond_batch(2), 8))


def test_bad_selector_path():
    generator = make("dict")
    ModeSeekingHook(generator, output="logits")
    with pytest.raises(ValueError, match=r"output selector \('logits',\): cannot take \['logits'\] of dict"):
        generator(*paired_inputs(cond_batch(2), 8))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"latent": 1.5}, TypeError, r"latent must be a keyword name \(str\) or a positional index \(int\); got 1.5"),
        ({"weight": "1"}, TypeError, r"weight must be a float or a schedule step -> float; got str"),
        ({"loss": nn.L1Loss()}, TypeError, r"loss must be a torch_modeseek.ModeSeekingLoss; got L1Loss"),
        ({"pairing": "odd-even"}, ValueError, r"pairing must be one of 'halves', 'interleaved'; got 'odd-even'"),
        ({"samples": 1}, ValueError, r"samples must be an int >= 2; got 1"),
    ],
)
def test_bad_hook_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModeSeekingHook(make(), **kwargs)


def test_module_must_be_a_module():
    with pytest.raises(TypeError, match=r"module must be a torch.nn.Module; got function"):
        ModeSeekingHook(lambda z: z)


def test_schedule_advances_per_call_and_state_dict_round_trips():
    generator = make()
    hook = ModeSeekingHook(generator, weight=linear_decay(1.0, steps=4))
    cond2, z = paired_inputs(cond_batch(), 8)
    weights = []
    for _ in range(3):
        weights.append(hook.weight)
        generator(cond2, z=z)
        hook.loss()
    assert weights == [1.0, 0.75, 0.5]
    state = hook.state_dict()
    assert state == {"step": 3}
    restored = ModeSeekingHook(make(), weight=linear_decay(1.0, steps=4))
    restored.load_state_dict(state)
    assert restored.step == 3
    assert restored.weight == 0.25
    with pytest.raises(ValueError, match=r"state\['step'\] must be an int >= 0; got -1"):
        restored.load_state_dict({"step": -1})


def test_remove_and_context_manager_stop_capturing():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    with ModeSeekingHook(generator) as hook:
        pass
    generator(cond2, z=z)
    with pytest.raises(RuntimeError, match=r"this hook was removed"):
        hook.loss()
    assert not generator._forward_hooks
    assert not generator._forward_pre_hooks


def test_several_hooks_on_one_model_are_independent():
    generator = make("dict")
    cond2, z = paired_inputs(cond_batch(), 8)
    on_image = ModeSeekingHook(generator, output="image", weight=1.0)
    on_features = ModeSeekingHook(generator, output="features", weight=0.5)
    generator(cond2, z=z)
    image_term = on_image.loss()
    features_term = on_features.loss()
    torch.testing.assert_close(image_term, by_hand(generator, cond2, z, lambda out: out["image"]))
    torch.testing.assert_close(features_term, 0.5 * by_hand(generator, cond2, z, lambda out: out["features"]))
    on_image.remove()
    generator(cond2, z=z)
    on_features.loss()
    with pytest.raises(RuntimeError, match=r"this hook was removed"):
        on_image.loss()


def test_autocast_bfloat16_on_cpu():
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    hook = ModeSeekingHook(generator)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = generator(cond2, z=z)
        term = hook.loss()
    assert x.dtype == torch.bfloat16
    assert term.dtype == torch.float32
    assert torch.isfinite(term)
    reference = by_hand(generator, cond2, z)
    torch.testing.assert_close(term, reference, rtol=3e-2, atol=0)
    term.backward()
    assert all(torch.isfinite(p.grad).all() for p in generator.parameters())


@pytest.mark.parametrize("where", ["hook-the-compiled-module", "compile-the-hooked-module"])
def test_torch_compiled_generator(where):
    torch._dynamo.reset()
    generator = make()
    cond2, z = paired_inputs(cond_batch(), 8)
    expected = by_hand(generator, cond2, z)
    if where == "hook-the-compiled-module":
        compiled = torch.compile(generator)
        hook = ModeSeekingHook(compiled)
    else:
        hook = ModeSeekingHook(generator)
        compiled = torch.compile(generator)
    compiled(cond2, z=z)
    term = hook.loss()
    torch.testing.assert_close(term, expected, rtol=1e-5, atol=1e-6)
    term.backward()
    assert all(p.grad is not None for p in generator.parameters())
