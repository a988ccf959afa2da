from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_modeseek.metrics import diversity, pair_distance, sample_pairs


def _samples(conditions: int = 4, per_condition: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(conditions, per_condition, 3, 5, 5, generator=torch.Generator().manual_seed(seed))


def test_equals_mean_over_all_pairs_when_pairs_cover_everything() -> None:
    # With many pairs the estimate converges to the exact mean over all ordered pairs of distinct samples.
    x = _samples(2, 4)
    exact = torch.stack(
        [
            torch.stack([(x[c, i] - x[c, j]).abs().mean() for i, j in itertools.permutations(range(4), 2)]).mean()
            for c in range(2)
        ]
    ).mean()
    estimate = diversity(x, pairs=5000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(estimate, exact, rtol=1e-2, atol=0)


def test_matches_a_direct_implementation_of_the_protocol() -> None:
    x = _samples()
    idx = sample_pairs(4, 6, 7, torch.Generator().manual_seed(3))
    per_condition = [
        torch.stack([pair_distance(x[c, i][None], x[c, j][None], "euclidean")[0] for i, j in idx[c].tolist()]).mean()
        for c in range(4)
    ]
    expected = torch.stack(per_condition).mean()
    got = diversity(x, distance="euclidean", pairs=7, generator=torch.Generator().manual_seed(3), batch_size=5)
    torch.testing.assert_close(got, expected)


def test_collapsed_generator_scores_zero_and_scaling_scales_l1() -> None:
    collapsed = _samples(3, 1).expand(3, 5, 3, 5, 5).contiguous()
    assert float(diversity(collapsed)) == 0.0
    x = _samples()
    torch.testing.assert_close(diversity(3.0 * x), 3.0 * diversity(x))


def test_default_generator_is_deterministic_and_seed_changes_the_draw() -> None:
    x = _samples()
    assert torch.equal(diversity(x), diversity(x))
    a = diversity(x, generator=torch.Generator().manual_seed(1))
    b = diversity(x, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(a, b)


@settings(max_examples=30, deadline=None)
@given(conditions=st.integers(1, 5), per=st.integers(2, 6), pairs=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_pairs_are_distinct_and_in_range(conditions: int, per: int, pairs: int, seed: int) -> None:
    idx = sample_pairs(conditions, per, pairs, torch.Generator().manual_seed(seed))
    assert idx.shape == (conditions, pairs, 2)
    assert bool((idx[..., 0] != idx[..., 1]).all())
    assert int(idx.min()) >= 0
    assert int(idx.max()) < per


def test_batch_size_does_not_change_the_result() -> None:
    x = _samples()
    full = diversity(x, pairs=9, batch_size=1000)
    torch.testing.assert_close(diversity(x, pairs=9, batch_size=4), full)


def test_user_feature_function_and_distance_callable() -> None:
    x = _samples()
    weight = torch.randn(75, 8, generator=torch.Generator().manual_seed(0))
    seen: list[int] = []

    def features(batch: torch.Tensor) -> torch.Tensor:
        seen.append(batch.shape[0])
        return batch.reshape(batch.shape[0], -1) @ weight

    got = diversity(x, features=features, distance="cosine", pairs=5, batch_size=8)
    assert max(seen) <= 8
    assert 0.0 < float(got) <= 2.0
    # a callable distance returning (P, 1, 1, 1) (the shape lpips.LPIPS returns) is accepted
    lpips_like = diversity(x, distance=lambda a, b: pair_distance(a, b, "mse").reshape(-1, 1, 1, 1), pairs=5)
    torch.testing.assert_close(lpips_like, diversity(x, distance="mse", pairs=5))


def test_pair_distance_kinds() -> None:
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    assert pair_distance(a, b, "l1").item() == pytest.approx(3.5)
    assert pair_distance(a, b, "euclidean").item() == pytest.approx(5.0)
    assert pair_distance(a, b, "mse").item() == pytest.approx(12.5)
    assert pair_distance(a, b, "cosine").item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("samples", "kwargs", "error", "match"),
    [
        (torch.zeros(10, 8), {}, ValueError, r"samples must have at least 3 dimension\(s\), got shape \(10, 8\)"),
        (torch.zeros(4, 1, 3), {}, ValueError, r"at least 2 samples per condition \(dim 1\), got shape \(4, 1, 3\)"),
        (torch.zeros(4, 3, 3), {"pairs": 0}, ValueError, "pairs must be >= 1, got 0"),
        (torch.zeros(4, 3, 3), {"distance": "l3"}, ValueError, "distance must be one of"),
        (torch.zeros(4, 3, 3), {"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        (torch.zeros(4, 3, 3, dtype=torch.uint8), {}, TypeError, "samples must have a floating-point dtype"),
        (torch.full((2, 3, 3), float("nan")), {}, ValueError, "samples contains 18 NaN"),
        (torch.zeros(0, 3, 3), {}, ValueError, "samples is empty"),
    ],
)
def test_bad_inputs(samples: torch.Tensor, kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        diversity(samples, **kwargs)  # type: ignore[arg-type]


def test_distance_callable_with_wrong_output_shape() -> None:
    with pytest.raises(ValueError, match=r"one value per pair \(6\), got \(6, 2\)"):
        diversity(torch.zeros(2, 3, 4), pairs=3, distance=lambda a, b: torch.zeros(a.shape[0], 2))


def test_l2_is_the_deprecated_name_of_euclidean():
    """The metrics' "l2" was the Euclidean norm, while the loss's "l2" is the root mean square: renamed, warned."""
    a, b = torch.zeros(1, 4), torch.ones(1, 4)
    with pytest.warns(FutureWarning, match='"l2" is deprecated: it is the Euclidean norm'):
        old = pair_distance(a, b, "l2")
    assert old.item() == pair_distance(a, b, "euclidean").item() == 2.0
    x = torch.stack([torch.zeros(2, 4), torch.ones(2, 4)], dim=1)  # 2 conditions, 2 samples each
    with pytest.warns(FutureWarning, match='ask for "euclidean"'):
        diversity(x, distance="l2", pairs=3)
