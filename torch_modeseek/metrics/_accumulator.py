"""The metrics' shared protocol: accumulate per batch, compute, reset, and merge ranks by summation.

Every accumulating metric (:class:`~torch_modeseek.metrics.NDB`, :class:`~torch_modeseek.metrics.FID`,
:class:`~torch_modeseek.metrics.LPIPSDiversity`) keeps what it accumulates as named tensors that add up, batch
after batch and rank after rank (:class:`SummedStates`), and exposes ``update(...)``, ``compute()``, ``reset()`` and
``sync(process_group=None)``. ``sync`` is idempotent: it all-reduces a copy of this rank's own sums, so calling it
twice, or again after more updates, never counts a batch twice. Results are dataclasses with one shared
:meth:`Result.to_dict`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch


class SummedStates:
    """Named tensors that add up over batches and over ranks, with an idempotent :meth:`sync`."""

    def __init__(self) -> None:
        self.local: dict[str, torch.Tensor] = {}  # this rank's own sums
        self._total: dict[str, torch.Tensor] | None = None  # the sums over the ranks, as of the last sync

    def add(self, name: str, value: torch.Tensor) -> None:
        """Add ``value`` to this rank's sum ``name`` (created at the first add); a later :meth:`sync` is needed."""
        if name in self.local:
            self.local[name] += value.to(self.local[name].device)
        else:
            self.local[name] = value.clone()
        self._total = None

    def get(self, name: str) -> torch.Tensor | None:
        """The sum ``name`` over the ranks after :meth:`sync`, else this rank's own; None before any add."""
        return (self._total if self._total is not None else self.local).get(name)

    def names(self) -> list[str]:
        """The names of the sums held."""
        return sorted(self.local)

    def sync(self, process_group: Any = None) -> None:
        """Sum this rank's sums over ``process_group``; a no-op without torch.distributed.

        Every rank must hold the same names. Idempotent: the all-reduce runs on copies, this rank's own sums stay.
        """
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        total = {name: self.local[name].clone() for name in sorted(self.local)}
        for value in total.values():
            torch.distributed.all_reduce(value, group=process_group)
        self._total = total

    def reset(self, names: list[str] | None = None) -> None:
        """Drop the sums ``names`` (all of them by default)."""
        for name in list(self.local) if names is None else names:
            self.local.pop(name, None)
        self._total = None

    def state_dict(self) -> dict[str, torch.Tensor]:
        """This rank's own sums (clones)."""
        return {name: value.clone() for name, value in self.local.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Replace the sums with ``state`` (as :meth:`state_dict` returned)."""
        self.local = {name: value.clone() for name, value in state.items()}
        self._total = None


class Accumulator:
    """Base of the accumulating metrics: ``update`` per batch, ``compute``, ``reset``, ``sync`` across ranks."""

    def __init__(self) -> None:
        self._sums = SummedStates()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate one batch."""
        raise NotImplementedError

    def compute(self) -> Any:
        """The metric of everything accumulated (over the ranks after :meth:`sync`)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Clear what was accumulated (what a metric was fitted on, such as NDB's bins, stays)."""
        self._sums.reset()

    def sync(self, process_group: Any = None) -> None:
        """Sum the accumulated state over ``process_group`` after the last ``update``.

        Idempotent, and a no-op without torch.distributed; ``compute`` then gives the metric of all ranks.
        """
        self._sums.sync(process_group)


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of the metrics' results: frozen dataclasses of numbers and tensors."""

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (lists for tensors), ready for ``json.dump``."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    return value.tolist() if torch.is_tensor(value) else value
