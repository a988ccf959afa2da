"""The built-in distance kinds, registered once.

The input checks, the backend dispatch, the Triton kernels and the example trainers' command line all read this
registry. Adding a kind means one entry here and its reference function in :mod:`torch_modeseek.ops._reference` (a
test checks that every kind has one), plus, if it has fused kernels, their branch for its ``kernel`` id; a kind with
``kernel=None`` runs on the reference on every device (``backend="triton"`` refuses it with a message).
"""

from __future__ import annotations

from typing import NamedTuple


class DistanceKind(NamedTuple):
    """One built-in per-sample distance between two samples ``a``, ``b`` of ``D`` elements."""

    name: str
    """The name the ``distance`` and ``latent_distance`` options take."""
    formula: str
    """The per-sample value, in words."""
    kernel: int | None
    """The id of its branch in the Triton kernels (their ``KIND`` constant), or None when it has no kernel."""


KINDS: dict[str, DistanceKind] = {
    kind.name: kind
    for kind in (
        DistanceKind("l1", "mean |a - b| (MSGAN's official distance)", 0),
        DistanceKind("l2", "sqrt(mean (a - b)^2), the root mean square difference", 2),
        DistanceKind("mse", "mean (a - b)^2", 1),
        DistanceKind("cosine", "1 - a.b / (max(|a|, 1e-8) max(|b|, 1e-8))", 3),
    )
}
"""The kinds by name, in the order the error messages list them."""
NAMES: tuple[str, ...] = tuple(KINDS)
"""The kinds' names."""


def kernel_id(name: str) -> int | None:
    """The Triton kernels' id of the kind ``name``, or None when it runs on the reference only."""
    return KINDS[name].kernel


__all__ = ["KINDS", "NAMES", "DistanceKind", "kernel_id"]
