from __future__ import annotations

import pytest
import torch

from torch_modeseek.metrics import _kmeans
from torch_modeseek.metrics._kmeans import assign_to_centers, kmeans


def _blobs(n: int, d: int, k: int, std: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    centers = torch.rand(k, d, generator=gen, dtype=torch.float64) * 20 - 10
    idx = torch.randint(k, (n,), generator=gen)
    return centers[idx] + std * torch.randn(n, d, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize(("n", "d", "k", "std"), [(1000, 2, 20, 1.5), (1000, 10, 15, 2.0), (600, 40, 8, 4.0)])
def test_inertia_comparable_to_sklearn(n: int, d: int, k: int, std: float) -> None:
    sk_cluster = pytest.importorskip("sklearn.cluster")
    x = _blobs(n, d, k, std, seed=k)
    ours = kmeans(x, k, n_init=10, max_iter=100, generator=torch.Generator().manual_seed(0))
    theirs = sk_cluster.KMeans(n_clusters=k, n_init=10, max_iter=100, random_state=0).fit(x.numpy())
    assert ours.inertia <= 1.05 * theirs.inertia_
    # the reported inertia is the real one for the returned centres and labels
    recomputed = (x - ours.centers[ours.labels]).pow(2).sum().item()
    assert ours.inertia == pytest.approx(recomputed, rel=1e-9)


def test_labels_are_nearest_centres_and_centres_are_means() -> None:
    x = _blobs(600, 5, 6, 1.0, seed=3)
    res = kmeans(x, 6, n_init=2)
    brute = torch.cdist(x, res.centers).argmin(dim=1)
    assert torch.equal(res.labels, brute)
    for j in range(6):
        torch.testing.assert_close(res.centers[j], x[res.labels == j].mean(dim=0))
    assert res.centers.dtype == torch.float64
    assert 1 <= res.n_iter <= 100


def test_every_cluster_non_empty_even_when_k_equals_n() -> None:
    x = _blobs(30, 3, 2, 0.5, seed=1)
    res = kmeans(x, 30, n_init=1)
    assert torch.equal(torch.bincount(res.labels, minlength=30), torch.ones(30, dtype=torch.int64))
    assert res.inertia == pytest.approx(0.0, abs=1e-12)


def test_every_cluster_non_empty_with_heavy_duplicates() -> None:
    # 3 distinct points repeated many times plus a few singletons: Lloyd would leave clusters empty.
    x = torch.cat([torch.zeros(200, 2), torch.ones(200, 2), torch.full((200, 2), 5.0), torch.randn(5, 2) * 20])
    res = kmeans(x, 8, n_init=3, generator=torch.Generator().manual_seed(2))
    assert int(torch.bincount(res.labels, minlength=8).min()) >= 1


def test_fewer_distinct_points_than_clusters_raises() -> None:
    x = torch.cat([torch.zeros(10, 2), torch.ones(10, 2)])
    with pytest.raises(ValueError, match="fewer than 3 distinct points"):
        kmeans(x, 3, n_init=1)


def test_seeded_generator_is_deterministic() -> None:
    x = _blobs(500, 4, 10, 3.0, seed=5).float()
    a = kmeans(x, 10, n_init=3, generator=torch.Generator().manual_seed(7))
    b = kmeans(x, 10, n_init=3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.centers, b.centers)
    assert torch.equal(a.labels, b.labels)
    assert a.inertia == b.inertia


def test_chunked_assignment_matches_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = torch.Generator().manual_seed(0)
    x, centers = torch.randn(257, 6, generator=gen), torch.randn(9, 6, generator=gen)
    full_labels, full_d2 = assign_to_centers(x, centers)
    monkeypatch.setattr(_kmeans, "_BLOCK_ELEMENTS", 50)  # 50 // 9 = 5 rows per block
    monkeypatch.setattr(_kmeans, "_EXACT_BLOCK_ELEMENTS", 13)  # 13 // 6 = 2 rows per block of exact distances
    labels, d2 = assign_to_centers(x, centers)
    assert torch.equal(labels, full_labels)
    torch.testing.assert_close(d2, full_d2)
    torch.testing.assert_close(d2, torch.cdist(x, centers).min(dim=1).values.pow(2), rtol=1e-4, atol=1e-5)


def test_chunked_lloyd_matches_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _blobs(300, 4, 6, 1.0, seed=8)
    full = kmeans(x, 6, n_init=1, generator=torch.Generator().manual_seed(3))
    monkeypatch.setattr(_kmeans, "_BLOCK_ELEMENTS", 60)  # 10 rows per block of distances, one restart at a time
    chunked = kmeans(x, 6, n_init=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(chunked.labels, full.labels)
    torch.testing.assert_close(chunked.centers, full.centers)
    assert chunked.n_iter == full.n_iter


def test_restarts_seeded_in_groups_are_valid_and_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _blobs(400, 3, 5, 1.5, seed=4)
    x_sq = (x * x).sum(dim=1)
    seeds = _kmeans._kmeans_plus_plus(x, x_sq, 5, 4, torch.Generator().manual_seed(0), 3)
    assert seeds.shape == (4, 5, 3)
    for seed in seeds:  # every seed is k distinct data points
        assert (seed[:, None] - x[None]).abs().sum(dim=2).min(dim=1).values.max() == 0
        assert torch.unique(seed, dim=0).shape[0] == 5
    assert not torch.equal(seeds[0], seeds[1])
    whole = kmeans(x, 5, n_init=6, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(_kmeans, "_BLOCK_ELEMENTS", 400 * 3 * 2)  # 3 trials per step: restarts seeded 2 by 2
    grouped = kmeans(x, 5, n_init=6, generator=torch.Generator().manual_seed(1))
    assert int(torch.bincount(grouped.labels, minlength=5).min()) >= 1
    assert grouped.inertia == pytest.approx((x - grouped.centers[grouped.labels]).pow(2).sum().item(), rel=1e-9)
    assert grouped.inertia == pytest.approx(whole.inertia, rel=0.05)


def test_half_precision_input_is_computed_in_float32() -> None:
    x = _blobs(100, 2, 2, 0.1, seed=0).half()
    assert kmeans(x, 2, n_init=1).centers.dtype == torch.float32


@pytest.mark.parametrize(("kwargs", "match"), [({"k": 0}, "k must be between 1"), ({"k": 11}, "k must be between 1")])
def test_bad_k(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kmeans(torch.randn(10, 2), **kwargs)


def test_bad_restarts() -> None:
    with pytest.raises(ValueError, match="n_init must be >= 1, got 0"):
        kmeans(torch.randn(10, 2), 2, n_init=0)
    with pytest.raises(TypeError, match="max_iter must be an int"):
        kmeans(torch.randn(10, 2), 2, max_iter=1.5)  # type: ignore[arg-type]
