"""``ModeSeekingLoss``: the module form of :func:`torch_modeseek.functional.mode_seeking_loss`."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from torch_modeseek._checks import DEFAULTS, LossOptions, make_options
from torch_modeseek.distances import Distance, Features
from torch_modeseek.functional import Terms, all_pairs_terms, paired_terms


class _Option:
    """A loss option as a plain attribute of the module: reads from, and writes validated into, its options."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, module: ModeSeekingLoss | None, owner: type) -> Any:
        if module is None:
            return self
        return getattr(module.options, self.name)

    def __set__(self, module: ModeSeekingLoss, value: Any) -> None:
        module.options = make_options(**{**module.options._asdict(), self.name: value})


class ModeSeekingLoss(nn.Module):
    r"""Mode-seeking regularizer of MSGAN; minimize it as part of the generator loss.

    ``ModeSeekingLoss()(z1, z2, x1, x2)`` is MSGAN's official term
    ``1 / (mean|x2 - x1| / mean|z2 - z1| + 1e-5)``; every keyword option selects a variant of the later literature and
    is documented in :func:`torch_modeseek.functional.mode_seeking_loss`. The options are checked when the module is
    built; the module has no parameters and no buffers. Each option reads and writes as an attribute (``loss.eps``,
    ``loss.eps = 1e-4``); a write is checked like a keyword, and :attr:`options` holds them all.

    Args:
        distance: output distance: ``"l1"`` (default), ``"l2"``, ``"mse"``, ``"cosine"`` or a callable
            ``(a, b) -> (B,)``.
        latent_distance: latent distance, same choices; default ``"l1"``.
        eps: epsilon of the form and floor of the latent distance; default ``1e-5``.
        form: ``"reciprocal"`` (default), ``"negative"``, ``"clamped"`` or ``"inverse"``.
        reduction: ``"batch"`` (default), ``"sample"`` or ``"none"``.
        tau: ceiling of the ratio for ``form="clamped"``.
        detach_second: stop the gradient through the second sample; default ``False``.
        backend: ``"auto"`` (default), ``"torch"`` or ``"triton"``; see :mod:`torch_modeseek.ops`.

    Shape:
        - z1, z2: (B, ...).
        - x1, x2: (B, ...), or equal-length sequences of (B, ...) tensors.
        - Output: scalar, or (B,) with ``reduction="none"``.

    Example:
        >>> import torch
        >>> ms = ModeSeekingLoss()
        >>> ms
        ModeSeekingLoss(distance='l1', latent_distance='l1', eps=1e-05, form='reciprocal', reduction='batch')
        >>> z = torch.randn(8, 16)
        >>> x = torch.randn(8, 3, 32, 32, requires_grad=True)  # a generator's 2B output
        >>> loss = ms(*z.chunk(2), *x.chunk(2))
        >>> loss.backward()
    """

    # The options, each readable and writable as an attribute (a write is validated like the keyword).
    distance = _Option()
    latent_distance = _Option()
    eps = _Option()
    form = _Option()
    reduction = _Option()
    tau = _Option()
    detach_second = _Option()
    backend = _Option()

    def __init__(
        self,
        *,
        distance: Distance = DEFAULTS.distance,
        latent_distance: Distance = DEFAULTS.latent_distance,
        eps: float = DEFAULTS.eps,
        form: str = DEFAULTS.form,
        reduction: str = DEFAULTS.reduction,
        tau: float | None = DEFAULTS.tau,
        detach_second: bool = DEFAULTS.detach_second,
        backend: str = DEFAULTS.backend,
    ) -> None:
        super().__init__()
        #: The validated options (a named tuple; ``options._asdict()`` gives the functional API's keywords).
        self.options: LossOptions = make_options(
            distance=distance,
            latent_distance=latent_distance,
            eps=eps,
            form=form,
            reduction=reduction,
            tau=tau,
            detach_second=detach_second,
            backend=backend,
        )
        #: Detached ratio of the last call (the one its reduction uses), for logging; None before the first.
        self.last_ratio: Tensor | None = None
        #: Detached per-pair ratios of the last call, output over latent distance; None before the first.
        self.last_ratios: Tensor | None = None

    def forward(self, z1: Tensor, z2: Tensor, x1: Features, x2: Features) -> Tensor:
        """Mode-seeking loss of the pairs ``(z1, x1)``, ``(z2, x2)`` that share their conditions."""
        return self._remember(paired_terms(z1, z2, x1, x2, self.options))

    def all_pairs(self, z: Tensor, x: Features) -> Tensor:
        """Loss over every pair of the S samples per condition: ``z``, ``x`` of shape (S, B, ...).

        See :func:`torch_modeseek.functional.mode_seeking_loss_all_pairs`.
        """
        return self._remember(all_pairs_terms(z, x, self.options))

    def _remember(self, terms: Terms) -> Tensor:
        self.last_ratio = terms.ratio.detach()
        self.last_ratios = terms.pair_ratios.detach()
        return terms.loss

    def extra_repr(self) -> str:
        """Show the options; the optional ones only when they differ from their defaults."""

        def show(value: object) -> str:
            return getattr(value, "__name__", None) or repr(value) if callable(value) else repr(value)

        parts = [
            f"distance={show(self.distance)}",
            f"latent_distance={show(self.latent_distance)}",
            f"eps={self.eps!r}",
            f"form={self.form!r}",
            f"reduction={self.reduction!r}",
        ]
        if self.tau is not None:
            parts.append(f"tau={self.tau!r}")
        if self.detach_second:
            parts.append("detach_second=True")
        if self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)


__all__ = ["ModeSeekingLoss"]
