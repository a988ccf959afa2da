"""Batched k-means++ in PyTorch: any device, chunked distances, seeded, every final cluster non-empty.

Squared distances use the expansion ``||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2``, evaluated one block of rows at a
time so that at most about 2**24 distances exist at once and an (N, K, d) tensor never does. The expansion cancels
badly on uncentred data (image pixels around 0.5: in float32, hundreds of 40,000 labels differed from direct
subtraction on such data), so both :func:`kmeans` and :func:`assign_to_centers` first centre the data (on its mean,
or the centres' mean) and scale it by a power of two (exact), which also keeps the squares of large finite values
(1e20 in float32) from overflowing. The distance of each point to the centre it is assigned to is then recomputed
exactly, so inertia does not suffer from the cancellation of the expansion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_modeseek.metrics._checks import check_positive_int

__all__ = ["KMeansResult", "assign_to_centers", "kmeans"]

_BLOCK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class KMeansResult:
    """Outcome of :func:`kmeans`.

    Attributes:
        centers: (K, d) cluster centres (means of their members).
        labels: (N,) int64 index of the nearest centre of every sample.
        inertia: sum over samples of the squared L2 distance to the assigned centre.
        n_iter: Lloyd iterations run by the best restart.

    Example:
        >>> import torch
        >>> res = kmeans(torch.tensor([[0.0], [1.0], [9.0], [11.0]]), 2, n_init=1)
        >>> sorted(res.centers.flatten().tolist()), res.inertia
        ([0.5, 10.0], 2.5)
        >>> res.labels[0] == res.labels[1], res.labels[0] != res.labels[2]
        (tensor(True), tensor(True))

    """

    centers: torch.Tensor
    labels: torch.Tensor
    inertia: float
    n_iter: int


def _block_rows(n: int, width: int) -> int:
    return max(1, min(n, _BLOCK_ELEMENTS // max(width, 1)))


def _expanded_sq_dist(x_block: torch.Tensor, centers: torch.Tensor, c_sq: torch.Tensor) -> torch.Tensor:
    """(B, K) squared distances up to the per-row constant ``||x||^2`` (enough for an argmin)."""
    return torch.addmm(c_sq.unsqueeze(0), x_block, centers.T, alpha=-2.0)


def assign_to_centers(x: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign every row of ``x`` to its nearest centre in L2.

    Args:
        x: (N, d) samples.
        centers: (K, d) centres, same dtype and device as ``x``.

    Returns:
        ``(labels, sq_dist)``: (N,) int64 index of the nearest centre (ties go to the lowest index) and (N,)
        exact squared distance to it.

    Example:
        >>> labels, d2 = assign_to_centers(torch.tensor([[0.0], [0.9], [3.0]]), torch.tensor([[0.0], [2.0]]))
        >>> labels.tolist(), d2.tolist()
        ([0, 0, 1], [0.0, 0.809999942779541, 1.0])

    """
    shift = centers.mean(dim=0)
    scale = _power_of_two_scale(torch.cat([(x - shift).abs().amax(dim=0), (centers - shift).abs().amax(dim=0)]))
    labels, sq_dist = _assign((x - shift) / scale, (centers - shift) / scale)
    return labels, sq_dist * (scale * scale)


def _power_of_two_scale(magnitudes: torch.Tensor) -> float:
    """The largest of ``magnitudes`` rounded down to a power of two (1 for zeros): dividing by it is exact."""
    peak = float(magnitudes.max()) if magnitudes.numel() else 0.0
    if not 0.0 < peak < math.inf:
        return 1.0
    return 2.0 ** math.floor(math.log2(peak))


def _assign(x: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`assign_to_centers` on data already centred and scaled."""
    n = x.shape[0]
    c_sq = (centers * centers).sum(dim=1)
    labels = torch.empty(n, dtype=torch.int64, device=x.device)
    sq_dist = torch.empty(n, dtype=x.dtype, device=x.device)
    step = _block_rows(n, max(centers.shape[0], x.shape[1]))
    for start in range(0, n, step):
        block = x[start : start + step]
        lab = _expanded_sq_dist(block, centers, c_sq).argmin(dim=1)
        labels[start : start + step] = lab
        sq_dist[start : start + step] = (block - centers[lab]).pow(2).sum(dim=1)
    return labels, sq_dist


def _sq_dist_to(x: torch.Tensor, x_sq: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(N, m) squared distances of every row of ``x`` to each of a few ``points`` (m small), clamped at 0."""
    out = torch.addmm(x_sq.unsqueeze(1), x, points.T, alpha=-2.0)
    return out.add_((points * points).sum(dim=1).unsqueeze(0)).clamp_min_(0.0)


def _sample_proportional(weights: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Draw ``count`` indices with probability proportional to ``weights`` (any length, unlike multinomial)."""
    cdf = torch.cumsum(weights.double(), dim=0)
    u = torch.rand(count, generator=generator, device=weights.device, dtype=torch.float64) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_max_(weights.shape[0] - 1)


def _kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator, n_local_trials: int) -> torch.Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007): each new centre is the best of a few D^2 draws."""
    n = x.shape[0]
    x_sq = (x * x).sum(dim=1)
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    chosen = [first]
    closest = _sq_dist_to(x, x_sq, x[first]).squeeze(1)
    for _ in range(1, k):
        candidates = _sample_proportional(closest, n_local_trials, generator)
        trial = torch.minimum(closest.unsqueeze(1), _sq_dist_to(x, x_sq, x[candidates]))
        best = trial.sum(dim=0).argmin()
        closest = trial[:, best]
        chosen.append(candidates[best].reshape(1))
    return x[torch.cat(chosen)].clone()


def _update_centers(x: torch.Tensor, labels: torch.Tensor, sq_dist: torch.Tensor, k: int) -> torch.Tensor:
    """Means of the clusters; an empty cluster is moved onto one of the points farthest from their centres."""
    counts = torch.bincount(labels, minlength=k)
    sums = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, labels, x)
    centers = sums / counts.clamp_min(1).unsqueeze(1).to(x.dtype)
    empty = torch.nonzero(counts == 0).squeeze(1)
    if empty.numel():
        centers[empty] = x[sq_dist.topk(empty.numel()).indices]
    return centers


def _fill_empty(x: torch.Tensor, centers: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign the points, re-seeding empty clusters from far points of clusters with several members."""
    for _ in range(k + 1):
        labels, sq_dist = _assign(x, centers)
        counts = torch.bincount(labels, minlength=k)
        empty = torch.nonzero(counts == 0).squeeze(1)
        if empty.numel() == 0:
            return labels, sq_dist
        donors = torch.where(counts[labels] > 1, sq_dist, torch.full_like(sq_dist, -1.0))
        centers[empty] = x[donors.topk(empty.numel()).indices]
    raise ValueError(
        f"k-means could not make all {k} clusters non-empty: the {x.shape[0]} samples hold fewer than {k} "
        "distinct points (duplicates); lower num_bins"
    )


def kmeans(
    x: torch.Tensor,
    k: int,
    *,
    n_init: int = 10,
    max_iter: int = 100,
    tol: float = 1e-4,
    generator: torch.Generator | None = None,
    n_local_trials: int | None = None,
) -> KMeansResult:
    """Cluster the rows of ``x`` with k-means (Lloyd) from greedy k-means++ seeds, keeping the best of ``n_init``.

    Minimises the inertia ``sum_i min_j ||x_i - c_j||^2``. Each restart seeds with k-means++ (each new centre is
    the best, by resulting inertia, of ``n_local_trials = 2 + floor(ln k)`` candidates drawn with probability
    proportional to the squared distance to the nearest chosen centre), then runs at most ``max_iter`` Lloyd
    iterations, stopping once labels no longer change or the squared centre shift is at most ``tol`` times the mean
    per-dimension variance of ``x``. Empty clusters are re-seeded on far points, so every returned cluster has at
    least one member (a ``ValueError`` says so when the data hold fewer than ``k`` distinct points).

    Args:
        x: (N, d) floating samples on any device; computation happens in ``x``'s dtype (at least float32).
        k: number of clusters, ``1 <= k <= N``.
        n_init: restarts; the one with the lowest inertia is returned.
        max_iter: Lloyd iterations per restart.
        tol: relative tolerance on the centre shift.
        generator: ``torch.Generator`` on ``x.device``; all randomness comes from it (default: seeded with 0).
        n_local_trials: candidates per k-means++ step (default ``2 + floor(ln k)``).

    Returns:
        A :class:`KMeansResult`.

    Example:
        >>> x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> res = kmeans(x, 2, n_init=2)
        >>> sorted(res.centers.tolist()), res.inertia
        ([[0.0, 0.5], [10.0, 0.5]], 1.0)

    """
    check_positive_int(n_init, "n_init")
    check_positive_int(max_iter, "max_iter")
    if not 1 <= k <= x.shape[0]:
        raise ValueError(f"k must be between 1 and the number of samples {x.shape[0]}, got {k}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    if generator is None:
        generator = torch.Generator(device=x.device).manual_seed(0)
    # Centred and scaled by a power of two: no cancellation in the distance expansion, no overflow of squares.
    origin = x.mean(dim=0)
    scale = _power_of_two_scale((x - origin).abs().amax(dim=0))
    x = (x - origin) / scale
    trials = n_local_trials if n_local_trials is not None else 2 + int(math.log(k))
    shift_tol = tol * float(x.var(dim=0, unbiased=False).mean()) if x.shape[0] > 1 else 0.0
    best: KMeansResult | None = None
    for _ in range(n_init):
        centers = _kmeans_plus_plus(x, k, generator, trials)
        labels = torch.full((x.shape[0],), -1, dtype=torch.int64, device=x.device)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
            new_labels, sq_dist = _assign(x, centers)
            if torch.equal(new_labels, labels):
                break
            labels = new_labels
            new_centers = _update_centers(x, labels, sq_dist, k)
            shift = float((new_centers - centers).pow(2).sum())
            centers = new_centers
            if shift <= shift_tol:
                break
        labels, sq_dist = _fill_empty(x, centers, k)
        inertia = float(sq_dist.sum()) * scale * scale  # (a Python float: no overflow of the unscaled sum)
        if best is None or inertia < best.inertia:
            best = KMeansResult(centers=centers, labels=labels, inertia=inertia, n_iter=n_iter)
    assert best is not None
    return KMeansResult(best.centers * scale + origin, best.labels, best.inertia, best.n_iter)
