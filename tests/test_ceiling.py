"""The diversity ceiling: its estimate on data of known spread, the clamped term above it, and the overshoot signal."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, paired_inputs
from torch_modeseek.ceiling import diversity_ceiling, expected_latent_distance, overshoot


def _classes(spread: float, classes: int = 5, per_class: int = 400, dim: int = 64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(classes, dim, generator=gen) * 3  # far-apart class means: only within-class pairs count
    labels = torch.arange(classes).repeat_interleave(per_class)
    return means[labels] + spread * torch.randn(len(labels), dim, generator=gen), labels


@pytest.mark.parametrize("spread", [0.1, 0.3, 1.7])
def test_l1_ceiling_of_gaussian_classes_is_their_spread(spread):
    # within a class x_i - x_j ~ N(0, 2 spread^2): mean |.| = 2 spread / sqrt(pi), the latent's is 2 / sqrt(pi)
    x, labels = _classes(spread)
    assert diversity_ceiling(x, labels) == pytest.approx(spread, rel=0.02)


def test_l2_and_mse_ceilings_of_gaussian_classes():
    x, labels = _classes(0.5, dim=16)
    assert diversity_ceiling(x, labels, distance="l2", latent_distance="l2", latent_dim=16) == pytest.approx(
        0.5, rel=0.02
    )
    assert diversity_ceiling(x, labels, distance="mse", latent_distance="mse") == pytest.approx(0.25, rel=0.03)


def test_the_latent_std_divides_the_ceiling():
    x, labels = _classes(0.4)
    assert diversity_ceiling(x, labels, latent_std=2.0) == pytest.approx(diversity_ceiling(x, labels) / 2, rel=1e-9)


def test_per_condition_tensors_equal_labels():
    x, labels = _classes(0.3, classes=3, per_class=20)
    groups = [x[labels == c] for c in range(3)]
    assert diversity_ceiling(groups) == pytest.approx(diversity_ceiling(x, labels), rel=1e-12)
    assert diversity_ceiling(x, [f"class {c}" for c in labels.tolist()]) == pytest.approx(
        diversity_ceiling(x, labels), rel=1e-12
    )


def test_conditions_are_weighted_by_their_sample_count():
    small = torch.zeros(2, 4)
    small[1] = 1.0  # one pair at l1 distance 1
    big = torch.zeros(6, 4)  # identical samples: distance 0
    expected = (1.0 * 2 + 0.0 * 6) / 8 / expected_latent_distance("l1")
    assert diversity_ceiling([small, big]) == pytest.approx(expected, rel=1e-12)


def test_single_sample_conditions_are_skipped_and_none_left_is_an_error():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="no condition has two samples"):
        diversity_ceiling(x, torch.arange(4))
    assert diversity_ceiling(torch.cat([x, x[:1]]), torch.tensor([0, 1, 2, 3, 0])) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: diversity_ceiling(torch.randn(4, 3)), ValueError, "conditions is required"),
        (lambda: diversity_ceiling(torch.randn(4, 3), torch.zeros(3)), ValueError, "conditions has 3 entries"),
        (lambda: diversity_ceiling(torch.randn(4, 3), torch.zeros(4), distance="l3"), ValueError, "distance"),
        (lambda: diversity_ceiling([torch.randn(4, 3), "x"]), TypeError, "sequence of"),
        (lambda: diversity_ceiling(torch.randn(4, 3), torch.zeros(4), max_pairs=0), ValueError, "max_pairs"),
        (lambda: expected_latent_distance("l2"), ValueError, "needs latent_dim"),
        (lambda: expected_latent_distance("l1", std=float("nan")), ValueError, "std must be"),
        (lambda: overshoot(torch.ones(3), float("inf")), ValueError, "ceiling must be"),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_latent_expectations_match_sampling():
    gen = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 200_000, 12, generator=gen, dtype=torch.float64) * 0.7
    d = z2 - z1
    sampled = {
        "l1": d.abs().mean(1).mean(),
        "l2": d.pow(2).mean(1).sqrt().mean(),
        "mse": d.pow(2).mean(1).mean(),
        "cosine": (1 - torch.nn.functional.cosine_similarity(z1, z2, dim=1)).mean(),
    }
    for kind, value in sampled.items():
        assert expected_latent_distance(kind, latent_dim=12, std=0.7) == pytest.approx(float(value), rel=5e-3), kind


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.05, 20.0), shift=st.floats(-5.0, 5.0), seed=st.integers(0, 2**16))
def test_ceiling_scales_with_the_data_and_ignores_shifts(scale, shift, seed):
    x, labels = _classes(0.5, classes=3, per_class=12, dim=8, seed=seed)
    base = diversity_ceiling(x, labels)
    assert diversity_ceiling(x * scale + shift, labels) == pytest.approx(base * scale, rel=1e-4)
    assert diversity_ceiling(x * scale, labels, distance="mse", latent_distance="mse") == pytest.approx(
        diversity_ceiling(x, labels, distance="mse", latent_distance="mse") * scale**2, rel=1e-4
    )


def test_the_clamped_term_has_no_gradient_above_the_ceiling():
    x, labels = _classes(0.2, classes=2, per_class=50, dim=32)
    tau = diversity_ceiling(x, labels)
    z1, z2 = torch.randn(2, 8, 16)
    x1 = torch.randn(8, 32, requires_grad=True)
    x2 = x1.detach() + 5.0 * torch.randn(8, 32)  # ratio far above tau
    ModeSeekingLoss(form="clamped", tau=tau)(z1, z2, x1, x2).backward()
    assert torch.count_nonzero(x1.grad) == 0
    x1.grad = None
    x2 = x1.detach() + 0.01 * torch.randn(8, 32)  # below tau: the term pushes the samples apart
    ModeSeekingLoss(form="clamped", tau=tau)(z1, z2, x1, x2).backward()
    assert torch.count_nonzero(x1.grad) > 0


class _Spreader(nn.Module):
    """The class mean plus ``gain`` times a fixed projection of z: its ratio is about ``gain`` (l1)."""

    def __init__(self, means: torch.Tensor, gain: float) -> None:
        super().__init__()
        self.means, self.gain = means, gain
        self.proj = nn.Linear(means.shape[1], means.shape[1], bias=False)
        nn.init.eye_(self.proj.weight)

    def forward(self, onehot: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return onehot @ self.means + self.gain * self.proj(z)


@pytest.mark.parametrize(("gain", "fires"), [(3.0, True), (0.2, False)])
def test_overshoot_fires_on_a_generator_that_spreads_past_the_data(gain, fires):
    x, labels = _classes(0.5, classes=4, per_class=100, dim=16)
    ceiling = diversity_ceiling(x, labels)
    means = torch.stack([x[labels == c].mean(0) for c in range(4)])
    generator = _Spreader(means, gain)
    onehot, z = paired_inputs(torch.eye(4).repeat(8, 1), 16, generator=torch.Generator().manual_seed(0))
    with ModeSeekingHook(generator, latent="z", loss=ModeSeekingLoss(reduction="sample")) as hook:
        generator(onehot, z=z)
        hook.loss()
        share = overshoot(hook.last_ratios, ceiling)
    assert share == (1.0 if fires else 0.0)
    assert math.isclose(float(hook.last_ratio), gain, rel_tol=0.15)
