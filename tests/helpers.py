"""Small shared helpers for the tests."""

from __future__ import annotations

import torch

DISTANCES = ("l1", "l2", "mse", "cosine")
FORMS = ("reciprocal", "negative", "clamped", "inverse")
REDUCTIONS = ("batch", "sample", "none")


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def batch(b: int = 4, latent: int = 8, out: tuple[int, ...] = (3, 5, 7), seed: int = 0, dtype=torch.float32):
    """z1, z2, x1, x2 with independent random values."""
    return (
        randn(b, latent, seed=seed, dtype=dtype),
        randn(b, latent, seed=seed + 1, dtype=dtype),
        randn(b, *out, seed=seed + 2, dtype=dtype),
        randn(b, *out, seed=seed + 3, dtype=dtype),
    )


def tau_for(form: str) -> float | None:
    return 1.5 if form == "clamped" else None


def np64(t):
    if isinstance(t, (list, tuple)):
        return [np64(x) for x in t]
    return t.detach().double().numpy()


def load_script(path, name: str):
    """Import a script that is not in a package (an example or a benchmark) as module ``name``."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
