"""The mode-seeking term written from the paper's official code, in float64 NumPy, one sample at a time.

Independent of the package: no torch_modeseek import, explicit loops over samples and pairs, so that a shared mistake
between the implementation and this file is unlikely.

Official (all four tasks of MSGAN):
    lz = mean(|x2 - x1|) / mean(|z2 - z1|)
    loss = 1 / (lz + 1e-5)
"""

from __future__ import annotations

import itertools

import numpy as np


def official(z1, z2, x1, x2) -> float:
    """The official MSGAN formula: L1 means over all elements of the half-batch tensors."""
    z1, z2, x1, x2 = (np.asarray(t, dtype=np.float64) for t in (z1, z2, x1, x2))
    lz = np.mean(np.abs(x2 - x1)) / np.mean(np.abs(z2 - z1))
    return 1.0 / (lz + 1e-5)


def pair_distance(a, b, kind) -> float:
    """Distance between two single samples (any shape), in float64."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if kind == "l1":
        return float(np.mean(np.abs(a - b)))
    if kind == "mse":
        return float(np.mean((a - b) ** 2))
    if kind == "l2":
        return float(np.sqrt(np.mean((a - b) ** 2)))
    if kind == "cosine":
        na = max(np.sqrt(np.sum(a * a)), 1e-8)
        nb = max(np.sqrt(np.sum(b * b)), 1e-8)
        return float(1.0 - np.sum(a * b) / (na * nb))
    if callable(kind):
        raise TypeError("the reference takes built-in kinds only")
    raise ValueError(kind)


def per_sample(a, b, kind) -> np.ndarray:
    """(B,) distances; a, b are arrays (B, ...) or lists of them (layers averaged)."""
    if isinstance(a, (list, tuple)):
        return np.mean([per_sample(x, y, kind) for x, y in zip(a, b, strict=False)], axis=0)
    return np.array([pair_distance(a[i], b[i], kind) for i in range(len(a))])


def form_value(dx, dz, form, eps, tau):
    """The loss of one (output distance, latent distance) pair of numbers."""
    r = dx / max(dz, eps)
    if form == "reciprocal":
        return 1.0 / (r + eps)
    if form == "negative":
        return -r
    if form == "clamped":
        return -min(r, tau)
    if form == "inverse":
        return dz / (dx + eps)
    raise ValueError(form)


def reduce(dx, dz, form, reduction, eps, tau):
    """Apply a form and a reduction to per-pair distance arrays of any shape."""
    dx, dz = np.asarray(dx, dtype=np.float64), np.asarray(dz, dtype=np.float64)
    if reduction == "batch":
        return form_value(dx.mean(), dz.mean(), form, eps, tau)
    values = np.vectorize(lambda a, b: form_value(a, b, form, eps, tau))(dx, dz)
    return float(values.mean()) if reduction == "sample" else values


def loss(
    z1, z2, x1, x2, *, distance="l1", latent_distance="l1", eps=1e-5, form="reciprocal", reduction="batch", tau=None
):
    """Every option of the paired loss, from the formulas in the paper and the later literature."""
    dx = per_sample(x1, x2, distance)
    dz = per_sample(z1, z2, latent_distance)
    return reduce(dx, dz, form, reduction, eps, tau)


def loss_all_pairs(
    z, x, *, distance="l1", latent_distance="l1", eps=1e-5, form="reciprocal", reduction="batch", tau=None
):
    """All pairs i < j of the S samples of each condition; z, x of shape (S, B, ...)."""
    layers = x if isinstance(x, (list, tuple)) else [x]
    samples, batch = z.shape[0], z.shape[1]
    pairs = list(itertools.combinations(range(samples), 2))
    dx = np.zeros((batch, len(pairs)))
    dz = np.zeros((batch, len(pairs)))
    for b in range(batch):
        for p, (i, j) in enumerate(pairs):
            dx[b, p] = np.mean([distance_of(layer, i, j, b, distance) for layer in layers])
            dz[b, p] = distance_of(z, i, j, b, latent_distance)
    return reduce(dx, dz, form, reduction, eps, tau)


def distance_of(t, i, j, b, kind):
    """Distance between samples i and j of condition b of an (S, B, ...) array."""
    return pair_distance(np.asarray(t)[i, b], np.asarray(t)[j, b], kind)
