"""paired_inputs / repeated_inputs / split_samples."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from torch_modeseek import paired_inputs, repeated_inputs, split_samples


def test_paired_inputs_duplicates_conditions_and_draws_standard_normal_latents():
    cond = torch.arange(6.0).view(3, 2)
    cond2, z = paired_inputs(cond, 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(cond2, torch.cat([cond, cond]))
    assert z.shape == (6, 4)
    assert z.dtype == torch.get_default_dtype()
    torch.testing.assert_close(z, torch.randn(6, 4, generator=torch.Generator().manual_seed(0)))


def test_latent_statistics_are_standard_normal():
    _, z = paired_inputs(torch.zeros(20000, 1), 8, generator=torch.Generator().manual_seed(1))
    assert abs(z.mean().item()) < 0.01
    assert abs(z.std().item() - 1.0) < 0.01


def test_structured_conditions_keep_their_structure():
    cond = {"label": torch.tensor([1, 2]), "pair": (torch.ones(2, 3), [torch.zeros(2)])}
    cond2, z = paired_inputs(cond, (5, 1, 1), dtype=torch.float64)
    assert cond2["label"].tolist() == [1, 2, 1, 2]
    assert cond2["pair"][0].shape == (4, 3)
    assert isinstance(cond2["pair"], tuple)
    assert isinstance(cond2["pair"][1], list)
    assert cond2["pair"][1][0].shape == (4,)
    assert z.shape == (4, 5, 1, 1)
    assert z.dtype == torch.float64


def test_reproducible_with_a_generator_and_device_argument():
    a = paired_inputs(torch.zeros(3, 1), 4, generator=torch.Generator().manual_seed(7), device="cpu")[1]
    b = paired_inputs(torch.zeros(3, 1), 4, generator=torch.Generator().manual_seed(7))[1]
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            (torch.zeros(2, 1), 0),
            {},
            ValueError,
            r"latent_dim must be a positive int or a sequence of positive ints; got 0",
        ),
        ((torch.zeros(2, 1), (4, -1)), {}, ValueError, r"got \(4, -1\)"),
        ((torch.zeros(2, 1), 4), {"samples": 1}, ValueError, r"samples must be an int >= 2; got 1"),
        (
            ([1, 2], 4),
            {"samples": 2},
            TypeError,
            r"cond\[0\] must be a tensor or a tuple/list/dict of tensors; got int",
        ),
        (
            ((torch.zeros(2), torch.zeros(3)), 4),
            {"samples": 2},
            ValueError,
            r"every condition tensor must share the batch size; got cond\[0\]: \(2,\) and cond\[1\]: \(3,\)",
        ),
        ((torch.tensor(1.0), 4), {"samples": 2}, ValueError, r"cond must have a batch dimension; got a 0-d tensor"),
        (({}, 4), {"samples": 2}, ValueError, r"cond holds no tensor"),
    ],
)
def test_bad_inputs(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        repeated_inputs(*args, **kwargs) if kwargs else paired_inputs(*args)


@given(samples=st.integers(2, 5), batch=st.integers(1, 6), pairing=st.sampled_from(["halves", "interleaved"]))
def test_split_samples_inverts_the_layout(samples, batch, pairing):
    rows = torch.arange(samples * batch)
    split = split_samples(rows, samples, pairing)
    assert split.shape == (samples, batch)
    if pairing == "halves":
        expected = [[s * batch + b for b in range(batch)] for s in range(samples)]
    else:
        expected = [[b * samples + s for b in range(batch)] for s in range(samples)]
    assert split.tolist() == expected


def test_repeated_inputs_layout_matches_halves_split():
    cond = torch.tensor([10, 20])
    cond3, _ = repeated_inputs(cond, 2, samples=3)
    assert split_samples(cond3, 3, "halves").tolist() == [[10, 20]] * 3
