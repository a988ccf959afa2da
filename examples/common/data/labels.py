"""Integer labels read from a data file, checked: no float silently truncated, no value out of range."""

from __future__ import annotations

import reprlib
from pathlib import Path

import numpy as np

from examples.common.data.errors import DataFileError

__all__ = ["integer_labels"]

_INT64_MAX = 2**63 - 1
_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 30


def _is_int(value: object) -> bool:
    return (type(value) is int) or isinstance(value, np.integer)  # not bool, not 3.7, not 3.0


def integer_labels(values: object, path: str | Path, what: str, count: int, low: int, high: int | None) -> np.ndarray:
    """``values`` as an int64 array of ``count`` labels in ``low..high``, or a one-line error naming ``path``.

    Args:
        values: what the file holds: a list or tuple of ints (numpy integers too), or a 1-D integer array.
        path: the file, named in the error.
        what: how the error calls the labels, e.g. ``"b'labels'"``.
        count: how many labels there must be.
        low: the smallest allowed label.
        high: the largest allowed label, or ``None`` for no bound.

    Returns:
        The labels, int64 (count,).

    Raises:
        DataFileError: a label is not an integer (a float such as 3.7, a bool, a string, ...) or is out of range,
            or the count or the container is wrong.

    Example:
        >>> integer_labels([3, 7.0], "data_batch_1", "b'labels'", 2, 0, 9)
        Traceback (most recent call last):
        ...
        examples.common.data.errors.DataFileError: 'data_batch_1': b'labels' must hold integers, item 1 is 7.0 (float)
    """
    span = f"{low}..{high}" if high is not None else f">= {low}"
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise DataFileError(path, f"{what} must be a 1-D integer array, got {values.dtype} {values.shape}")
        items = values.tolist()
    elif type(values) in (list, tuple):
        items = values  # type: ignore[assignment]
    else:
        raise DataFileError(path, f"{what} must be a list of {count} integers, got {type(values).__name__}")
    if len(items) != count:
        raise DataFileError(path, f"{what} must hold {count} labels (one per item), got {len(items)}")
    for index, item in enumerate(items):
        if not _is_int(item):
            raise DataFileError(
                path, f"{what} must hold integers, item {index} is {_SHOW.repr(item)} ({type(item).__name__})"
            )
        if item < low or item > (high if high is not None else _INT64_MAX):
            raise DataFileError(path, f"{what} must hold labels in {span}, item {index} is {item}")
    return np.asarray(items, dtype=np.int64).reshape(count)
