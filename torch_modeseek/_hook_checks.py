"""The checks that keep :class:`~torch_modeseek.ModeSeekingHook` from being silently wrong when it is ported.

- ``latent=`` is checked against the forward's signature when the hook is built (the error lists the parameters), and
  the captured latent must be a floating-point tensor (passing the labels as the latent names ``latent=``);
- the pairing check: the forward's other tensor arguments with the latent's batch size (the conditions) must be equal
  in the S samples of each condition, so a batch that was not doubled is an error, not a term over mismatched pairs.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor

from torch_modeseek.pairing import split_samples

PAIR_CHECKS = ("first", "always", "never")


def describe(signature: inspect.Signature) -> str:
    """The forward's parameters as ``a, b, *args, **kwargs`` for messages."""
    return ", ".join(str(p).split(":")[0].split("=")[0] for p in signature.parameters.values()) or "none"


def check_latent_in_signature(latent: str | int, signature: inspect.Signature, owner: str) -> None:
    """Raise ``ValueError`` when ``latent`` cannot name any argument of a forward with ``signature``."""
    params = list(signature.parameters.values())
    kinds = {p.kind for p in params}
    if isinstance(latent, str):
        if latent in signature.parameters or inspect.Parameter.VAR_KEYWORD in kinds:
            return
        raise ValueError(
            f"latent={latent!r} is not a parameter of {owner}.forward, whose parameters are: {describe(signature)}; "
            "pass latent=<the name (or position) of the latent code argument>"
        )
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if inspect.Parameter.VAR_POSITIONAL in kinds or -len(positional) <= latent < len(positional):
        return
    raise ValueError(
        f"latent={latent} is out of range: {owner}.forward takes {len(positional)} positional parameters "
        f"({describe(signature)}); pass latent=<the name (or position) of the latent code argument>"
    )


def check_latent_tensor(z: Any, latent: str | int, signature: inspect.Signature) -> None:
    """Raise when the captured latent is not a floating-point tensor, naming ``latent=`` and the parameters."""
    if isinstance(z, Tensor) and z.is_floating_point():
        return
    what = f"a tensor of dtype {z.dtype}" if isinstance(z, Tensor) else f"a {type(z).__name__}"
    raise TypeError(
        f"latent={latent!r} selects {what}, not a floating-point latent code; the forward's parameters are "
        f"{describe(signature)}: pass latent=<the name (or position) of the noise argument>"
    )


def named_arguments(
    signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """The forward's arguments by name (positions as ``args[i]`` where the signature does not bind them)."""
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return [(f"args[{i}]", a) for i, a in enumerate(args)] + list(kwargs.items())
    named: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            named += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif kind == inspect.Parameter.VAR_KEYWORD:
            named += list(value.items())
        else:
            named.append((name, value))
    return named


def check_pairs(arguments: list[tuple[str, Any]], z: Tensor, latent_name: str, samples: int, pairing: str) -> None:
    """Raise ``ValueError`` when a condition argument differs between the samples that the hook pairs.

    Every tensor argument other than the latent whose first dimension equals the latent's batch is compared across
    the ``samples`` groups that :func:`~torch_modeseek.pairing.split_samples` makes (exact equality: the doubled
    batch repeats the same tensor).
    """
    rows = z.shape[0] if z.dim() else 0
    if rows == 0 or rows % samples:
        return  # loss() reports a batch that cannot be split
    for name, value in arguments:
        if name == latent_name or not isinstance(value, Tensor) or value is z or value.dim() == 0:
            continue
        if value.shape[0] != rows or value.is_complex():
            continue
        groups = split_samples(value.detach(), samples, pairing, name=name)
        differing = torch.zeros(rows // samples, dtype=torch.bool, device=value.device)
        for other in groups[1:]:
            differing |= (other != groups[0]).reshape(rows // samples, -1).any(dim=1)
        count = int(differing.sum())
        if count:
            layout = "row i with row i + B" if pairing == "halves" else "row 2i with row 2i + 1"
            raise ValueError(
                f"ModeSeekingHook: the forward's argument {name!r} differs between the paired samples in {count} of "
                f"{rows // samples} conditions; the hook pairs {layout} (pairing={pairing!r}), so each pair must "
                "share its condition. Build the batch with paired_inputs(cond, latent_dim) -> ([cond; cond], "
                "[z1; z2]) (double the per-sample targets too), or pass check_pairs='never' if the samples of a "
                "condition legitimately get different values of this argument"
            )
