r"""The mode-seeking regularizer of MSGAN (Mao et al., CVPR 2019) as functions.

For two latents :math:`z_1, z_2` under the same condition and the generator's outputs :math:`x_1, x_2`, MSGAN maximizes
the ratio of output distance to latent distance. Its official code minimizes, with every distance an L1 mean over all
elements of the half-batch tensors,

.. math::
    \mathcal{L}_{ms} = \frac{1}{\dfrac{\operatorname{mean}|x_2 - x_1|}{\operatorname{mean}|z_2 - z_1|} + \epsilon},
    \qquad \epsilon = 10^{-5}.

That is the default of :func:`mode_seeking_loss`. The options cover the variants of the later literature:

* ``reduction``: ``"batch"`` is the ratio of batch means :math:`r = \bar d_x / \bar d_z` (MSGAN, DRIT++);
  ``"sample"`` the mean over pairs of the per-pair losses with :math:`r_i = d_x^{(i)} / d_z^{(i)}` (DSGAN); ``"none"``
  the per-pair losses.
* ``form``: ``"reciprocal"`` :math:`1/(r+\epsilon)` (MSGAN); ``"negative"`` :math:`-r` (DSGAN code); ``"clamped"``
  :math:`-\min(r, \tau)` (DSGAN paper); ``"inverse"`` :math:`d_z/(d_x+\epsilon)` (DMIT).
* ``distance`` / ``latent_distance``: see :mod:`torch_modeseek.distances`.
* ``detach_second``: stop the gradient through the second sample (DSGAN, StarGAN v2).

The latent distance in a denominator is floored at :math:`\epsilon` (``max(d_z, eps)``), so ``z1 == z2`` gives a
finite loss and finite gradients. Gaussian latents never reach the floor
(:math:`E|z_2 - z_1| = 2/\sqrt{\pi} \approx 1.128`), so the default equals the official formula. All arithmetic runs
in float32, or float64 for float64 inputs, whatever the input dtype: identical float16 outputs give
:math:`1/\epsilon = 10^5`, which float16 cannot hold. Nothing here reads a value back to the host.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from torch_modeseek._checks import DEFAULTS, LossOptions, check_all_pairs, check_paired, make_options
from torch_modeseek.distances import (
    Distance,
    Features,
    sample_distance,
    sample_distance_prechecked,
    upper_pair_distance,
)
from torch_modeseek.pairing import upper_pairs


def _apply_form(dx: Tensor, dz: Tensor, *, eps: float, form: str, tau: float | None) -> tuple[Tensor, Tensor]:
    """Loss and ratio from output and latent distances of equal shape (scalars for "batch", per pair otherwise)."""
    ratio = dx / dz.clamp_min(eps)
    if form == "reciprocal":
        loss = (ratio + eps).reciprocal()  # what 1.0 / t computes, in one op instead of two
    elif form == "negative":
        loss = -ratio
    elif form == "clamped":
        loss = -ratio.clamp_max(tau)  # type: ignore[arg-type]  # tau is checked for "clamped"
    else:  # "inverse"
        loss = dz / (dx + eps)
    return loss, ratio


class Terms(NamedTuple):
    r"""What one evaluation of the term yields: the loss and, for logging, the ratios (none of them detached).

    Attributes:
        loss: the loss, scalar or per pair for ``reduction="none"``.
        ratio: the ratio the reduction uses: the ratio of the batch means for ``"batch"``, the mean per-pair ratio
            for ``"sample"``, the per-pair ratios for ``"none"``.
        pair_ratios: the per-pair ratios :math:`d_x^{(i)} / \max(d_z^{(i)}, \epsilon)` whatever the reduction,
            of the shape of the per-pair distances ((B,), or (B, P) for all pairs).
    """

    loss: Tensor
    ratio: Tensor
    pair_ratios: Tensor


def reduce_terms(dx: Tensor, dz: Tensor, *, eps: float, form: str, reduction: str, tau: float | None) -> Terms:
    """Turn per-pair output and latent distances into the loss and the ratios (none of them detached).

    Args:
        dx: per-pair output distances, (B,) or (B, P).
        dz: per-pair latent distances, same shape as ``dx``.
        eps: the epsilon of the form, also the floor of ``dz`` in denominators.
        form: ``"reciprocal"``, ``"negative"``, ``"clamped"`` or ``"inverse"``.
        reduction: ``"batch"``, ``"sample"`` or ``"none"``.
        tau: ceiling of the ratio for ``"clamped"``.

    Returns:
        :class:`Terms`: the loss and the ratio are scalars for ``"batch"`` and ``"sample"`` (the ratio then is the
        mean per-pair ratio), per-pair tensors of the shape of ``dx`` for ``"none"``; the per-pair ratios always.
    """
    loss, ratio = _reduce(dx, dz, eps=eps, form=form, reduction=reduction, tau=tau)
    if reduction == "batch":
        return Terms(loss, ratio, dx / dz.clamp_min(eps))
    return Terms(loss, ratio if reduction == "none" else ratio.mean(), ratio)


def _reduce(
    dx: Tensor, dz: Tensor, *, eps: float, form: str, reduction: str, tau: float | None
) -> tuple[Tensor, Tensor]:
    """(loss, ratio) of :func:`reduce_terms`, the ratio per pair for ``"sample"``; no logging-only ops."""
    if reduction == "batch":
        return _apply_form(dx.mean(), dz.mean(), eps=eps, form=form, tau=tau)
    loss, ratio = _apply_form(dx, dz, eps=eps, form=form, tau=tau)
    return (loss.mean() if reduction == "sample" else loss), ratio


def _paired_distances(
    z1: Tensor, z2: Tensor, x1: Features, x2: Features, options: LossOptions
) -> tuple[Tensor, Tensor]:
    x1s, x2s = check_paired(z1, z2, x1, x2)
    if options.detach_second:
        x2s = [t.detach() for t in x2s]
    dx = sample_distance_prechecked(x1s, x2s, options.distance, backend=options.backend, name="distance")
    dz = sample_distance_prechecked(
        [z1], [z2], options.latent_distance, backend=options.backend, name="latent_distance"
    )
    return dx, dz


def paired_loss(z1: Tensor, z2: Tensor, x1: Features, x2: Features, options: LossOptions) -> Tensor:
    """Check the inputs, then return the loss of :func:`mode_seeking_loss` alone (no ratios for logging)."""
    dx, dz = _paired_distances(z1, z2, x1, x2, options)
    return _reduce(dx, dz, eps=options.eps, form=options.form, reduction=options.reduction, tau=options.tau)[0]


def paired_terms(z1: Tensor, z2: Tensor, x1: Features, x2: Features, options: LossOptions) -> Terms:
    """Check the inputs, then return the :class:`Terms` of :func:`mode_seeking_loss` (the ratios are for logging)."""
    dx, dz = _paired_distances(z1, z2, x1, x2, options)
    return reduce_terms(dx, dz, eps=options.eps, form=options.form, reduction=options.reduction, tau=options.tau)


def mode_seeking_loss(
    z1: Tensor,
    z2: Tensor,
    x1: Features,
    x2: Features,
    *,
    distance: Distance = DEFAULTS.distance,
    latent_distance: Distance = DEFAULTS.latent_distance,
    eps: float = DEFAULTS.eps,
    form: str = DEFAULTS.form,
    reduction: str = DEFAULTS.reduction,
    tau: float | None = DEFAULTS.tau,
    detach_second: bool = DEFAULTS.detach_second,
    backend: str = DEFAULTS.backend,
) -> Tensor:
    r"""Mode-seeking loss for pairs of samples that share a condition; minimize it (add it to the generator loss).

    With per-pair distances :math:`d_x^{(i)} = d(x_1^{(i)}, x_2^{(i)})` and
    :math:`d_z^{(i)} = d_z(z_1^{(i)}, z_2^{(i)})`,
    ``reduction="batch"`` uses :math:`r = \operatorname{mean}_i d_x^{(i)} / \max(\operatorname{mean}_i d_z^{(i)},
    \epsilon)` and returns ``form(r)``; ``"sample"`` returns :math:`\operatorname{mean}_i \operatorname{form}(r_i)` with
    :math:`r_i = d_x^{(i)} / \max(d_z^{(i)}, \epsilon)`; ``"none"`` returns the (B,) per-pair values. The default is
    MSGAN's official term ``1 / (mean|x2 - x1| / mean|z2 - z1| + 1e-5)``; see :mod:`torch_modeseek.functional`.

    Args:
        z1: (B, ...) first latents.
        z2: (B, ...) second latents, same shape as ``z1``.
        x1: (B, ...) outputs for ``z1``, or an equal-length sequence of tensors (B, ...) (features of several layers:
            per-sample distances are averaged over the layers).
        x2: outputs for ``z2``, the same shapes as ``x1``.
        distance: distance between outputs: ``"l1"`` (default), ``"l2"``, ``"mse"``, ``"cosine"`` or a callable
            ``(a, b) -> (B,)``.
        latent_distance: distance between latents, same choices; default ``"l1"``.
        eps: epsilon of the form and floor of the latent distance in denominators; default ``1e-5``.
        form: ``"reciprocal"`` (default) :math:`1/(r+\epsilon)`, ``"negative"`` :math:`-r`, ``"clamped"``
            :math:`-\min(r, \tau)`, ``"inverse"`` :math:`d_z/(d_x+\epsilon)`.
        reduction: ``"batch"`` (default), ``"sample"`` or ``"none"``.
        tau: ceiling of the ratio, required by and only allowed with ``form="clamped"``.
        detach_second: stop the gradient through ``x2``; default ``False``.
        backend: ``"auto"`` (default), ``"torch"`` or ``"triton"``; see :mod:`torch_modeseek.ops`.

    Returns:
        A scalar tensor, or (B,) for ``reduction="none"``; float32 (float64 for float64 inputs) whatever the input
        dtype.

    Raises:
        TypeError: non-tensor inputs, non-floating dtypes, option values of the wrong type.
        ValueError: mismatched shapes or batch sizes, an empty batch, an empty feature or latent dimension (samples
            with no element), different devices, unknown option strings, ``form="clamped"`` without ``tau``, a
            non-positive ``eps``.

    Example:
        >>> import torch
        >>> z1, z2 = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 3.0]])  # mean |z2 - z1| = 2
        >>> x1 = torch.zeros(1, 3, 2, 2, requires_grad=True)
        >>> x2 = torch.ones(1, 3, 2, 2)  # mean |x2 - x1| = 1, ratio 0.5
        >>> loss = mode_seeking_loss(z1, z2, x1, x2)
        >>> torch.allclose(loss, torch.tensor(1 / (0.5 + 1e-5)))
        True
        >>> loss.backward()
    """
    options = make_options(
        distance=distance,
        latent_distance=latent_distance,
        eps=eps,
        form=form,
        reduction=reduction,
        tau=tau,
        detach_second=detach_second,
        backend=backend,
    )
    return paired_loss(z1, z2, x1, x2, options)


def all_pairs_terms(z: Tensor, x: Features, options: LossOptions) -> Terms:
    """Check the inputs, then return the :class:`Terms` of :func:`mode_seeking_loss_all_pairs` (ratios for logging)."""
    xs = check_all_pairs(z, x)
    if options.detach_second:
        dx = _upper_pairs_detached_second(xs, options.distance, options.backend)
    else:
        dx = upper_pair_distance(xs, options.distance, backend=options.backend, name="distance")
    dz = upper_pair_distance([z], options.latent_distance, backend=options.backend, name="latent_distance")
    return reduce_terms(dx, dz, eps=options.eps, form=options.form, reduction=options.reduction, tau=options.tau)


def mode_seeking_loss_all_pairs(
    z: Tensor,
    x: Features,
    *,
    distance: Distance = DEFAULTS.distance,
    latent_distance: Distance = DEFAULTS.latent_distance,
    eps: float = DEFAULTS.eps,
    form: str = DEFAULTS.form,
    reduction: str = DEFAULTS.reduction,
    tau: float | None = DEFAULTS.tau,
    detach_second: bool = DEFAULTS.detach_second,
    backend: str = DEFAULTS.backend,
) -> Tensor:
    r"""Mode-seeking loss over every pair of S >= 2 samples per condition (as in NDiv).

    Each condition ``b`` contributes its :math:`P = S(S-1)/2` pairs :math:`(i, j), i < j`. ``reduction="batch"`` is the
    ratio of the means of output and latent distances over all pairs of all conditions, ``"sample"`` the mean of the
    per-pair losses, ``"none"`` the (B, P) per-pair values, pair columns in the order of
    ``torch.triu_indices(S, S, 1)``.
    With S == 2 it equals :func:`mode_seeking_loss` on ``(z[0], z[1], x[0], x[1])``.

    Args:
        z: (S, B, ...) latents: S samples for each of B conditions.
        x: (S, B, ...) outputs, or an equal-length sequence of such tensors (features of several layers).
        distance: as in :func:`mode_seeking_loss`.
        latent_distance: as in :func:`mode_seeking_loss`.
        eps: as in :func:`mode_seeking_loss`.
        form: as in :func:`mode_seeking_loss`.
        reduction: ``"batch"`` (default), ``"sample"`` or ``"none"`` (shape (B, P)).
        tau: as in :func:`mode_seeking_loss`.
        detach_second: in each pair (i, j), stop the gradient through the sample ``j``.
        backend: as in :func:`mode_seeking_loss`.

    Returns:
        A scalar tensor, or (B, S(S-1)/2) for ``reduction="none"``.

    Raises:
        TypeError: as in :func:`mode_seeking_loss`.
        ValueError: as in :func:`mode_seeking_loss`, and S < 2 or ``z``/``x`` whose (S, B) dimensions differ.

    Example:
        >>> import torch
        >>> z = torch.randn(4, 8, 16, generator=torch.Generator().manual_seed(0))  # S=4 samples, B=8 conditions
        >>> x = torch.randn(4, 8, 3, 8, 8, requires_grad=True)
        >>> loss = mode_seeking_loss_all_pairs(z, x)
        >>> loss.shape
        torch.Size([])
        >>> loss.backward()
    """
    options = make_options(
        distance=distance,
        latent_distance=latent_distance,
        eps=eps,
        form=form,
        reduction=reduction,
        tau=tau,
        detach_second=detach_second,
        backend=backend,
    )
    return all_pairs_terms(z, x, options).loss


def _upper_pairs_detached_second(xs: list[Tensor], distance: Distance, backend: str) -> Tensor:
    """Pair distances where the gradient flows through the first sample of each pair (i < j) only."""
    samples = xs[0].shape[0]
    columns = [
        sample_distance([t[i] for t in xs], [t[j].detach() for t in xs], distance, backend=backend, name="distance")
        for i, j in upper_pairs(samples)
    ]
    return torch.stack(columns, dim=1)


__all__ = ["mode_seeking_loss", "mode_seeking_loss_all_pairs"]
