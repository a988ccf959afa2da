"""The hook's traps when it is ported into another GAN: each one is an error or a warning, never a silent term."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from torch_modeseek import ModeSeekingHook, paired_inputs


class LabelGenerator(nn.Module):
    """The popular cGAN tutorial's shape: ``forward(noise, labels)`` with an embedding of integer labels."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 10)
        self.net = nn.Linear(16 + 10, 64)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(torch.cat([noise, self.embed(labels)], dim=1)))


def _labels(b: int) -> torch.Tensor:
    return torch.arange(b) % 10


def test_a_batch_that_was_not_doubled_is_refused_naming_the_argument():
    generator = LabelGenerator()
    ModeSeekingHook(generator, latent="noise")
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])  # 8 different labels: rows i and i + 4 are different conditions
    with pytest.raises(ValueError, match=r"argument 'labels' differs between the paired samples in 4 of 4 conditions"):
        generator(torch.randn(8, 16), labels)


def test_a_doubled_batch_passes_and_mismatched_rows_are_counted():
    generator = LabelGenerator()
    hook = ModeSeekingHook(generator, latent="noise")
    labels2, noise = paired_inputs(_labels(4), 16)
    generator(noise, labels2)
    hook.loss().backward()
    hook.remove()
    ModeSeekingHook(generator, latent="noise")
    labels2 = labels2.clone()
    labels2[5] = 9  # one pair out of four broken
    with pytest.raises(ValueError, match=r"in 1 of 4 conditions; the hook pairs row i with row i \+ B"):
        generator(noise, labels2)


def test_interleaved_pairing_is_checked_in_its_own_layout():
    generator = LabelGenerator()
    ModeSeekingHook(generator, latent="noise", pairing="interleaved")
    with pytest.raises(ValueError, match=r"pairs row 2i with row 2i \+ 1 \(pairing='interleaved'\)"):
        generator(torch.randn(4, 16), torch.tensor([0, 1, 0, 1]))  # the halves layout, not interleaved
    generator(torch.randn(4, 16), torch.tensor([0, 0, 1, 1]))


def test_check_pairs_first_checks_once_always_every_time_never_not_at_all():
    generator = LabelGenerator()
    labels2, noise = paired_inputs(_labels(4), 16)
    unpaired = torch.arange(8)
    hook = ModeSeekingHook(generator, latent="noise")  # "first"
    generator(noise, labels2)
    hook.loss()
    generator(noise, unpaired)  # not checked again
    hook.loss()
    hook.remove()
    hook = ModeSeekingHook(generator, latent="noise", check_pairs="always")
    generator(noise, labels2)
    hook.loss()
    with pytest.raises(ValueError, match="differs between the paired samples"):
        generator(noise, unpaired)
    hook.remove()
    hook = ModeSeekingHook(generator, latent="noise", check_pairs="never")
    generator(noise, unpaired)
    hook.loss()
    with pytest.raises(ValueError, match="check_pairs must be one of 'first', 'always', 'never'; got 'yes'"):
        ModeSeekingHook(generator, latent="noise", check_pairs="yes")


def test_samples_per_condition_are_all_compared():
    generator = LabelGenerator()
    ModeSeekingHook(generator, latent="noise", samples=3)
    labels = torch.tensor([0, 1, 0, 1, 0, 2])  # the third sample of condition 1 got label 2
    with pytest.raises(ValueError, match="in 1 of 2 conditions"):
        generator(torch.randn(6, 16), labels)


def test_the_labels_as_latent_name_latent_and_the_parameters():
    generator = LabelGenerator()
    ModeSeekingHook(generator, latent="labels")
    labels2, noise = paired_inputs(_labels(4), 16)
    with pytest.raises(TypeError, match=r"latent='labels' selects a tensor of dtype torch.int64, not a floating-point "
                       r"latent code; the forward's parameters are noise, labels"):  # fmt: skip
        generator(noise, labels2)


def test_a_missing_latent_name_is_refused_when_the_hook_is_built():
    with pytest.raises(ValueError, match=r"latent='z' is not a parameter of LabelGenerator.forward, whose parameters "
                       r"are: noise, labels"):  # fmt: skip
        ModeSeekingHook(LabelGenerator())  # the default latent="z"


def test_an_index_into_a_tensor_output_is_refused():
    generator = LabelGenerator()
    ModeSeekingHook(generator, latent="noise", output=0)
    labels2, noise = paired_inputs(_labels(4), 16)
    with pytest.raises(ValueError, match=r"output=\(0,\) indexes into a tuple, list or dict output, but the generator "
                       r"returned a tensor of shape \(8, 64\); leave output=None"):  # fmt: skip
        generator(noise, labels2)


def test_a_forward_that_replaces_an_unused_capture_warns():
    generator = LabelGenerator()
    hook = ModeSeekingHook(generator, latent="noise")
    labels2, noise = paired_inputs(_labels(4), 16)
    generator(noise, labels2)  # the training forward
    with pytest.warns(UserWarning, match="replaced the capture of an earlier forward that loss\\(\\) had not used"):
        generator(torch.randn(8, 16), labels2)  # a sample-image call with gradients on
    hook.loss()


def test_an_eval_mode_forward_with_gradients_warns_too():
    generator = LabelGenerator()
    hook = ModeSeekingHook(generator, latent="noise")
    labels2, noise = paired_inputs(_labels(4), 16)
    generator(noise, labels2)
    generator.eval()
    with pytest.warns(UserWarning, match="replaced the capture"):
        generator(noise, labels2)
    hook.loss()


def test_no_grad_and_ignored_forwards_neither_replace_nor_warn():
    generator = LabelGenerator()
    hook = ModeSeekingHook(generator, latent="noise")
    labels2, noise = paired_inputs(_labels(4), 16)
    out = generator(noise, labels2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            generator(torch.randn(8, 16), labels2)
        with hook.ignored():
            generator(torch.randn(3, 16), torch.arange(3))  # even an unpaired batch: not checked, not captured
        term = hook.loss()
    x1, x2 = out.chunk(2)
    z1, z2 = noise.chunk(2)
    expected = 1 / ((x2 - x1).abs().mean() / (z2 - z1).abs().mean() + 1e-5)
    torch.testing.assert_close(term, expected)


def test_a_generator_run_twice_per_step_takes_the_term_from_the_right_call():
    # BicycleGAN: the cVAE branch encodes z from the target, the cLR branch draws the random pair
    generator = LabelGenerator()
    hook = ModeSeekingHook(generator, latent="noise")
    labels2, noise = paired_inputs(_labels(4), 16)
    clr = generator(noise, labels2)  # cLR: the pair
    with pytest.warns(UserWarning, match="replaced the capture"):
        generator(torch.randn(8, 16), labels2)  # cVAE after it, unguarded: the warning says so
    hook.loss()
    clr = generator(noise, labels2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with hook.ignored():
            generator(torch.randn(8, 16), labels2)  # cVAE, guarded
        term = hook.loss()
    x1, x2 = clr.chunk(2)
    z1, z2 = noise.chunk(2)
    torch.testing.assert_close(term, 1 / ((x2 - x1).abs().mean() / (z2 - z1).abs().mean() + 1e-5))
