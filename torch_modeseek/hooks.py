"""``ModeSeekingHook``: add the mode-seeking term to an existing generator without changing its code.

Usage, with the doubled batch of MSGAN's official code (one forward, BatchNorm statistics over both samples)::

    hook = ModeSeekingHook(generator, latent="z", weight=1.0)
    cond2, z = paired_inputs(cond, latent_dim)          # [cond; cond], [z1; z2]
    fake = generator(cond2, z=z)                        # the generator's own call, unchanged
    loss_g = adv_loss + hook.loss()                     # weight * ModeSeekingLoss on the two halves

The hook captures the latent argument and the compared output of the latest forward that ran with gradients enabled
(forwards under ``torch.no_grad()``, e.g. sampling for a discriminator step or evaluation, are ignored), and computes
the term lazily when :meth:`ModeSeekingHook.loss` is called. A forward with gradients enabled that raises leaves no
capture behind (the previous one is dropped when the forward starts), so ``loss()`` never uses a stale batch.

Distributed training: wrapped in ``DistributedDataParallel``, each rank runs the forward on its own local batch, so
the hook splits that local batch and every pair stays within one rank; both samples of a pair are produced by the
same rank from the same condition rows, which the layout ``[cond; cond]`` of :func:`paired_inputs` guarantees per rank.
The term's gradient joins the rank's backward and is averaged across ranks by DDP like every other loss term. No
cross-rank communication is needed or done.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from torch_modeseek._checks import check_sample_elements
from torch_modeseek._hook_checks import (
    PAIR_CHECKS,
    check_latent_in_signature,
    check_latent_tensor,
    check_pairs,
    describe,
    named_arguments,
)
from torch_modeseek.loss import ModeSeekingLoss
from torch_modeseek.pairing import PAIRINGS, split_samples
from torch_modeseek.schedules import Constant, Schedule

OutputSelector = int | str | Sequence[int | str] | nn.Module | Callable[[Any], Any] | None


def _unwrap(module: nn.Module) -> nn.Module:
    """The module whose ``forward`` signature names the arguments (through DDP/DataParallel and torch.compile)."""
    while True:
        inner = getattr(module, "_orig_mod", None) or getattr(module, "module", None)
        if not isinstance(inner, nn.Module):
            return module
        module = inner


def _select(output: Any, path: Sequence[int | str]) -> Any:
    if isinstance(output, Tensor):
        raise ValueError(
            f"output={tuple(path)!r} indexes into a tuple, list or dict output, but the generator returned a tensor of "
            f"shape {tuple(output.shape)}; leave output=None to compare that tensor (an index would pick samples)"
        )
    for key in path:
        try:
            output = output[key]
        except (KeyError, IndexError, TypeError) as error:
            kind = type(output).__name__
            raise ValueError(f"output selector {tuple(path)!r}: cannot take [{key!r}] of {kind}") from error
    return output


def _as_features(value: Any, what: str) -> Tensor | list[Tensor]:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Tensor) for v in value):
        return list(value)
    raise ValueError(
        f"{what} is a {type(value).__name__}, not a tensor or a list of tensors; pass output=<index, key, path, "
        "submodule or callable> to choose what the mode-seeking term compares (StackGAN++ returns "
        "(stages, mu, logvar): output=(0, -1) takes the last stage)"
    )


class ModeSeekingHook:
    """Capture a generator's paired forward and return its weighted mode-seeking term.

    Args:
        module: the generator (a plain module, a ``DistributedDataParallel``/``DataParallel`` wrapper or a
            ``torch.compile``d module).
        latent: where the latent is in the forward's arguments: a keyword name (also found when passed
            positionally, through the forward's signature) or a positional index; default ``"z"``.
        output: what is compared. ``None`` (default): the module's output, which must be a tensor or a list of tensors
            (compared as features of several layers). An int or str indexes a tuple/list/dict output; a tuple of them
            is a path (``(0, -1)``: the last of the stages in element 0). A submodule: its output during the
            generator's forward is compared instead (feature-space distance). A callable: ``output_fn(out)``.
        weight: a float or a schedule ``step -> float`` (:mod:`torch_modeseek.schedules`); default 1.0.
        loss: the :class:`~torch_modeseek.ModeSeekingLoss` to apply; default the official one. The hook calls it
            (its ``all_pairs`` for ``samples`` > 2), so a subclass's ``forward`` is what the hook adds, and reads
            :attr:`last_ratio` and :attr:`last_ratios` from what the module records (``None`` if a subclass's
            ``forward`` records nothing).
        pairing: ``"halves"`` (default, the layout of :func:`~torch_modeseek.pairing.paired_inputs`) or
            ``"interleaved"`` (even rows are first samples, odd rows second samples).
        samples: samples per condition S; 2 (default) uses the paired loss, S > 2 the all-pairs loss over the
            S(S-1)/2 pairs (:func:`~torch_modeseek.pairing.repeated_inputs` builds that batch).
        check_pairs: ``"first"`` (default): on the first captured forward, the forward's other tensor arguments with
            the latent's batch size (the conditions) must be equal in the samples that are paired, else
            ``ValueError`` (a batch that was not doubled would pair different conditions); ``"always"``: on every
            captured forward (a device synchronisation each); ``"never"``: for conditions that legitimately differ
            between the samples.

    Attributes:
        step: the number of :meth:`loss` calls so far; the schedule's argument; saved by :meth:`state_dict`.
        last_ratio: detached output/latent distance ratio of the last :meth:`loss` call (a tensor, for logging; the
            library never reads its value), or ``None`` before the first call. With ``reduction="batch"`` it is the
            ratio of the batch means, which can look healthy while some conditions have collapsed.
        last_ratios: the detached per-pair ratios of the last :meth:`loss` call, output distance over latent
            distance for each pair: (B,) for two samples, (B, S(S-1)/2) for ``samples=S``; ``None`` before the first
            call. Pairs near 0 are conditions whose samples coincide (per-condition collapse), whatever the
            reduction the loss uses.

    Copies: ``copy.deepcopy`` of the hook, of an object that holds it (a trainer state), or of the generator it is
    registered on (an EMA copy) gives an independent hook registered on the *copied* generator, the one that the same
    deepcopy produces (deep-copying the hook alone therefore copies its generator too: ``copy.module``). The copy keeps
    the options, the weight schedule, the step and the last ratios, and is removed if the original was; the capture of
    the last forward is not copied (its tensors belong to the original's graph), so the copy's :meth:`loss` needs a
    forward of the copied generator first. Pickling drops the capture likewise.

    Example:
        >>> import torch
        >>> from torch_modeseek import ModeSeekingHook, paired_inputs
        >>> class Generator(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.net = torch.nn.Linear(8 + 3, 2)
        ...
        ...     def forward(self, cond, z):
        ...         return self.net(torch.cat([cond, z], dim=1))
        >>> generator = Generator()
        >>> hook = ModeSeekingHook(generator, latent="z")
        >>> cond2, z = paired_inputs(torch.eye(3), 8)
        >>> fake = generator(cond2, z=z)
        >>> term = hook.loss()
        >>> term.backward()
        >>> hook.step, hook.last_ratios.shape
        (1, torch.Size([3]))
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        latent: str | int = "z",
        output: OutputSelector = None,
        weight: float | Schedule = 1.0,
        loss: ModeSeekingLoss | None = None,
        pairing: str = "halves",
        samples: int = 2,
        check_pairs: str = "first",
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
        if isinstance(latent, bool) or not isinstance(latent, (str, int)):
            raise TypeError(f"latent must be a keyword name (str) or a positional index (int); got {latent!r}")
        if isinstance(weight, bool) or not (isinstance(weight, (int, float)) or callable(weight)):
            raise TypeError(f"weight must be a float or a schedule step -> float; got {type(weight).__name__}")
        if loss is None:
            loss = ModeSeekingLoss()
        if not isinstance(loss, ModeSeekingLoss):
            raise TypeError(f"loss must be a torch_modeseek.ModeSeekingLoss; got {type(loss).__name__}")
        if pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {', '.join(map(repr, PAIRINGS))}; got {pairing!r}")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise ValueError(f"samples must be an int >= 2; got {samples!r}")
        if check_pairs not in PAIR_CHECKS:
            raise ValueError(f"check_pairs must be one of {', '.join(map(repr, PAIR_CHECKS))}; got {check_pairs!r}")
        signature = inspect.signature(_unwrap(module).forward)
        check_latent_in_signature(latent, signature, type(_unwrap(module)).__name__)
        self.module = module
        self.latent = latent
        self.output = output
        self.schedule: Schedule = weight if callable(weight) else Constant(float(weight))
        self.criterion = loss
        self.pairing = pairing
        self.samples = samples
        self.step = 0
        self.last_ratio: Tensor | None = None
        self.last_ratios: Tensor | None = None
        self.check_pairs = check_pairs
        self._signature = signature
        self._captured: tuple[Tensor, Tensor | list[Tensor]] | None = None
        self._feature: Any = None
        self._removed = False
        self._ignoring = 0
        self._pairs_checked = False
        self._handles = [
            module.register_forward_pre_hook(self._on_forward_start),
            module.register_forward_hook(self._on_forward, with_kwargs=True),
        ]
        if isinstance(output, nn.Module):
            self._handles.append(output.register_forward_hook(self._on_feature))

    # -- capture ---------------------------------------------------------------------------------------------------
    def _find_latent(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if isinstance(self.latent, int):
            if not -len(args) <= self.latent < len(args):
                raise ValueError(f"latent={self.latent} but the forward got {len(args)} positional arguments")
            return args[self.latent]
        if self.latent in kwargs:
            return kwargs[self.latent]
        try:
            bound = self._signature.bind_partial(*args, **kwargs)
        except TypeError:
            bound = None
        if bound is None or self.latent not in bound.arguments:
            raise ValueError(
                f"latent={self.latent!r} is not among the forward's arguments (positional: {len(args)}, keywords: "
                f"{sorted(kwargs)}; parameters: {describe(self._signature)}); name the latent's keyword or position"
            )
        return bound.arguments[self.latent]

    def _on_forward_start(self, module: nn.Module, args: Any) -> None:
        # A forward that would be captured drops the previous capture first: if it raises, nothing stale is left.
        if not torch.is_grad_enabled() or self._ignoring:
            return
        if self._captured is not None:
            warnings.warn(
                "ModeSeekingHook: a forward with gradients enabled replaced the capture of an earlier forward that "
                "loss() had not used, so loss() will compare the latest one. Call hook.loss() right after the "
                "training forward, run sampling or evaluation under torch.no_grad(), and wrap other forwards of the "
                "generator (a second branch, a reconstruction) in `with hook.ignored():`",
                UserWarning,
                stacklevel=2,
            )
        self._captured = None
        self._feature = None

    def _on_feature(self, module: nn.Module, args: Any, out: Any) -> None:
        if torch.is_grad_enabled() and not self._ignoring:
            self._feature = out

    def _on_forward(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        if not torch.is_grad_enabled() or self._ignoring:
            return
        z = self._find_latent(args, kwargs)
        check_latent_tensor(z, self.latent, self._signature)
        if self.check_pairs == "always" or (self.check_pairs == "first" and not self._pairs_checked):
            arguments = named_arguments(self._signature, args, kwargs)
            check_pairs(arguments, z, str(self.latent), self.samples, self.pairing)
            self._pairs_checked = True
        if isinstance(self.output, nn.Module):
            selected, what = self._feature, f"the output of submodule {type(self.output).__name__}"
            if selected is None:
                raise RuntimeError(
                    f"the submodule {type(self.output).__name__} given as output did not run during the forward"
                )
            self._feature = None
        elif self.output is None:
            selected, what = out, "the module's output"
        elif callable(self.output):
            selected, what = self.output(out), "the output selected by the callable"
        else:
            path = self.output if isinstance(self.output, (tuple, list)) else (self.output,)
            selected, what = _select(out, path), f"the output at {tuple(path)!r}"
        self._captured = (z, _as_features(selected, what))

    # -- the term --------------------------------------------------------------------------------------------------
    @property
    def weight(self) -> float:
        """The weight at the current step."""
        return float(self.schedule(self.step))

    def loss(self) -> Tensor:
        """Weight x mode-seeking term of the last paired forward; clears it and advances the step.

        Raises:
            RuntimeError: no forward with gradients enabled was captured since the last call (or the last one raised),
                or the hook was removed.
            ValueError: the captured batch cannot be split into ``samples`` samples per condition, or its latent or
                output has an empty dimension.
        """
        if self._removed:
            raise RuntimeError(
                "ModeSeekingHook.loss(): this hook was removed (hook.remove(), or the end of its `with` block), so it "
                "captures no forward; create a new one, ModeSeekingHook(generator, ...), to add the term again"
            )
        if self._captured is None:
            raise RuntimeError(
                "ModeSeekingHook.loss(): no paired forward of the generator was captured since the last call; run "
                "the generator (with gradients enabled) on the paired batch from paired_inputs() before calling loss()"
            )
        z, x = self._captured
        self._captured = None
        check_sample_elements("the captured latent", z, 1, "latent")
        for k, t in enumerate([x] if isinstance(x, Tensor) else x):
            check_sample_elements("the captured output" + ("" if isinstance(x, Tensor) else f"[{k}]"), t, 1)
        zs = split_samples(z, self.samples, self.pairing, name="latent")
        if isinstance(x, Tensor):
            xs: Tensor | list[Tensor] = split_samples(x, self.samples, self.pairing)
        else:
            xs = [split_samples(t, self.samples, self.pairing, name=f"output[{k}]") for k, t in enumerate(x)]
        # Through the module it was given (a subclass's forward counts), so its own forward hooks run too. unbind:
        # one backward node per tensor, where indexing xs[0] and xs[1] zero-fills a full-size buffer for each.
        self.criterion.last_ratio = self.criterion.last_ratios = None
        if self.samples == 2:
            z1, z2 = zs.unbind(0)
            if isinstance(xs, Tensor):
                x1, x2 = xs.unbind(0)
            else:
                halves = [t.unbind(0) for t in xs]
                x1, x2 = [h[0] for h in halves], [h[1] for h in halves]
            term = self.criterion(z1, z2, x1, x2)
        else:
            term = self.criterion.all_pairs(zs, xs)
        weight = self.weight
        self.step += 1
        self.last_ratio, self.last_ratios = self.criterion.last_ratio, self.criterion.last_ratios
        return weight * term

    @contextlib.contextmanager
    def ignored(self) -> Iterator[None]:
        """Forwards of the generator inside the block are not captured (and replace no capture).

        For the generator's other calls with gradients in a training step: a second branch (BicycleGAN's cVAE beside
        the cLR pair), a cycle reconstruction, samples for a log.

        Example:
            >>> import torch
            >>> from torch_modeseek import ModeSeekingHook, paired_inputs
            >>> class Generator(torch.nn.Module):
            ...     def forward(self, cond, z):
            ...         return torch.cat([cond, z], dim=1) * 2
            >>> generator = Generator()
            >>> hook = ModeSeekingHook(generator)
            >>> cond2, z = paired_inputs(torch.eye(3), 8)
            >>> fake = generator(cond2, z=z.requires_grad_())  # the pair: captured
            >>> with hook.ignored():
            ...     other = generator(torch.eye(3), z=torch.randn(3, 8))  # another branch: not captured
            >>> hook.loss().backward()
        """
        self._ignoring += 1
        try:
            yield
        finally:
            self._ignoring -= 1

    # -- state and lifetime ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, int]:
        """The hook's state: the step of the weight schedule."""
        return {"step": self.step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the step saved by :meth:`state_dict`."""
        step = state.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"state['step'] must be an int >= 0; got {step!r}")
        self.step = step

    def remove(self) -> None:
        """Detach the hook from the module (and the submodule); later forwards are not captured."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._captured = None
        self._feature = None
        self._removed = True

    def __getstate__(self) -> dict[str, Any]:
        """The state that ``copy.deepcopy`` and pickle copy: all but the capture of the last forward.

        The captured tensors belong to the original's autograd graph (and non-leaf tensors cannot be deep-copied);
        the registration handles are copied, so that the copy's :meth:`remove` detaches it from the copied module.
        """
        state = self.__dict__.copy()
        state["_captured"] = None
        state["_feature"] = None
        return state

    def __enter__(self) -> ModeSeekingHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return (
            f"ModeSeekingHook(module={type(self.module).__name__}, latent={self.latent!r}, output={self.output!r}, "
            f"weight={self.schedule!r}, loss={self.criterion!r}, pairing={self.pairing!r}, samples={self.samples}, "
            f"check_pairs={self.check_pairs!r})"
        )


__all__ = ["ModeSeekingHook"]
