"""``ModeSeekingLoss``: the module form of :func:`torch_modeseek.functional.mode_seeking_loss`."""

from __future__ import annotations

from torch import Tensor, nn

from torch_modeseek._checks import LossOptions, make_options
from torch_modeseek.distances import Distance, Features
from torch_modeseek.functional import all_pairs_terms, paired_terms


class ModeSeekingLoss(nn.Module):
    r"""Mode-seeking regularizer of MSGAN; minimize it as part of the generator loss.

    ``ModeSeekingLoss()(z1, z2, x1, x2)`` is MSGAN's official term
    ``1 / (mean|x2 - x1| / mean|z2 - z1| + 1e-5)``; every keyword option selects a variant of the later literature and
    is documented in :func:`torch_modeseek.functional.mode_seeking_loss`. The options are checked when the module is
    built; the module has no parameters and no buffers.

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

    def __init__(
        self,
        *,
        distance: Distance = "l1",
        latent_distance: Distance = "l1",
        eps: float = 1e-5,
        form: str = "reciprocal",
        reduction: str = "batch",
        tau: float | None = None,
        detach_second: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self._options = make_options(
            distance=distance,
            latent_distance=latent_distance,
            eps=eps,
            form=form,
            reduction=reduction,
            tau=tau,
            detach_second=detach_second,
            backend=backend,
        )

    @property
    def options(self) -> LossOptions:
        """The validated options (a named tuple; ``options._asdict()`` gives the functional API's keywords)."""
        return self._options

    def __getattr__(self, name: str) -> object:
        """Read an option as an attribute: ``loss.eps``, ``loss.form``, ..."""
        options = self.__dict__.get("_options")
        if options is not None and name in LossOptions._fields:
            return getattr(options, name)
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: object) -> None:
        """Setting an option (``loss.eps = 1e-4``) validates it and replaces the options as a whole."""
        if name in LossOptions._fields and "_options" in self.__dict__:
            self.__dict__["_options"] = make_options(**{**self._options._asdict(), name: value})
            return
        super().__setattr__(name, value)

    def forward(self, z1: Tensor, z2: Tensor, x1: Features, x2: Features) -> Tensor:
        """Mode-seeking loss of the pairs ``(z1, x1)``, ``(z2, x2)`` that share their conditions."""
        return paired_terms(z1, z2, x1, x2, self._options).loss

    def all_pairs(self, z: Tensor, x: Features) -> Tensor:
        """Loss over every pair of the S samples per condition: ``z``, ``x`` of shape (S, B, ...).

        See :func:`torch_modeseek.functional.mode_seeking_loss_all_pairs`.
        """
        return all_pairs_terms(z, x, self._options).loss

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
