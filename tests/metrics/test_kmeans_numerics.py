"""k-means and NDB numerics: float32 labels as exact as direct subtraction, large finite values, numpy integers."""

from __future__ import annotations

import numpy as np
import torch

from torch_modeseek.metrics import NDB
from torch_modeseek.metrics._kmeans import assign_to_centers, kmeans


def _uncentred_image_like(seed: int = 0):
    """Pixel-like values around 0.5 and close centres: the expansion |x|^2 - 2x.c + |c|^2 cancels badly here."""
    g = torch.Generator().manual_seed(seed)
    x = 0.5 + 0.05 * torch.randn(40000, 768, generator=g)
    centers = 0.5 + 0.001 * torch.randn(100, 768, generator=g)
    return x, centers


def test_float32_labels_equal_direct_subtraction_in_float64():
    x, centers = _uncentred_image_like()
    labels, sq_dist = assign_to_centers(x, centers)
    exact = torch.cdist(x.double(), centers.double()).argmin(dim=1)
    assert int((labels != exact).sum()) == 0  # 891 of 40,000 differed before the data were centred
    want = (x.double() - centers.double()[labels]).pow(2).sum(1)
    torch.testing.assert_close(sq_dist.double(), want, rtol=1e-5, atol=0)


def test_large_finite_float32_values_do_not_overflow():
    x = torch.cat([torch.full((50, 4), 1e20), torch.full((50, 4), -1e20)]) + torch.randn(100, 4) * 1e18
    result = kmeans(x, 2, n_init=1)
    assert sorted(torch.bincount(result.labels).tolist()) == [50, 50]
    assert np.isfinite(result.inertia)
    ndb = NDB(num_bins=2, n_init=1).fit(x)
    ndb.update(x)
    assert ndb.compute().ndb == 0


def test_numpy_integers_are_accepted():
    ndb = NDB(num_bins=np.int64(2), max_dims=np.int64(3), n_init=np.int32(1), seed=np.int64(0))
    assert ndb.num_bins == 2
    assert type(ndb.num_bins) is int
    assert type(ndb.max_dims) is int
