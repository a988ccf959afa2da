"""Frechet Inception Distance with a user-supplied feature network or TorchScript weights file (never downloaded)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch

from torch_modeseek.metrics._accumulator import Accumulator
from torch_modeseek.metrics._checks import MissingWeightsError, check_finite, check_floating_tensor

__all__ = ["FID", "frechet_distance"]

INCEPTION_FILE = "inception-2015-12-05.pt"
_NEEDS_WEIGHTS = (
    "FID on images needs a feature network, and torch-modeseek never downloads weights. Either pass "
    "FID(feature_extractor=<callable or nn.Module mapping (N, 3, H, W) images to (N, F) features>), or download "
    f"the TorchScript Inception-v3 '{INCEPTION_FILE}' (the file used by StyleGAN2-ADA and clean-fid, "
    f"https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/{INCEPTION_FILE}) yourself, put it "
    f"anywhere (e.g. ~/.cache/torch_modeseek/{INCEPTION_FILE}) and pass FID(weights='/path/to/{INCEPTION_FILE}'); "
    "or call update() with precomputed (N, F) features."
)


def _sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clamped at 0)."""
    eigvals, eigvecs = torch.linalg.eigh(0.5 * (a + a.T))
    return (eigvecs * eigvals.clamp_min(0.0).sqrt()) @ eigvecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)``. The trace term equals
    ``tr((S1 S2)^1/2)`` and is computed from two symmetric eigendecompositions (no scipy), with negative round-off
    eigenvalues clamped at 0; the result is clamped at 0.

    Args:
        mu1: (F,) mean of the first distribution.
        sigma1: (F, F) symmetric PSD covariance.
        mu2: (F,) mean of the second distribution.
        sigma2: (F, F) symmetric PSD covariance.

    Returns:
        0-d float64 tensor (the squared distance, as FID reports it).

    Example:
        >>> frechet_distance(torch.zeros(2), torch.eye(2), torch.ones(2), 4 * torch.eye(2))
        tensor(4., dtype=torch.float64)

    """
    names = ("mu1", "sigma1", "mu2", "sigma2")
    for name, value, ndim in zip(names, (mu1, sigma1, mu2, sigma2), (1, 2, 1, 2), strict=True):
        check_floating_tensor(value, name, min_ndim=ndim)
        if value.ndim != ndim:
            raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(value.shape)}")
        check_finite(value, name)
    f = mu1.shape[0]
    if mu2.shape != (f,) or sigma1.shape != (f, f) or sigma2.shape != (f, f):
        shapes = ", ".join(f"{n}={tuple(v.shape)}" for n, v in zip(names, (mu1, sigma1, mu2, sigma2), strict=True))
        raise ValueError(f"expected mu (F,) and sigma (F, F) with the same F, got {shapes}")
    m1, s1 = mu1.double(), sigma1.double()
    m2, s2 = mu2.double().to(m1.device), sigma2.double().to(m1.device)
    root1 = _sqrtm_psd(s1)
    cross = _sqrtm_psd(root1 @ s2 @ root1)
    value = (m1 - m2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2.0 * torch.trace(cross)
    return value.clamp_min(0.0)


def _load_torchscript(path: str | os.PathLike[str]) -> Callable[[torch.Tensor], torch.Tensor]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"FID weights file not found: {os.fspath(path)!r}. {_NEEDS_WEIGHTS}")
    model = torch.jit.load(os.fspath(path), map_location="cpu").eval()

    def extract(images: torch.Tensor) -> torch.Tensor:
        model.to(images.device)
        return model(images * 255.0, return_features=True)

    return extract


class FID(Accumulator):
    """Frechet distance between Gaussian fits of real and generated features (lower = closer).

    ``update(x, real=...)`` accepts either precomputed features (N, F) or, with a feature network, images
    (N, 3, H, W) that are passed through it. Feature network: ``feature_extractor`` (any callable, run under
    ``torch.no_grad``) or ``weights``, the path of the TorchScript Inception-v3 ``inception-2015-12-05.pt``
    (images in [0, 1], scaled to [0, 255] and called as ``model(x, return_features=True)`` -> (N, 2048)). With
    neither, images raise :class:`MissingWeightsError` saying which file is needed and where to pass it.

    State: per side a float64 feature sum (F,), sum of outer products (F, F) and an int64 count, so ranks merge by
    summation (:meth:`sync`). ``compute()`` forms the means and unbiased covariances and returns
    :func:`frechet_distance`.

    Example:
        >>> fid = FID()
        >>> fid.update(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]), real=True)
        >>> fid.update(torch.tensor([[1.0, 1.0], [3.0, 1.0], [1.0, 3.0], [3.0, 3.0]]), real=False)
        >>> round(float(fid.compute()), 6)  # same covariance, means 1 apart in each of 2 dims
        2.0

    """

    def __init__(
        self,
        feature_extractor: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        weights: str | os.PathLike[str] | None = None,
    ) -> None:
        if feature_extractor is not None and weights is not None:
            raise ValueError("pass either feature_extractor or weights, not both")
        if feature_extractor is not None and not callable(feature_extractor):
            raise TypeError(f"feature_extractor must be callable, got {type(feature_extractor).__name__}")
        self.feature_extractor = _load_torchscript(weights) if weights is not None else feature_extractor
        super().__init__()  # per side: "<side>_sum", "<side>_outer", "<side>_count", summed over batches and ranks

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = check_floating_tensor(x, "x", min_ndim=2)
        if self.feature_extractor is None:
            if x.ndim != 2:
                raise MissingWeightsError(f"got input of shape {tuple(x.shape)}, not (N, F) features. {_NEEDS_WEIGHTS}")
            feats = x
        else:
            with torch.no_grad():
                feats = self.feature_extractor(x)
            if not isinstance(feats, torch.Tensor) or feats.ndim < 1 or feats.shape[0] != x.shape[0]:
                got = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
                raise ValueError(f"feature_extractor must return (N, F) features for N={x.shape[0]}, got {got}")
            feats = feats.reshape(feats.shape[0], -1)
        return check_finite(feats, "features").double()

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Accumulate a batch of real (``real=True``) or generated samples: (N, F) features or images."""
        feats = self._features(x)
        side = "real" if real else "fake"
        width = feats.shape[1]
        for name in self._sums.names():
            if name.endswith("_sum") and self._sums.local[name].shape[0] != width:
                raise ValueError(
                    f"{side} features have {width} dimensions but earlier ones had {self._sums.local[name].shape[0]}"
                )
        self._sums.add(f"{side}_sum", feats.sum(dim=0))
        self._sums.add(f"{side}_outer", feats.T @ feats)
        self._sums.add(f"{side}_count", torch.tensor(feats.shape[0], dtype=torch.int64, device=feats.device))

    def _gaussian(self, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        count = self._sums.get(f"{side}_count")
        n = int(count) if count is not None else 0
        if n < 2:
            raise ValueError(f"FID.compute() needs at least 2 {side} samples, got {n}; call update(x, real=...) first")
        mean = self._sums.get(f"{side}_sum") / n
        cov = (self._sums.get(f"{side}_outer") - n * torch.outer(mean, mean)) / (n - 1)
        return mean, cov

    def compute(self) -> torch.Tensor:
        """FID of the accumulated statistics: 0-d float64 tensor."""
        mu_real, sigma_real = self._gaussian("real")
        mu_fake, sigma_fake = self._gaussian("fake")
        return frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake)

    def reset(self, *, real: bool = True) -> None:
        """Clear the generated statistics, and the real ones too unless ``real=False`` (to reuse them)."""
        sides = ("fake", "real") if real else ("fake",)
        self._sums.reset([f"{side}_{part}" for side in sides for part in ("sum", "outer", "count")])

    def sync(self, process_group: Any = None) -> None:
        """Sum the statistics over ``process_group`` (an all-reduce of copies); a no-op without torch.distributed.

        Every rank must have updated both sides (same feature size). Idempotent: calling it again counts nothing twice.
        """
        super().sync(process_group)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Accumulated statistics as flat ``{"real_sum": ..., "fake_count": ...}`` tensors (no network)."""
        return self._sums.state_dict()

    def load_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned."""
        sides: dict[str, set[str]] = {}
        for key in state_dict:
            side, _, name = key.partition("_")
            if side not in ("real", "fake") or name not in ("sum", "outer", "count"):
                raise ValueError(f"unexpected key {key!r} in FID state_dict")
            sides.setdefault(side, set()).add(name)
        for side, names in sides.items():
            if len(names) != 3:
                raise ValueError(f"FID state_dict has an incomplete {side} entry: {sorted(names)}")
        self._sums.load_state_dict(state_dict)
