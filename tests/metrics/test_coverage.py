from __future__ import annotations

import math

import pytest
import torch

from torch_modeseek.metrics import mode_coverage

RING = torch.stack([torch.tensor([math.cos(a), math.sin(a)]) * 2 for a in torch.arange(8) * (2 * math.pi / 8)])


def _ring_samples(n: int, modes: list[int], std: float = 0.02, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    idx = torch.tensor(modes)[torch.randint(len(modes), (n,), generator=gen)]
    return RING[idx] + std * torch.randn(n, 2, generator=gen)


def test_full_coverage_and_collapse() -> None:
    full = mode_coverage(_ring_samples(800, list(range(8))), RING, radius=0.06)
    assert (full.modes_hit, full.num_modes) == (8, 8)
    assert full.high_quality_fraction > 0.95
    collapsed = mode_coverage(_ring_samples(800, [0, 3, 5]), RING, radius=0.06)
    assert collapsed.modes_hit == 3
    assert collapsed.hit.tolist() == [i in (0, 3, 5) for i in range(8)]


def test_low_quality_samples_do_not_hit_modes() -> None:
    far = RING * 10  # nearest mode is known, but every sample is far from it
    res = mode_coverage(far, RING, radius=0.5)
    assert res.modes_hit == 0
    assert res.high_quality_fraction == 0.0
    assert int(res.counts.sum()) == 0


def test_min_count_and_exact_counts() -> None:
    samples = torch.cat([RING[:1].repeat(5, 1), RING[1:2].repeat(2, 1), torch.tensor([[0.0, 0.0]])])
    res = mode_coverage(samples, RING, radius=0.1, min_count=3)
    assert res.counts.tolist() == [5, 2, 0, 0, 0, 0, 0, 0]
    assert res.modes_hit == 1
    assert res.high_quality_fraction == pytest.approx(7 / 8)
    assert res.to_dict()["counts"] == [5, 2, 0, 0, 0, 0, 0, 0]


def test_radius_boundary_is_inclusive_and_images_are_flattened() -> None:
    centers = torch.zeros(2, 1, 2, 2, dtype=torch.float64)
    centers[1] = 10.0
    samples = torch.zeros(3, 1, 2, 2, dtype=torch.float64)
    samples[0, 0, 0, 0] = 0.5  # distance exactly 0.5
    samples[1] = 10.0
    samples[2, 0, 0, 0] = 0.75
    res = mode_coverage(samples, centers, radius=0.5)
    assert res.counts.tolist() == [1, 1]
    assert res.high_quality_fraction == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("samples", "centers", "kwargs", "error", "match"),
    [
        (
            torch.zeros(4, 3),
            RING,
            {},
            ValueError,
            r"samples have 3 values per sample \(shape \(4, 3\)\) but centers have 2",
        ),
        (torch.zeros(4, 2), RING, {"radius": 0.0}, ValueError, "radius must be a positive finite number, got 0.0"),
        (torch.zeros(4, 2), RING, {"radius": float("inf")}, ValueError, "radius must be a positive finite number"),
        (torch.zeros(4, 2), RING, {"min_count": 0}, ValueError, "min_count must be >= 1"),
        (torch.zeros(0, 2), RING, {}, ValueError, "samples is empty"),
        (torch.zeros(4, 2, dtype=torch.int32), RING, {}, TypeError, "samples must have a floating-point dtype"),
        (torch.full((1, 2), float("nan")), RING, {}, ValueError, "samples contains 2 NaN"),
        (torch.zeros(4, 2), torch.zeros(0, 2), {}, ValueError, "centers is empty"),
    ],
)
def test_bad_inputs(
    samples: torch.Tensor, centers: torch.Tensor, kwargs: dict[str, float], error: type[Exception], match: str
) -> None:
    kwargs = {"radius": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        mode_coverage(samples, centers, **kwargs)  # type: ignore[arg-type]
