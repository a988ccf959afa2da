"""Where a run executes: device choice, the torchrun/DDP process group, mixed precision and seeding."""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from examples.common.errors import RunError

__all__ = ["DEFAULT_DDP_TIMEOUT", "EVALUATION_TIMEOUT", "DistributedTimeoutError", "Runtime", "frozen", "unwrap"]

#: seconds a collective (gradient all-reduce, barrier) waits for the other ranks before the run fails
DEFAULT_DDP_TIMEOUT = 600.0
#: seconds the other ranks wait while rank 0 evaluates and writes files (real-data evaluations take long)
EVALUATION_TIMEOUT = 6 * 3600.0
_T = TypeVar("_T")


class DistributedTimeoutError(RunError):
    """A collective got no answer from the other ranks within the timeout (a rank stopped, hung or died)."""


def _timed_out(error: BaseException) -> bool:
    text = str(error).lower()
    return "timed out" in text or "timeout" in text


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
        timeout: seconds a collective waits for the other ranks (``--ddp-timeout``).
    """

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp: bool = False
    timeout: float = DEFAULT_DDP_TIMEOUT
    _slow_group: Any = field(default=None, repr=False)

    @classmethod
    def start(cls, device: str = "auto", amp: bool = False, timeout: float = DEFAULT_DDP_TIMEOUT) -> Runtime:
        """Pick the device and, under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group.

        The runtime is a context manager: ``with Runtime.start(...) as runtime:`` leaves the process group at the end
        of the block, however it ends, in the code that joined it.

        The process group's collectives time out after ``timeout`` seconds (torch's default is 30 minutes), so a rank
        that stops or hangs ends the run with :class:`DistributedTimeoutError` on the others. The wait while rank 0
        evaluates uses a second (gloo) group with :data:`EVALUATION_TIMEOUT`.

        Args:
            device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
            amp: enable mixed precision.
            timeout: seconds a collective waits for the other ranks (> 0).

        Raises:
            ValueError: unknown device, ``"cuda"`` without a GPU, or a timeout that is not a positive number.
        """
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"--device must be auto, cpu or cuda, got {device!r}")
        if not timeout > 0 or timeout == float("inf"):
            raise ValueError(f"--ddp-timeout must be a positive number of seconds, got {timeout!r}")
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
        slow_group = None
        if world_size > 1:
            if not dist.is_initialized():
                wait = datetime.timedelta(seconds=timeout)
                dist.init_process_group("nccl" if use_cuda else "gloo", timeout=wait)
            slow_group = dist.new_group(backend="gloo", timeout=datetime.timedelta(seconds=EVALUATION_TIMEOUT))
        return cls(device=dev, rank=rank, world_size=world_size, amp=amp, timeout=timeout, _slow_group=slow_group)

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

    def timeout_error(self, error: BaseException) -> DistributedTimeoutError | None:
        """The one-line error for a collective that timed out, or ``None`` when ``error`` is something else."""
        if not self.distributed or not isinstance(error, RuntimeError) or not _timed_out(error):
            return None
        return DistributedTimeoutError(
            f"rank {self.rank}: the other ranks did not answer within --ddp-timeout {self.timeout:g} s (a rank "
            "stopped, hung or died); the latest checkpoint is kept, --resume continues from it"
        )

    def collective(self, fn: Callable[[], _T]) -> _T:
        """``fn()``, with a timeout of the process group turned into :class:`DistributedTimeoutError`."""
        try:
            return fn()
        except RuntimeError as error:
            timeout = self.timeout_error(error)
            if timeout is None:
                raise
            raise timeout from error

    def any_rank(self, flag: bool) -> bool:
        """True when ``flag`` is true on any rank (a collective: every rank must call it)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        self.collective(lambda: dist.all_reduce(value))
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
                    self.collective(lambda t=t: dist.all_reduce(t))
                    t.div_(self.world_size)
        return out

    def barrier(self, slow: bool = False) -> None:
        """Wait for every rank (no-op when not distributed); ``slow``: while rank 0 evaluates (a longer timeout)."""
        if self.distributed:
            group = self._slow_group if slow else None
            self.collective(lambda: dist.barrier(group=group))

    def close(self) -> None:
        """Leave the process group."""
        if dist.is_initialized():
            dist.destroy_process_group()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
