"""Batched k-means++ in PyTorch: any device, chunked distances, seeded, every final cluster non-empty.

Squared distances use the expansion ``||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2``, evaluated one block of rows at a
time so that at most about 2**24 distances exist at once and an (N, K, d) tensor never does. The expansion cancels
badly on uncentred data (image pixels around 0.5: in float32, hundreds of 40,000 labels differed from direct
subtraction on such data), so both :func:`kmeans` and :func:`assign_to_centers` first centre the data (on its mean,
or the centres' mean) and scale it by a power of two (exact), which also keeps the squares of large finite values
(1e20 in float32) from overflowing. The distance of each point to the centre it is assigned to is then recomputed
exactly (once per restart, a few cache-resident rows at a time), so inertia does not suffer from the cancellation of
the expansion. The restarts are seeded together: each k-means++ step is one gemm of the data against the candidates
of all of them, instead of one skinny gemm per restart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_modeseek.metrics._checks import check_positive_int

__all__ = ["KMeansResult", "assign_to_centers", "kmeans"]

_BLOCK_ELEMENTS = 1 << 24
_EXACT_BLOCK_ELEMENTS = 1 << 16  # (rows, d) of one block of exact differences: cache-resident


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
    labels = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
    _nearest(x, centers, labels, torch.empty(x.shape[0], dtype=x.dtype, device=x.device))
    return labels, _exact_sq_dist(x, centers, labels)


def _nearest(x: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor, nearest: torch.Tensor) -> None:
    """Write each row's nearest centre to ``labels`` (ties: lowest index) and the distance to it to ``nearest``.

    ``nearest`` holds ``-2 x.c + ||c||^2``, the squared distance minus ``||x||^2``: one gemm per block of rows.
    """
    n, k = x.shape[0], centers.shape[0]
    c_sq = (centers * centers).sum(dim=1)
    step = _block_rows(n, k)
    dist = torch.empty(min(step, n), k, dtype=x.dtype, device=x.device)
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = torch.addmm(c_sq, x[start:stop], centers.T, alpha=-2.0, out=dist[: stop - start])
        torch.min(block, dim=1, out=(nearest[start:stop], labels[start:stop]))


def _exact_sq_dist(x: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) squared distance of every row to its centre by direct subtraction, a few cache-resident rows at a time."""
    n = x.shape[0]
    sq_dist = torch.empty(n, dtype=x.dtype, device=x.device)
    step = max(1, min(n, _EXACT_BLOCK_ELEMENTS // max(x.shape[1], 1)))
    for start in range(0, n, step):
        diff = centers.index_select(0, labels[start : start + step]).sub_(x[start : start + step])
        torch.sum(diff.square_(), dim=1, out=sq_dist[start : start + step])
    return sq_dist


def _sq_dist_rows(x: torch.Tensor, x_sq: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(m, N) squared distances from each point ``x[idx]`` to every row of ``x`` (rounding may leave them < 0)."""
    return torch.add(x_sq.unsqueeze(0), x_sq[idx].unsqueeze(1)).addmm_(x[idx], x.T, alpha=-2.0)


def _sample_proportional(weights: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """(r, count) indices drawn per row of the (r, n) ``weights`` with probability proportional to them."""
    cdf = torch.cumsum(weights, dim=1, dtype=torch.float64)
    u = torch.rand(weights.shape[0], count, generator=generator, device=weights.device, dtype=torch.float64)
    return torch.searchsorted(cdf, u.mul_(cdf[:, -1:]), right=True).clamp_max_(weights.shape[1] - 1)


def _kmeans_plus_plus(
    x: torch.Tensor, x_sq: torch.Tensor, k: int, n_seeds: int, generator: torch.Generator, n_local_trials: int
) -> torch.Tensor:
    """(n_seeds, k, d) greedy k-means++ seeds (Arthur & Vassilvitskii 2007): each centre the best of a few D^2 draws.

    The ``n_seeds`` restarts are seeded together: each step is one gemm of the rows against all their candidates.
    """
    n, rows = x.shape[0], torch.arange(n_seeds, device=x.device)
    chosen = torch.empty(n_seeds, k, dtype=torch.int64, device=x.device)
    chosen[:, 0] = torch.randint(n, (n_seeds,), generator=generator, device=x.device)
    closest = _sq_dist_rows(x, x_sq, chosen[:, 0]).clamp_min_(0.0)  # (n_seeds, N)
    for j in range(1, k):
        candidates = _sample_proportional(closest, n_local_trials, generator)  # (n_seeds, trials)
        trial = _sq_dist_rows(x, x_sq, candidates.flatten()).view(n_seeds, n_local_trials, n)
        trial = torch.minimum(trial, closest.unsqueeze(1), out=trial)
        best = trial.sum(dim=2).argmin(dim=1)
        closest = trial[rows, best].clamp_min_(0.0)
        chosen[:, j] = candidates[rows, best]
    return x[chosen]


def _lloyd(
    x: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor, max_iter: int, shift_tol: float
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """Lloyd iterations from ``centers`` until the labels stop changing or the squared shift is <= ``shift_tol``.

    Returns the centres, their labels when already known (``None`` after a stop on the shift), the iterations run.
    """
    labels = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
    previous = torch.full_like(labels, -1)
    nearest = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for n_iter in range(1, max_iter + 1):
        _nearest(x, centers, labels, nearest)
        if torch.equal(labels, previous):
            return centers, labels, n_iter
        labels, previous = previous, labels
        new_centers = _update_centers(x, previous, nearest, x_sq, centers.shape[0])
        shift = float((new_centers - centers).pow(2).sum())
        centers = new_centers
        if shift <= shift_tol:
            break
    return centers, None, n_iter


def _update_centers(
    x: torch.Tensor, labels: torch.Tensor, nearest: torch.Tensor, x_sq: torch.Tensor, k: int
) -> torch.Tensor:
    """Means of the clusters; an empty cluster is moved onto one of the points farthest from their centres."""
    counts = torch.bincount(labels, minlength=k)
    sums = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, labels, x)
    centers = sums.div_(counts.clamp_min(1).unsqueeze(1).to(x.dtype))
    empty = torch.nonzero(counts == 0).squeeze(1)
    if empty.numel():
        centers[empty] = x[(nearest + x_sq).topk(empty.numel()).indices]
    return centers


def _fill_empty(
    x: torch.Tensor, centers: torch.Tensor, k: int, labels: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (unless ``labels`` already are those of ``centers``) and exact squared distances, no empty cluster.

    Empty clusters are re-seeded on far points of clusters with several members, then the points reassigned.
    """
    for _ in range(k + 1):
        if labels is None:
            labels, sq_dist = _assign(x, centers)
        else:
            sq_dist = _exact_sq_dist(x, centers, labels)
        counts = torch.bincount(labels, minlength=k)
        empty = torch.nonzero(counts == 0).squeeze(1)
        if empty.numel() == 0:
            return labels, sq_dist
        donors = torch.where(counts[labels] > 1, sq_dist, torch.full_like(sq_dist, -1.0))
        centers[empty] = x[donors.topk(empty.numel()).indices]
        labels = None
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
    x = x - origin
    low, high = torch.aminmax(x, dim=0)
    scale = _power_of_two_scale(torch.maximum(high, -low))
    x = x.div_(scale)
    n, d = x.shape
    x_sq = (x * x).sum(dim=1)
    # sklearn's tolerance: tol times the mean per-dimension variance (the data are centred: their mean is ~0).
    col_mean = x.mean(dim=0, dtype=torch.float64)
    mean_var = float(x_sq.sum(dtype=torch.float64)) / n - float(col_mean.square().sum())
    shift_tol = tol * max(mean_var, 0.0) / max(d, 1)
    trials = n_local_trials if n_local_trials is not None else 2 + int(math.log(k))
    group = max(1, _BLOCK_ELEMENTS // (trials * n))  # restarts seeded together: at most ~2**24 distances
    best: KMeansResult | None = None
    for first in range(0, n_init, group):
        for seed in _kmeans_plus_plus(x, x_sq, k, min(group, n_init - first), generator, trials):
            centers, labels, n_iter = _lloyd(x, x_sq, seed, max_iter, shift_tol)
            labels, sq_dist = _fill_empty(x, centers, k, labels)
            inertia = float(sq_dist.sum()) * scale * scale  # (a Python float: no overflow of the unscaled sum)
            if best is None or inertia < best.inertia:
                best = KMeansResult(centers=centers, labels=labels, inertia=inertia, n_iter=n_iter)
    assert best is not None
    return KMeansResult(best.centers * scale + origin, best.labels, best.inertia, best.n_iter)
