"""Data order as a pure function of (seed, step, rank): what makes resuming exact and workers irrelevant.

:class:`StepBatches` yields, for every global step from ``start_step``, this rank's batch as a list of
``(index, item_seed)`` keys. Epoch ``e`` visits the items in the permutation seeded by ``(seed, e)``; step ``k`` of
the epoch takes the ``k``-th block of ``batch_size * world_size`` items and rank ``r`` its ``r``-th share (the tail
of an epoch that fills no whole global batch is dropped). ``item_seed`` drives an item's random augmentation. A run
resumed at step ``s`` therefore sees exactly the batches an uninterrupted run sees from step ``s``, whatever the
number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from examples.common.data.seeding import derive_seed

__all__ = ["StepBatches", "steps_per_epoch"]

_TAG = 0xDA7A  # keeps data seeds apart from the other seeds derived from the run seed


def steps_per_epoch(size: int, batch_size: int, world_size: int = 1) -> int:
    """Whole global batches in one pass over ``size`` items; raises ``ValueError`` when there is none."""
    steps = size // (batch_size * world_size)
    if steps < 1:
        raise ValueError(
            f"the dataset holds {size} items, fewer than one global batch of {batch_size} x {world_size} processes"
        )
    return steps


class StepBatches(Sampler[list[tuple[int, int]]]):
    """Batch sampler over global steps ``[start_step, total_steps)`` (see the module docstring).

    Args:
        size: number of items in the dataset.
        batch_size: items per step on this rank.
        seed: the run's seed.
        start_step: first global step to yield (the resumed step).
        total_steps: one past the last global step.
        rank: this process's rank.
        world_size: number of processes.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int,
        start_step: int,
        total_steps: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start_step, self.total_steps, self.rank, self.world_size = start_step, total_steps, rank, world_size
        self.steps_per_epoch = steps_per_epoch(size, batch_size, world_size)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, order = -1, torch.empty(0, dtype=torch.int64)
        for step in range(self.start_step, self.total_steps):
            step_epoch, k = divmod(step, self.steps_per_epoch)
            if step_epoch != epoch:
                epoch = step_epoch
                order = torch.randperm(
                    self.size, generator=torch.Generator().manual_seed(derive_seed(self.seed, _TAG, epoch))
                )
            first = (k * self.world_size + self.rank) * self.batch_size
            indices = order[first : first + self.batch_size].tolist()
            yield [(i, derive_seed(self.seed, _TAG, epoch, i)) for i in indices]
