"""Per-sample distance ops behind the loss, with backend dispatch.

``paired_distance(x1, x2, kind)`` -> (B,) and ``pairwise_distance(x, kind)`` -> (B, S, S) for the built-in kinds
``"l1"``, ``"l2"``, ``"mse"`` and ``"cosine"``, on two backends:

* ``"torch"``: the pure-PyTorch reference (:mod:`~torch_modeseek.ops._reference`), on any device;
* ``"triton"``: fused Triton kernels registered as ``torch.library`` custom ops (:mod:`~torch_modeseek.ops._triton`),
  for CUDA tensors of dtype float16, bfloat16, float32 or float64. They compute the same values and gradients (in
  float32, or float64 for float64 inputs) in one pass over the inputs forward and, for L1, a backward that reads a
  two-bit-per-element mask (sign and tie) instead of the inputs.

``backend="auto"`` (the default) takes Triton when the tensors are on a CUDA device, Triton imports, and the input
holds at least :data:`AUTO_MIN_NUMEL` elements; otherwise the reference. The environment variable
``TORCH_MODESEEK_BACKEND`` (``"auto"``, ``"torch"`` or ``"triton"``), read at each call, replaces ``"auto"``; an
explicit ``backend="torch"`` or ``"triton"`` wins over it. ``"triton"`` never falls back silently: when the kernels
cannot run it raises a RuntimeError that says why (Triton missing or failing to import, tensors not on CUDA, an
unsupported dtype, more than 64 samples for the all-pairs kernels). Empty batches always take the reference; samples
with no element (an empty feature dimension) are refused with a ValueError, since their distance is a mean over nothing.

Triton is imported only when a Triton backend is considered for CUDA tensors, never by ``import torch_modeseek``.
"""

from __future__ import annotations

import os
from types import ModuleType

import torch
from torch import Tensor

from torch_modeseek._checks import BACKENDS, DISTANCES, check_choice, check_op_pair, check_sample_elements
from torch_modeseek.kinds import kernel_id
from torch_modeseek.ops import _reference
from torch_modeseek.ops._limits import MAX_SAMPLES, SUPPORTED_DTYPES

ENV_VAR = "TORCH_MODESEEK_BACKEND"

#: Smallest input (elements of one input tensor) for which ``"auto"`` takes the Triton kernels. Below 2**16 elements
#: (256 KiB of float32) an op moves its bytes in well under a microsecond on any CUDA GPU, so either path costs its
#: launches and host-side dispatch only; the fused op saves a few launches there but pays custom-op dispatch and a
#: JIT compilation per new dtype, and small tensors such as the latents (batch x latent dim) gain nothing measurable.
#: From this size on, the fused op's single pass over the inputs is where the time goes. Override with
#: ``backend="triton"``.
AUTO_MIN_NUMEL = 1 << 16


# Set by the interpreter tests only: lets CPU tensors take the Triton path when TRITON_INTERPRET=1.
_TRITON_ON_CPU = False
# The loaded torch_modeseek.ops._triton module, or why it cannot load; None until first needed.
_triton_state: ModuleType | str | None = None


def _load_triton() -> ModuleType | str:
    """Import the Triton ops once; return the module, or the reason it is unavailable."""
    global _triton_state
    if _triton_state is None:
        try:
            import triton  # noqa: F401

            from torch_modeseek.ops import _triton

            _triton_state = _triton
        except ModuleNotFoundError as exc:
            if exc.name == "triton":
                _triton_state = "Triton is not installed (pip install 'torch-modeseek[triton]')"
            else:
                _triton_state = f"Triton failed to import: {type(exc).__name__}: {exc}"
        except Exception as exc:  # any import-time failure is reported, not hidden
            _triton_state = f"Triton failed to import: {type(exc).__name__}: {exc}"
    return _triton_state


def _unavailable(tensors: tuple[Tensor, ...]) -> str | None:
    """Why the Triton kernels cannot take ``tensors``, or None. Cheap checks first; imports Triton last."""
    for t in tensors:
        if not (t.is_cuda or _TRITON_ON_CPU):
            return f"the tensors are on {t.device.type}, and the Triton kernels run on CUDA devices only"
        if t.dtype not in SUPPORTED_DTYPES:
            return f"the Triton kernels support float16, bfloat16, float32 and float64; got {t.dtype}"
    state = _load_triton()
    return state if isinstance(state, str) else None


def _requested(backend: str) -> str:
    check_choice("backend", backend, BACKENDS)
    if backend != "auto":
        return backend
    env = os.environ.get(ENV_VAR)
    if not env:
        return "auto"
    if env not in BACKENDS:
        raise ValueError(f"environment variable {ENV_VAR} must be one of {', '.join(map(repr, BACKENDS))}; got {env!r}")
    return env


def _choose(backend: str, tensors: tuple[Tensor, ...], samples: int = 0, kind: str | None = None) -> str:
    requested = _requested(backend)
    if requested == "torch" or any(t.numel() == 0 for t in tensors):
        return "torch"
    if kind is not None and kernel_id(kind) is None:  # a kind that runs on the reference only
        if requested == "triton":
            raise RuntimeError(f"backend='triton' cannot run: the distance kind {kind!r} has no Triton kernel")
        return "torch"
    if requested == "triton":
        reason = _unavailable(tensors)
        if reason is None and samples > MAX_SAMPLES:
            reason = f"the all-pairs kernels support S <= {MAX_SAMPLES} samples; got S={samples}"
        if reason is not None:
            raise RuntimeError(f"backend='triton' cannot run: {reason}")
        return "triton"
    if not tensors or tensors[0].numel() < AUTO_MIN_NUMEL or samples > MAX_SAMPLES:
        return "torch"
    return "torch" if _unavailable(tensors) is not None else "triton"


def resolve_backend(backend: str = "auto", *tensors: Tensor) -> str:
    """Return the backend, ``"torch"`` or ``"triton"``, that ``backend`` selects for ``tensors``.

    Args:
        backend: ``"auto"``, ``"torch"`` or ``"triton"``; ``"auto"`` is replaced by the environment variable
            ``TORCH_MODESEEK_BACKEND`` when that is set.
        *tensors: the inputs of the op. Without tensors ``"auto"`` selects ``"torch"``.

    Returns:
        ``"torch"`` or ``"triton"``.

    Raises:
        TypeError: ``backend`` is not a string.
        ValueError: ``backend`` or the environment variable is not one of the names above.
        RuntimeError: ``"triton"`` was asked for and the kernels cannot run; the message says why.

    Example:
        >>> import torch
        >>> resolve_backend("auto", torch.zeros(4, 3))  # CPU tensors: the reference
        'torch'
        >>> resolve_backend("triton", torch.zeros(4, 3))
        Traceback (most recent call last):
        ...
        RuntimeError: backend='triton' cannot run: the tensors are on cpu, and the Triton kernels run on CUDA ...
    """
    return _choose(backend, tensors)


def paired_distance(x1: Tensor, x2: Tensor, kind: str = "l1", *, backend: str = "auto") -> Tensor:
    r"""Per-sample distance between ``x1[i]`` and ``x2[i]``.

    With :math:`D` the number of features of a sample, ``"l1"`` is :math:`\frac1D\sum_k |x_{2k} - x_{1k}|`, ``"mse"``
    :math:`\frac1D\sum_k (x_{2k} - x_{1k})^2`, ``"l2"`` the square root of the MSE (floored at float32's smallest
    normal, so ``x1 == x2`` has a zero gradient) and ``"cosine"`` :math:`1 - \frac{x_1\cdot x_2}{\max(\lVert x_1
    \rVert, 10^{-8})\max(\lVert x_2\rVert, 10^{-8})}`. Gradients are those of these formulas; at an L1 tie
    (:math:`x_{1k} = x_{2k}`) the element's gradient is 0.

    Args:
        x1: (B, ...) floating tensor.
        x2: floating tensor of the same shape as ``x1``, on the same device; a different dtype is promoted with
            ``x1``'s (float32 with float64 computes in float64) on every backend.
        kind: ``"l1"`` (default), ``"l2"``, ``"mse"`` or ``"cosine"``.
        backend: ``"auto"`` (default), ``"torch"`` or ``"triton"``; see :mod:`torch_modeseek.ops`.

    Returns:
        (B,) distances in float32, or float64 for float64 inputs.

    Raises:
        TypeError: an input that is not a floating tensor.
        ValueError: unknown ``kind`` or ``backend``; shapes or devices that differ; an empty feature dimension
            (samples with no element).
        RuntimeError: ``backend="triton"`` and the kernels cannot run.

    Example:
        >>> import torch
        >>> x1 = torch.zeros(2, 3, requires_grad=True)
        >>> paired_distance(x1, torch.ones(2, 3))
        tensor([1., 1.], grad_fn=<_MeanAbsoluteBackward>)
        >>> paired_distance(x1, torch.ones(2, 3)).sum().backward()
    """
    check_choice("kind", kind, DISTANCES)
    check_op_pair(x1, x2)
    check_sample_elements("x1", x1, 1)
    check_sample_elements("x2", x2, 1)
    return paired_distance_prechecked(x1, x2, kind, backend)


def paired_distance_prechecked(x1: Tensor, x2: Tensor, kind: str, backend: str) -> Tensor:
    """:func:`paired_distance` for inputs the caller has already checked (the loss checks all of its inputs once).

    ``x1`` and ``x2``: floating tensors of one shape with elements in every sample, on one device; ``kind`` a
    built-in name. Mixed dtypes are promoted here, as torch promotes them (float32 with float64 gives float64), so
    every backend computes and returns in the same dtype; ``backend`` is resolved here.
    """
    if x1.dtype != x2.dtype:
        dtype = torch.promote_types(x1.dtype, x2.dtype)
        x1, x2 = x1.to(dtype), x2.to(dtype)
    if _choose(backend, (x1, x2), kind=kind) == "triton":
        return _load_triton().paired_distance(x1, x2, kind)  # type: ignore[union-attr]
    return _reference.paired_distance(x1, x2, kind)


def pairwise_distance(x: Tensor, kind: str = "l1", *, backend: str = "auto") -> Tensor:
    """Distances between every two of the S samples of each condition.

    ``out[b, i, j]`` is the :func:`paired_distance` of ``x[i, b]`` and ``x[j, b]``; the diagonal is exactly zero.
    The Triton kernels read ``x`` once forward and once backward whatever S is (S <= 64).

    Args:
        x: (S, B, ...) floating tensor: S samples for each of B conditions.
        kind: as in :func:`paired_distance`.
        backend: as in :func:`paired_distance`; ``"auto"`` keeps S > 64 on the reference.

    Returns:
        (B, S, S) symmetric distance matrices with a zero diagonal, in float32 (float64 for float64 inputs).

    Raises:
        ValueError: unknown ``kind`` or ``backend``; an empty feature dimension (samples with no element).
        RuntimeError: ``backend="triton"`` and the kernels cannot run.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[0.0]], [[1.0]], [[3.0]]], requires_grad=True)  # S=3, B=1, one feature
        >>> d = pairwise_distance(x)
        >>> d
        tensor([[[0., 1., 3.],
                 [1., 0., 2.],
                 [3., 2., 0.]]], grad_fn=<ViewBackward0>)
        >>> d.sum().backward()
    """
    check_choice("kind", kind, DISTANCES)
    check_sample_elements("x", x, 2)
    if _choose(backend, (x,), samples=x.shape[0], kind=kind) == "triton":
        return _load_triton().pairwise_distance(x, kind)  # type: ignore[union-attr]
    return _reference.pairwise_distance(x, kind)


def upper_pair_distance(x: Tensor, kind: str = "l1", *, backend: str = "auto") -> Tensor:
    """Distances of the S(S-1)/2 pairs i < j of the samples of each condition: what the all-pairs loss uses.

    The reference computes the pairs directly; the Triton kernels compute the whole matrix (reading ``x`` once) and
    the triangle is gathered from it on the device.

    Args:
        x: (S, B, ...) floating tensor: S samples for each of B conditions.
        kind: as in :func:`paired_distance`.
        backend: as in :func:`pairwise_distance`.

    Returns:
        (B, S(S-1)/2) distances, pair columns in the order of :func:`torch_modeseek.pairing.upper_pairs`.

    Raises:
        ValueError: as in :func:`pairwise_distance`.
        RuntimeError: ``backend="triton"`` and the kernels cannot run.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[0.0]], [[1.0]], [[3.0]]], requires_grad=True)  # S=3, B=1
        >>> d = upper_pair_distance(x)  # pairs (0, 1), (0, 2), (1, 2)
        >>> d.tolist()
        [[1.0, 3.0, 2.0]]
        >>> d.sum().backward()
    """
    check_choice("kind", kind, DISTANCES)
    check_sample_elements("x", x, 2)
    if _choose(backend, (x,), samples=x.shape[0], kind=kind) == "triton":
        full = _load_triton().pairwise_distance(x, kind)  # type: ignore[union-attr]
        rows, cols = torch.triu_indices(x.shape[0], x.shape[0], 1, device=full.device)  # on the device: no copy
        return full[:, rows, cols]
    return _reference.upper_pair_distance(x, kind)


__all__ = [
    "AUTO_MIN_NUMEL",
    "ENV_VAR",
    "paired_distance",
    "pairwise_distance",
    "resolve_backend",
    "upper_pair_distance",
]
