"""The data's ratio ceiling in the trainers: ``--ms-ceiling`` for the overshoot log, ``--ms-tau data`` for the term.

Each trainer hands :func:`resolve_ceiling` its real samples grouped by condition when the data has several per
condition (the built-in datasets' known modes, the classes of CIFAR-10 and CUB), or ``None`` (one target per input, as
in real pix2pix and unpaired data). The ceiling is :func:`torch_modeseek.diversity_ceiling` with the term's output
distance and an L1 latent distance (the loss's default); the training log then shows ``overshoot``, the share of pairs
whose ratio is past it, beside ``collapsed``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from torch_modeseek import diversity_ceiling

__all__ = ["DATA", "groups_by_label", "resolve_ceiling"]

DATA = "data"  # the value of --ms-ceiling / --ms-tau that asks for the estimate from the real data


def resolve_ceiling(
    parser: argparse.ArgumentParser, args: argparse.Namespace, groups: Callable[[], Sequence[Tensor] | None]
) -> None:
    """Turn ``args.ms_ceiling`` and ``args.ms_tau`` into numbers (or ``None``), in place.

    ``--ms-ceiling data`` (the default) estimates the ceiling when ``groups()`` returns per-condition samples and
    leaves it ``None`` otherwise; ``--ms-tau data`` uses that estimate as the clamped form's ``tau`` and is a usage
    error (exit 2) when the data has no per-condition groups.

    Args:
        parser: the trainer's parser (for the usage error).
        args: parsed options with ``ms_ceiling``, ``ms_tau``, ``ms_distance``.
        groups: returns (S_c, ...) real samples per condition, or ``None`` when the data has one per condition.
    """
    wanted = DATA in (args.ms_ceiling, args.ms_tau)
    estimate = None
    if wanted:
        found = groups()
        if found is not None:
            estimate = diversity_ceiling(list(found), distance=args.ms_distance)
            print(f"the data's ratio ceiling ({args.ms_distance}): {estimate:.4g}", file=sys.stderr)
            if not estimate > 0:  # the samples of each condition coincide: no spread to measure against
                estimate = None
    if args.ms_tau == DATA:
        if estimate is None:
            parser.error(
                f"--ms-tau {DATA}: {args.dataset} has one target per input (or identical ones), so the data gives "
                "no ceiling; pass --ms-tau as a number"
            )
        args.ms_tau = estimate
    if args.ms_ceiling == DATA:
        args.ms_ceiling = estimate
    elif args.ms_ceiling == "none":
        args.ms_ceiling = None


def groups_by_label(
    count: int, label_of: Callable[[int], int], image_of: Callable[[int], Tensor], per_group: int = 32
) -> list[Tensor]:
    """Up to ``per_group`` images of each label among items ``0 .. count-1``, as one (S_c, ...) tensor per label.

    Example:
        >>> import torch
        >>> groups = groups_by_label(6, lambda i: i % 2, lambda i: torch.full((2,), float(i)), per_group=2)
        >>> [g[:, 0].tolist() for g in groups]
        [[0.0, 2.0], [1.0, 3.0]]
    """
    found: dict[int, list[Tensor]] = {}
    for i in range(count):
        members = found.setdefault(label_of(i), [])
        if len(members) < per_group:
            members.append(image_of(i))
    return [torch.stack(images) for images in found.values()]
