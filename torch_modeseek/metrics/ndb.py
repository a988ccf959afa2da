"""NDB and JSD (Richardson & Weiss, "On GANs and GMMs", NeurIPS 2018): mode coverage by k-means bins.

Protocol: flatten the samples; optionally standardise every dimension with the real data's mean and std + 1e-6; when
d > 1000 keep a seeded random subset of d // 6 dimensions; run k-means++ on the REAL samples into K bins; sort the bins
by size; assign generated samples to the nearest centre (L2); per bin, a two-sided pooled two-proportion z-test.
NDB is the number of significantly different bins (about alpha * K for a perfect model, not 0); JSD is the
Jensen-Shannon divergence of the two bin histograms in nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import torch

from torch_modeseek.metrics._accumulator import Accumulator, Result
from torch_modeseek.metrics._checks import (
    NotFittedError,
    check_positive_int,
    check_probability,
    flatten_samples,
)
from torch_modeseek.metrics._kmeans import assign_to_centers, kmeans

__all__ = ["NDB", "NDBResult", "jensen_shannon_divergence", "two_proportion_z_test", "two_sided_critical_value"]

_STD_EPS = 1e-6
_AUTO_SUBSET_ABOVE = 1000


def _as_distribution(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor of probabilities or counts, got {tuple(x.shape)}")
    x = x.to(torch.float64)
    if not bool(torch.isfinite(x).all()) or bool((x < 0).any()) or float(x.sum()) <= 0:
        raise ValueError(f"{name} must be finite, non-negative and have a positive sum, got {x.tolist()}")
    return x / x.sum()


def jensen_shannon_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence of two discrete distributions, in nats.

    ``JSD(p, q) = 0.5 KL(p || m) + 0.5 KL(q || m)`` with ``m = (p + q) / 2`` and
    ``KL(a || m) = sum_i a_i ln(a_i / m_i)``, skipping terms with ``a_i = 0``. The result lies in
    ``[0, ln 2]`` and is 0 iff ``p == q``. Note that ``scipy.spatial.distance.jensenshannon`` returns the square
    root of this value.

    Args:
        p: (K,) probabilities or counts (normalised to sum to 1 here).
        q: (K,) same shape as ``p``.

    Returns:
        0-d float64 tensor on ``p``'s device.

    Example:
        >>> jsd = jensen_shannon_divergence(torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.4, 0.35, 0.25]))
        >>> round(float(jsd), 7)
        0.0051378

    """
    p = _as_distribution(p, "p")
    q = _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")
    q = q.to(p.device)
    m = 0.5 * (p + q)
    zero = torch.zeros((), dtype=torch.float64, device=p.device)

    def kl_to_m(a: torch.Tensor) -> torch.Tensor:
        return torch.where(a > 0, a * torch.log(a / m), zero).sum()

    return (0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)).clamp(0.0, math.log(2.0))


def two_proportion_z_test(
    count1: torch.Tensor, n1: int | torch.Tensor, count2: torch.Tensor, n2: int | torch.Tensor
) -> torch.Tensor:
    """Pooled two-proportion z statistics, elementwise.

    ``p1 = count1 / n1``, ``p2 = count2 / n2``, pooled ``p = (count1 + count2) / (n1 + n2)``,
    ``se = sqrt(p (1 - p) (1/n1 + 1/n2))``, ``z = (p1 - p2) / se``; where ``se == 0`` (both proportions 0 or both
    1) ``z = 0``. Computed in float64.

    Args:
        count1: (K,) successes in sample 1 (e.g. real samples per bin).
        n1: size of sample 1 (> 0).
        count2: (K,) successes in sample 2.
        n2: size of sample 2 (> 0).

    Returns:
        (K,) float64 z-scores; a bin differs at level alpha when ``|z| > two_sided_critical_value(alpha)``.

    Example:
        >>> z = two_proportion_z_test(torch.tensor([500, 300, 200]), 1000, torch.tensor([400, 350, 250]), 1000)
        >>> [round(v, 3) for v in z.tolist()]
        [4.495, -2.387, -2.677]

    """
    c1 = torch.as_tensor(count1, dtype=torch.float64)
    c2 = torch.as_tensor(count2, dtype=torch.float64, device=c1.device)
    m1 = torch.as_tensor(n1, dtype=torch.float64, device=c1.device)
    m2 = torch.as_tensor(n2, dtype=torch.float64, device=c1.device)
    if bool((m1 <= 0).any()) or bool((m2 <= 0).any()):
        raise ValueError(f"n1 and n2 must be positive sample sizes, got n1={n1} and n2={n2}")
    if c1.shape != c2.shape:
        raise ValueError(f"count1 and count2 must have the same shape, got {tuple(c1.shape)} and {tuple(c2.shape)}")
    pooled = (c1 + c2) / (m1 + m2)
    se = torch.sqrt(pooled * (1.0 - pooled) * (1.0 / m1 + 1.0 / m2))
    diff = c1 / m1 - c2 / m2
    return torch.where(se > 0, diff / torch.where(se > 0, se, torch.ones_like(se)), torch.zeros_like(se))


def two_sided_critical_value(significance_level: float) -> float:
    """Standard-normal critical value ``Phi^-1(1 - alpha / 2)`` of a two-sided test at level ``alpha``.

    Example:
        >>> round(two_sided_critical_value(0.05), 6)
        1.959964

    """
    alpha = check_probability(significance_level, "significance_level")
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


@dataclass(frozen=True, eq=False)
class NDBResult(Result):
    """Result of :meth:`NDB.compute`; bins are sorted by real-sample count, largest first.

    Attributes:
        ndb: number of statistically different bins.
        ndb_fraction: ``ndb / K`` (about ``significance_level`` for a perfect model).
        jsd: Jensen-Shannon divergence of the bin histograms, nats, in ``[0, ln 2]``.
        real_proportions: (K,) float64 share of real samples per bin.
        fake_proportions: (K,) float64 share of generated samples per bin.
        different_bins: (K,) bool, ``|z| > z_threshold``.
        z_scores: (K,) float64 pooled two-proportion z statistics (real minus fake).
        num_real: number of real samples the bins were fitted on.
        num_fake: number of generated samples accumulated.

    Example:
        >>> import torch
        >>> ndb = NDB(num_bins=2, n_init=1).fit(torch.cat([torch.zeros(60, 2), torch.ones(40, 2)]))
        >>> ndb.update(torch.cat([torch.zeros(60, 2), torch.ones(40, 2)]))
        >>> res = ndb.compute()
        >>> res.ndb, res.real_proportions.tolist(), res.fake_proportions.tolist(), res.jsd
        (0, [0.6, 0.4], [0.6, 0.4], 0.0)
        >>> sorted(res.to_dict())[:3]
        ['different_bins', 'fake_proportions', 'jsd']

    """

    ndb: int
    ndb_fraction: float
    jsd: float
    real_proportions: torch.Tensor
    fake_proportions: torch.Tensor
    different_bins: torch.Tensor
    z_scores: torch.Tensor
    num_real: int
    num_fake: int


class NDB(Accumulator):
    """Number of statistically Different Bins and JSD between real and generated samples.

    ``fit(real)`` builds ``num_bins`` k-means bins on real samples (N, ...), flattened per sample: per-dimension
    standardisation with the real mean and std + 1e-6 when ``whitening``; a seeded random subset of ``d // 6``
    dimensions when d > 1000 (``max_dims`` instead sets that count, capped at d); k-means++ with ``n_init`` restarts
    of ``max_iter`` Lloyd iterations; bins sorted by size, all non-empty. ``update(fake)`` adds nearest-centre
    counts (int64, on the bins' device; memory does not grow), ``compute()`` runs the pooled two-proportion z-test per
    bin (different when ``|z| > z_threshold``, default ``Phi^-1(1 - significance_level / 2)`` = 1.959964 for 0.05)
    and returns an :class:`NDBResult`. Any real values are accepted (pixels or features); for images the paper's
    convention is pixels in [0, 1] (see :func:`images_to_unit_range`).

    Distributed use: fit identical bins on every rank (same real data and seed, or ``load_state_dict`` of rank 0's
    ``state_dict()``), ``update`` each rank's fakes, call :meth:`sync` (an all-reduce SUM of the fake counts,
    idempotent) and then ``compute()`` on any rank.

    Example:
        >>> real = torch.cat([torch.zeros(50, 2), torch.ones(50, 2)])
        >>> ndb = NDB(num_bins=2, n_init=1).fit(real)
        >>> ndb.update(torch.cat([torch.zeros(10, 2), torch.ones(90, 2)]))
        >>> res = ndb.compute()
        >>> res.ndb, res.different_bins.tolist(), round(res.jsd, 4)
        (2, [True, True], 0.1017)

    """

    def __init__(
        self,
        num_bins: int = 100,
        significance_level: float = 0.05,
        z_threshold: float | None = None,
        whitening: bool = False,
        max_dims: int | None = None,
        seed: int = 0,
        n_init: int = 10,
        max_iter: int = 100,
    ) -> None:
        self.num_bins = check_positive_int(num_bins, "num_bins")
        self.significance_level = check_probability(significance_level, "significance_level")
        if z_threshold is None:
            z_threshold = two_sided_critical_value(self.significance_level)
        elif isinstance(z_threshold, bool) or not isinstance(z_threshold, (int, float)) or not z_threshold > 0:
            raise ValueError(f"z_threshold must be a positive number or None, got {z_threshold!r}")
        self.z_threshold = float(z_threshold)
        self.whitening = bool(whitening)
        self.max_dims = None if max_dims is None else check_positive_int(max_dims, "max_dims")
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self.n_init = check_positive_int(n_init, "n_init")
        self.max_iter = check_positive_int(max_iter, "max_iter")
        self._state: dict[str, Any] | None = None  # the fitted bins: fixed once fit
        super().__init__()  # the generated counts, summed over batches and ranks

    def _config(self) -> dict[str, Any]:
        keys = ("num_bins", "significance_level", "z_threshold", "whitening", "max_dims", "seed", "n_init", "max_iter")
        return {key: getattr(self, key) for key in keys}

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load_state_dict`) has set the bins."""
        return self._state is not None

    def _fitted_state(self, action: str) -> dict[str, Any]:
        if self._state is None:
            raise NotFittedError(f"NDB.{action}() called before NDB.fit(real): fit the bins on real samples first")
        return self._state

    def _transform(self, x: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        if state["dims"] is not None:
            x = x[:, state["dims"].to(x.device)]
        if state["mean"] is not None:
            x = (x - state["mean"]) / state["std"]
        return x

    def fit(self, real: torch.Tensor) -> NDB:
        """Fit the bins on real samples (N, ...) and clear the generated counts; returns ``self``."""
        x = flatten_samples(real, "real")
        n, d = x.shape
        if self.num_bins > n:
            raise ValueError(f"num_bins ({self.num_bins}) exceeds the number of real samples ({n}); lower num_bins")
        if x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        count = min(self.max_dims, d) if self.max_dims is not None else (d // 6 if d > _AUTO_SUBSET_ABOVE else d)
        dims = None
        if count < d:
            cpu_gen = torch.Generator().manual_seed(self.seed)
            dims = torch.randperm(d, generator=cpu_gen)[:count].sort().values
            x = x[:, dims.to(x.device)]
        mean = std = None
        if self.whitening:
            mean = x.mean(dim=0)
            std = x.std(dim=0, unbiased=False) + _STD_EPS
            x = (x - mean) / std
        gen = torch.Generator(device=x.device).manual_seed(self.seed)
        result = kmeans(x, self.num_bins, n_init=self.n_init, max_iter=self.max_iter, generator=gen)
        real_counts = torch.bincount(result.labels, minlength=self.num_bins)
        order = torch.sort(real_counts, descending=True, stable=True).indices
        self._state = {
            "num_features": d,
            "num_real": n,
            "dims": dims,
            "mean": mean,
            "std": std,
            "centers": result.centers[order].contiguous(),
            "real_counts": real_counts[order],
        }
        self.reset()
        return self

    def update(self, fake: torch.Tensor) -> None:
        """Add the nearest-bin counts of generated samples (N, ...); the feature size must match ``fit``."""
        state = self._fitted_state("update")
        x = flatten_samples(fake, "fake")
        if x.shape[1] != state["num_features"]:
            raise ValueError(
                f"fake has {x.shape[1]} features per sample (shape {tuple(fake.shape)}), but the bins were fitted "
                f"on {state['num_features']} features per sample"
            )
        centers = state["centers"]
        x = self._transform(x.to(device=centers.device, dtype=centers.dtype), state)
        labels, _ = assign_to_centers(x, centers)
        self._sums.add("fake_counts", torch.bincount(labels, minlength=self.num_bins))
        self._sums.add("num_fake", torch.tensor(x.shape[0], dtype=torch.int64, device=centers.device))

    def compute(self) -> NDBResult:
        """Score the accumulated generated samples against the real bins."""
        state = self._fitted_state("compute")
        fake_counts, num_fake_sum = self._sums.get("fake_counts"), self._sums.get("num_fake")
        num_fake = 0 if num_fake_sum is None else int(num_fake_sum)
        if fake_counts is None or num_fake == 0:
            raise ValueError("NDB.compute() needs generated samples: call NDB.update(fake) first")
        real_counts, num_real = state["real_counts"], state["num_real"]
        z = two_proportion_z_test(real_counts, num_real, fake_counts, num_fake)
        different = z.abs() > self.z_threshold
        ndb = int(different.sum())
        return NDBResult(
            ndb=ndb,
            ndb_fraction=ndb / self.num_bins,
            jsd=float(jensen_shannon_divergence(real_counts, fake_counts)),
            real_proportions=real_counts.double() / num_real,
            fake_proportions=fake_counts.double() / num_fake,
            different_bins=different,
            z_scores=z,
            num_real=num_real,
            num_fake=num_fake,
        )

    def reset(self) -> None:
        """Clear the generated-sample counts; the fitted bins stay."""
        self._sums.reset()
        if self._state is not None:  # zero counts, so that a rank without fakes still joins the sync
            device = self._state["centers"].device
            self._sums.add("fake_counts", torch.zeros(self.num_bins, dtype=torch.int64, device=device))
            self._sums.add("num_fake", torch.zeros((), dtype=torch.int64, device=device))

    def sync(self, process_group: Any = None) -> None:
        """Sum the generated counts over ``process_group`` (an all-reduce of a copy).

        A no-op without torch.distributed. Idempotent: calling it again, or after more updates, counts no sample twice.
        """
        self._fitted_state("sync")
        super().sync(process_group)

    def state_dict(self) -> dict[str, Any]:
        """Fitted bins, transform, counts and config (tensors and Python scalars, ``torch.save``-able)."""
        state = self._fitted_state("state_dict")
        bins = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
        return {"config": self._config(), **bins, **self._sums.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; the config must equal this object's."""
        expected = {"config", "num_features", "num_real", "dims", "mean", "std", "centers", "real_counts"}
        missing = expected - set(state_dict)
        if missing:
            raise ValueError(f"state_dict is missing keys {sorted(missing)}")
        if state_dict["config"] != self._config():
            raise ValueError(f"state_dict was saved with config {state_dict['config']}, this NDB has {self._config()}")
        centers = state_dict["centers"]
        if centers.ndim != 2 or centers.shape[0] != self.num_bins:
            raise ValueError(f"state_dict centers must have shape ({self.num_bins}, d), got {tuple(centers.shape)}")
        place = {k: v.to(centers.device) if torch.is_tensor(v) and k != "dims" else v for k, v in state_dict.items()}
        self._state = {k: place[k] for k in expected - {"config"}}
        self._sums.load_state_dict({k: place[k] for k in ("fake_counts", "num_fake") if k in place})
