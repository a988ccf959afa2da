"""Weight schedules for the mode-seeking term: ``step -> weight``.

A schedule is any callable that maps the training step (an int >= 0, advanced by every
:meth:`~torch_modeseek.hooks.ModeSeekingHook.loss` call) to a float weight. The ready-made ones are small frozen
dataclasses, so they print, compare and pickle, and a hook's ``state_dict()`` needs to hold the step alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Schedule = Callable[[int], float]
"""A weight schedule: called with the training step (0, 1, ...), returns the weight of the term at that step."""


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number; got {value!r}")


def _check_steps(steps: object) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")


@dataclass(frozen=True)
class Constant:
    """``weight(step) = value`` (MSGAN: 1.0).

    Example:
        >>> Constant(1.0)(12345)
        1.0
    """

    value: float

    def __post_init__(self) -> None:
        _check_number("value", self.value)

    def __call__(self, step: int) -> float:
        """The weight at ``step``."""
        return float(self.value)


def _ramp(first: float, last: float, step: int, steps: int) -> float:
    """The linear interpolation both ramps share: ``first`` at step 0, ``last`` from ``steps`` on."""
    fraction = min(max(step, 0), steps) / steps
    return float(first + (last - first) * fraction)


@dataclass(frozen=True)
class LinearWarmup:
    """Linear ramp from ``start`` to ``value`` over ``steps`` steps, then ``value``.

    ``weight(step) = start + (value - start) * min(step, steps) / steps``.

    Example:
        >>> schedule = LinearWarmup(1.0, steps=10)
        >>> [schedule(s) for s in (0, 5, 10, 20)]
        [0.0, 0.5, 1.0, 1.0]
    """

    value: float
    steps: int
    start: float = 0.0

    def __post_init__(self) -> None:
        _check_number("value", self.value)
        _check_number("start", self.start)
        _check_steps(self.steps)

    def __call__(self, step: int) -> float:
        """The weight at ``step``."""
        return _ramp(self.start, self.value, step, self.steps)


@dataclass(frozen=True)
class LinearDecay:
    """Linear decay from ``value`` to ``final`` over ``steps`` steps, then ``final`` (StarGAN v2: 1 -> 0 over 100k).

    ``weight(step) = value + (final - value) * min(step, steps) / steps``.

    Example:
        >>> schedule = LinearDecay(1.0, steps=100_000)
        >>> [schedule(s) for s in (0, 50_000, 100_000, 200_000)]
        [1.0, 0.5, 0.0, 0.0]
    """

    value: float
    steps: int
    final: float = 0.0

    def __post_init__(self) -> None:
        _check_number("value", self.value)
        _check_number("final", self.final)
        _check_steps(self.steps)

    def __call__(self, step: int) -> float:
        """The weight at ``step``."""
        return _ramp(self.value, self.final, step, self.steps)


def constant(value: float = 1.0) -> Constant:
    """A constant weight (MSGAN uses 1.0).

    Example:
        >>> constant(0.5)(1000)
        0.5
    """
    return Constant(value)


def linear_warmup(value: float, steps: int, *, start: float = 0.0) -> LinearWarmup:
    """A weight that grows linearly from ``start`` to ``value`` over ``steps`` steps.

    Example:
        >>> [linear_warmup(1.0, 4)(s) for s in (0, 2, 4, 8)]
        [0.0, 0.5, 1.0, 1.0]
    """
    return LinearWarmup(value, steps, start)


def linear_decay(value: float, steps: int, *, final: float = 0.0) -> LinearDecay:
    """A weight that falls linearly from ``value`` to ``final`` over ``steps`` steps (StarGAN v2).

    Example:
        >>> [linear_decay(1.0, 4, final=0.5)(s) for s in (0, 2, 4, 8)]
        [1.0, 0.75, 0.5, 0.5]
    """
    return LinearDecay(value, steps, final)


__all__ = ["Constant", "LinearDecay", "LinearWarmup", "Schedule", "constant", "linear_decay", "linear_warmup"]
