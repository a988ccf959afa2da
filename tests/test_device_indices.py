"""The all-pairs gather builds its indices with device ops, not from Python lists copied over on every call.

Indexing with Python lists makes the index tensors outside the dispatcher, from host memory, and copies them to the
inputs' device on every call (a host-to-device copy per step on a GPU). The test traces the gather on ``meta``
tensors and checks that every index tensor comes from an op the dispatcher ran (e.g. ``triu_indices`` on the device).
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from torch_modeseek import mode_seeking_loss_all_pairs, upper_pair_distance


class _IndexProvenance(TorchDispatchMode):
    """Records the tensors each op makes, and index ops whose indices were made elsewhere."""

    def __init__(self, *inputs: torch.Tensor) -> None:
        super().__init__()
        self.made: list[torch.Tensor] = list(inputs)  # kept alive, so their ids stay unique
        self.foreign: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.index.Tensor:
            indices = [t for t in tree_leaves(args[1]) if isinstance(t, torch.Tensor)]
            known = {id(t) for t in self.made}
            self.foreign += [str(func) for t in indices if id(t) not in known]
        out = func(*args, **(kwargs or {}))
        self.made += [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        return out


def test_upper_pair_distance_makes_its_indices_on_the_device():
    x = torch.empty(5, 3, 2, 4, device="meta")
    with _IndexProvenance(x) as mode:
        d = upper_pair_distance([x], "l1", backend="torch")
    assert d.shape == (3, 10)
    assert mode.foreign == []


def test_all_pairs_loss_makes_its_indices_on_the_device():
    z = torch.empty(4, 3, 8, device="meta")
    x = torch.empty(4, 3, 2, 4, device="meta", requires_grad=True)
    with _IndexProvenance(z, x) as mode:
        loss = mode_seeking_loss_all_pairs(z, x, backend="torch")
    assert loss.shape == ()
    assert mode.foreign == []
