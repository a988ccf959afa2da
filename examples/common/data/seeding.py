"""Derive independent 63-bit seeds from tuples of ints (run seed, step, rank, index, ...), the same on any machine."""

from __future__ import annotations

import numpy as np

__all__ = ["derive_seed"]


def derive_seed(*parts: int) -> int:
    """A seed that depends on every part and on their order (numpy's ``SeedSequence`` hashing).

    Example:
        >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(1, 0)
        True
    """
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0] >> 1)
