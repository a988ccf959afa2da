"""Where a run executes: device choice, the torchrun/DDP process group, mixed precision and seeding."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["Runtime", "frozen", "unwrap"]


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a ``DistributedDataParallel`` wrapper (or the module itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


@dataclass
class Runtime:
    """The process's place in the run.

    Attributes:
        device: the torch device of this process.
        rank: global rank (0 without torchrun).
        world_size: number of processes (1 without torchrun).
        amp: mixed precision on (float16 autocast + grad scaling on CUDA, bfloat16 autocast on the CPU).
    """

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp: bool = False

    @classmethod
    def start(cls, device: str = "auto", amp: bool = False) -> Runtime:
        """Pick the device and, under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group.

        Args:
            device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
            amp: enable mixed precision.

        Raises:
            ValueError: unknown device, or ``"cuda"`` without a GPU.
        """
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"--device must be auto, cpu or cuda, got {device!r}")
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device (use --device cpu)")
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        if use_cuda:
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local_rank)
            dev = torch.device("cuda", local_rank)
        else:
            dev = torch.device("cpu")
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        return cls(device=dev, rank=rank, world_size=world_size, amp=amp)

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the process that writes files and shows progress)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether the run has more than one process."""
        return self.world_size > 1

    def wrap(self, module: nn.Module) -> nn.Module:
        """Move ``module`` to the device and wrap it in DDP when distributed."""
        module = module.to(self.device)
        if not self.distributed:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """Autocast for the forward passes (a no-op without ``amp``)."""
        if not self.amp:
            return contextlib.nullcontext()
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, enabled only for float16 autocast on CUDA."""
        return torch.amp.GradScaler("cuda", enabled=self.amp and self.device.type == "cuda")

    def any_rank(self, flag: bool) -> bool:
        """True when ``flag`` is true on any rank (a collective: every rank must call it)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value)
        return bool(value.item() > 0)

    def average(self, tensors: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
        """The mean of each tensor over the ranks, in place (a collective; ``None`` stays ``None``).

        For gradients taken with ``torch.autograd.grad``, which DDP does not synchronise. Without DDP the tensors come
        back unchanged.
        """
        out = list(tensors)
        if self.distributed:
            for t in out:
                if t is not None:
                    dist.all_reduce(t)
                    t.div_(self.world_size)
        return out

    def barrier(self) -> None:
        """Wait for every rank (no-op when not distributed)."""
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group."""
        if dist.is_initialized():
            dist.destroy_process_group()


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of the modules' parameters inside the block (e.g. D during the G step)."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
