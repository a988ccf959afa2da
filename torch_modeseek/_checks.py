"""Input validation for the mode-seeking loss, with typed errors whose messages name the argument and the values.

Every check here reads only host-side metadata (types, shapes, dtypes, devices), so validating never synchronises
with an accelerator and is traced away by ``torch.compile``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from torch_modeseek.kinds import NAMES

DISTANCES = NAMES  # the registry of torch_modeseek.kinds
FORMS = ("reciprocal", "negative", "clamped", "inverse")
REDUCTIONS = ("batch", "sample", "none")
BACKENDS = ("auto", "torch", "triton")


def _quoted(options: Sequence[str]) -> str:
    return ", ".join(repr(o) for o in options)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def check_choice(name: str, value: Any, options: Sequence[str]) -> None:
    """Refuse ``value`` unless it is one of the strings in ``options``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_quoted(options)}; got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name} must be one of {_quoted(options)}; got {value!r}")


def check_distance(name: str, value: Any) -> None:
    """Refuse a distance that is neither a known name nor a callable."""
    if callable(value):
        return
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {_quoted(DISTANCES)} or a callable (a, b) -> per-sample distances (B,); "
            f"got {type(value).__name__}"
        )
    if value not in DISTANCES:
        raise ValueError(
            f"{name} must be one of {_quoted(DISTANCES)} or a callable (a, b) -> per-sample distances (B,); "
            f"got {value!r}"
        )


def _check_positive_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.SymInt, torch.SymFloat)):
        raise TypeError(f"{name} must be a positive finite number; got {type(value).__name__}")
    # comparisons, not math.isfinite: they also work on the symbolic floats of torch.compile(dynamic=True) (NaN fails)
    if not 0 < value < math.inf:
        shown = "a value outside (0, inf) while compiling" if torch.compiler.is_compiling() else repr(value)
        raise ValueError(f"{name} must be a positive finite number; got {shown}")


class LossOptions(NamedTuple):
    """The keyword options of the mode-seeking loss, validated once by :func:`make_options`.

    The one place that defines them and their defaults: the functional API and the module take their defaults from
    :data:`DEFAULTS`.
    """

    distance: str | Callable[[Tensor, Tensor], Tensor] = "l1"
    latent_distance: str | Callable[[Tensor, Tensor], Tensor] = "l1"
    eps: float = 1e-5
    form: str = "reciprocal"
    reduction: str = "batch"
    tau: float | None = None
    detach_second: bool = False
    backend: str = "auto"


#: The default options: MSGAN's official term.
DEFAULTS = LossOptions()


def make_options(**options: Any) -> LossOptions:
    """Validate the loss options (see :func:`check_options`) and return them as a :class:`LossOptions`."""
    made = LossOptions(**options)
    check_options(**made._asdict())
    return made


def check_options(
    *,
    distance: str | Callable[[Tensor, Tensor], Tensor],
    latent_distance: str | Callable[[Tensor, Tensor], Tensor],
    eps: float,
    form: str,
    reduction: str,
    tau: float | None,
    detach_second: bool,
    backend: str,
) -> None:
    """Validate the keyword options shared by the functional API and the module."""
    check_distance("distance", distance)
    check_distance("latent_distance", latent_distance)
    _check_positive_number("eps", eps)
    check_choice("form", form, FORMS)
    check_choice("reduction", reduction, REDUCTIONS)
    if form == "clamped":
        if tau is None:
            raise ValueError("form='clamped' needs tau, the ceiling of the ratio: -min(ratio, tau); got tau=None")
        _check_positive_number("tau", tau)
    elif tau is not None:
        raise ValueError(f"tau is only used by form='clamped'; got tau={tau!r} with form={form!r}")
    if not isinstance(detach_second, bool):
        raise TypeError(f"detach_second must be a bool; got {type(detach_second).__name__}")
    check_choice("backend", backend, BACKENDS)


def _check_tensor(name: str, t: Any, min_dim: int) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor; got dtype {t.dtype}")
    if t.dim() < min_dim:
        what = "a batch dimension" if min_dim == 1 else "a sample and a batch dimension (S, B, ...)"
        raise ValueError(f"{name} must have {what}; got a {t.dim()}-d tensor of shape {_shape(t)}")


def check_op_pair(x1: Any, x2: Any) -> None:
    """Check the two inputs of a paired distance op.

    Both must be floating tensors of the same shape on the same device (a kernel reads both with the shape of the
    first). Mixed dtypes are allowed: the op promotes them (``ops.paired_distance_prechecked``).

    Raises:
        TypeError: a non-tensor or non-floating input.
        ValueError: different shapes or devices.
    """
    _check_tensor("x1", x1, 1)
    _check_tensor("x2", x2, 1)
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape; got x1 {_shape(x1)} and x2 {_shape(x2)}")
    if x1.device != x2.device:
        raise ValueError(f"x1 and x2 must be on the same device; got {x1.device} and {x2.device}")


def check_sample_elements(name: str, t: Tensor, lead: int, what: str = "feature") -> None:
    """Refuse a tensor whose samples hold no element: a zero-size dimension after its ``lead`` leading dimensions.

    A distance between empty samples is a mean over nothing (NaN), so an empty feature or latent dimension is an
    error, named with the input and its shape. Only the dimensions after the batch (and sample) ones are looked at: the
    rules on empty batches are the callers'.

    Args:
        name: the input's name in the message (``"x1"``, ``"z"``, ``"the captured latent"``).
        t: the tensor.
        lead: how many leading dimensions index samples: 1 for (B, ...), 2 for (S, B, ...).
        what: ``"feature"`` or ``"latent"``, the word the message uses for the empty dimension.

    Raises:
        ValueError: a dimension after the first ``lead`` has size 0.
    """
    empty = [k for k in range(lead, t.dim()) if t.shape[k] == 0]
    if empty:
        raise ValueError(
            f"{name} has an empty {what} dimension: shape {_shape(t)} (dimension {empty[0]} has size 0), so its "
            "samples hold no element to measure a distance on"
        )


def as_tensor_list(name1: str, a: Any, name2: str, b: Any) -> tuple[list[Tensor], list[Tensor]]:
    """Return the outputs ``a`` and ``b`` as equal-length lists of tensors (one entry per feature layer)."""
    a_is_seq = isinstance(a, (list, tuple))
    b_is_seq = isinstance(b, (list, tuple))
    if a_is_seq != b_is_seq:
        raise TypeError(
            f"{name1} and {name2} must both be tensors or both be sequences of tensors; "
            f"got {type(a).__name__} and {type(b).__name__}"
        )
    if not a_is_seq:
        return [a], [b]
    if len(a) != len(b):
        raise ValueError(
            f"{name1} and {name2} must be sequences of the same length (one tensor per feature layer); "
            f"got {len(a)} and {len(b)}"
        )
    if len(a) == 0:
        raise ValueError(f"{name1} and {name2} must hold at least one tensor; got empty sequences")
    return list(a), list(b)


def _check_same_device(tensors: dict[str, Tensor]) -> None:
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listing = ", ".join(f"{name} on {device}" for name, device in devices.items())
        raise ValueError(f"all inputs must be on the same device; got {listing}")


def check_paired(z1: Any, z2: Any, x1: Any, x2: Any) -> tuple[list[Tensor], list[Tensor]]:
    """Validate the inputs of the paired loss; return ``x1``/``x2`` as lists of per-layer tensors."""
    _check_tensor("z1", z1, 1)
    _check_tensor("z2", z2, 1)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape; got z1: {_shape(z1)} and z2: {_shape(z2)}")
    batch = z1.shape[0]
    if batch == 0:
        raise ValueError(f"the batch is empty: z1 has shape {_shape(z1)}")
    check_sample_elements("z1", z1, 1, "latent")
    x1s, x2s = as_tensor_list("x1", x1, "x2", x2)
    named: dict[str, Tensor] = {"z1": z1, "z2": z2}
    for k, (a, b) in enumerate(zip(x1s, x2s, strict=False)):
        n1, n2 = ("x1", "x2") if len(x1s) == 1 and not isinstance(x1, (list, tuple)) else (f"x1[{k}]", f"x2[{k}]")
        _check_tensor(n1, a, 1)
        _check_tensor(n2, b, 1)
        if a.shape != b.shape:
            raise ValueError(f"{n1} and {n2} must have the same shape; got {n1}: {_shape(a)} and {n2}: {_shape(b)}")
        if a.shape[0] != batch:
            raise ValueError(
                f"z and x must have the same batch size; got z1: {_shape(z1)} (batch {batch}) "
                f"and {n1}: {_shape(a)} (batch {a.shape[0]})"
            )
        check_sample_elements(n1, a, 1)
        named[n1], named[n2] = a, b
    _check_same_device(named)
    return x1s, x2s


def check_all_pairs(z: Any, x: Any) -> list[Tensor]:
    """Validate the inputs of the all-pairs loss (``z``: (S, B, ...)); return ``x`` as a list of per-layer tensors."""
    _check_tensor("z", z, 2)
    samples, batch = z.shape[0], z.shape[1]
    if samples < 2:
        raise ValueError(
            f"the all-pairs loss needs S >= 2 samples per condition; got z of shape {_shape(z)} (S={samples})"
        )
    if batch == 0:
        raise ValueError(f"the batch is empty: z has shape {_shape(z)}")
    check_sample_elements("z", z, 2, "latent")
    is_seq = isinstance(x, (list, tuple))
    xs = list(x) if is_seq else [x]
    if is_seq and len(xs) == 0:
        raise ValueError("x must hold at least one tensor; got an empty sequence")
    named: dict[str, Tensor] = {"z": z}
    for k, t in enumerate(xs):
        name = f"x[{k}]" if is_seq else "x"
        _check_tensor(name, t, 2)
        if tuple(t.shape[:2]) != (samples, batch):
            raise ValueError(
                f"z and {name} must share their leading (S, B) dimensions; got z: {_shape(z)} and {name}: {_shape(t)}"
            )
        check_sample_elements(name, t, 2)
        named[name] = t
    _check_same_device(named)
    return xs


def check_distance_output(name: str, fn: Callable[..., Any], out: Any, batch: int, shape: tuple[int, ...]) -> None:
    """Refuse a user distance whose result is not a floating (B,) tensor."""
    label = getattr(fn, "__name__", type(fn).__name__)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{name} callable {label} must return a torch.Tensor of shape ({batch},); got {type(out).__name__}"
        )
    if not out.is_floating_point():
        raise TypeError(f"{name} callable {label} must return a floating-point tensor; got dtype {out.dtype}")
    if tuple(out.shape) != (batch,):
        raise ValueError(
            f"{name} callable {label} must return per-sample distances of shape ({batch},) "
            f"for inputs of shape {shape}; got {_shape(out)}"
        )


def compute_dtype(*tensors: Tensor) -> torch.dtype:
    """Return float32 or the widest floating dtype among ``tensors``, whichever is wider."""
    dtype = torch.float32
    for t in tensors:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype
