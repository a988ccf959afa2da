"""Load the official MSGAN checkpoints (HelenMao/MSGAN at e386c25) into the trainers' networks.

Each trainer's ``build_networks`` returns its networks with the official parameter shapes; its ``OFFICIAL_KEYS``
says, per network, where the official code keeps it (``Official.entry``: the key of the checkpoint dict, or the
file name for the codes that save one file per network) and how our state-dict keys are spelled there
(``Official.rules``: regular-expression substitutions applied in order to each of our keys; none where the names
are the same). DCGAN and StackGAN++ use the official names; Pix2Pix and DRIT name their modules their own way. The
loader is strict both ways: every entry of the official state dict must land somewhere and every one of ours must
be filled, with the same number of elements (official ``(C, 1, 1)`` LayerNorm scales load into ``(C,)``).

    import torch
    from examples.drit_yosemite import OFFICIAL_KEYS, build_networks
    from examples.common.official_checkpoints import load_official

    nets = build_networks(["--dataset", "yosemite"])
    load_official(nets, torch.load("yosemite/00599.pth", weights_only=True), OFFICIAL_KEYS)

Pix2Pix and StackGAN++ save one file per network: pass ``{"G": torch.load("latest_net_G.pth"), ...}`` keyed by
the entries of ``OFFICIAL_KEYS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Official", "load_official", "load_official_state_dict", "official_key"]

_NORM_STATISTICS = (".running_mean", ".running_var", ".num_batches_tracked")

#: ``(pattern, replacement)``: a ``re.sub`` on one of our keys; the replacement may be a function of the match.
Rule = tuple[str, str | Callable[[re.Match[str]], str]]


@dataclass(frozen=True)
class Official:
    """Where the official code keeps one of our networks and how it names its keys.

    Attributes:
        entry: the official checkpoint's key (or file name) for this network.
        rules: substitutions turning each of our state-dict keys into the official key, applied in order.
    """

    entry: str
    rules: Sequence[Rule] = field(default_factory=tuple)


def official_key(key: str, rules: Sequence[Rule]) -> str:
    r"""The official spelling of our state-dict ``key``: every rule applied in order.

    Example:
        >>> official_key("net.sub.sub.down.1.weight", [(r"^net\.", "model."), (r"\bsub\.", "submodule.")])
        'model.submodule.submodule.down.1.weight'
    """
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def load_official_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], rules: Sequence[Rule]) -> None:
    """Copy an official ``state_dict`` into ``module``, strictly, through the key ``rules``.

    DataParallel's ``module.`` prefix is removed first. BatchNorm's ``num_batches_tracked``, which checkpoints of
    PyTorch 0.4.0 lack, keeps its value when absent; running statistics that a checkpoint holds for a layer without
    them here (InstanceNorm in checkpoints of PyTorch before 0.4, which pix2pix's own loader drops the same way) are
    ignored.

    Raises:
        KeyError: an official entry that none of ours maps to, or one of ours with no official entry.
        ValueError: an entry whose number of elements differs.
    """
    official = {k.removeprefix("module."): v for k, v in state_dict.items()}
    ours = module.state_dict()
    loaded: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, mine in ours.items():
        name = official_key(key, rules)
        if name not in official:
            if key.endswith("num_batches_tracked"):
                loaded[key] = mine
                continue
            raise KeyError(f"the official state dict has no {name!r} (for our {key!r})")
        value = official[name]
        if value.numel() != mine.numel():
            raise ValueError(f"{name!r}: official shape {tuple(value.shape)}, ours {tuple(mine.shape)} ({key!r})")
        loaded[key] = value.reshape(mine.shape)
        used.add(name)
    unused = sorted(key for key in set(official) - used if not key.endswith(_NORM_STATISTICS))
    if unused:
        raise KeyError(f"{len(unused)} official entries have no place in {type(module).__name__}: {unused[:4]}")
    module.load_state_dict(loaded, strict=True)


def load_official(
    networks: Mapping[str, nn.Module],
    checkpoint: Mapping[str, Mapping[str, torch.Tensor]],
    keys: Mapping[str, Official],
) -> None:
    """Load every network of ``networks`` (a trainer's ``build_networks``) from an official ``checkpoint``.

    Args:
        networks: our networks by name.
        checkpoint: the official state dicts by entry (an official checkpoint dict, which may hold optimizer
            states and counters besides, or ``{entry: torch.load(file)}``).
        keys: the trainer's ``OFFICIAL_KEYS``.

    Raises:
        KeyError: a network whose entry the checkpoint lacks, or a key mismatch (see
            :func:`load_official_state_dict`).
    """
    for name, net in networks.items():
        where = keys[name]
        if where.entry not in checkpoint:
            raise KeyError(f"the checkpoint has no {where.entry!r} entry for {name!r}; it has {sorted(checkpoint)}")
        load_official_state_dict(net, checkpoint[where.entry], where.rules)
