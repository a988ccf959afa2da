"""Decode every image file a run will read before its first step, so a bad file stops the run at once, named.

Datasets that read image files lazily (pix2pix's aligned pairs, DRIT's unpaired folders, CUB birds) list them with
``image_files()`` (:class:`ImageFileSource`); built-in and in-memory datasets (CIFAR-10 is read whole when built)
have no such method and nothing to check. Each file is decoded in full by
:func:`examples.common.data.image_ops.load_rgb`, the very function the loaders use, so what passes here loads in
training: a truncated or corrupt file, a non-image, a missing file or a decompression bomb is found now instead of
hours into a run (or never, in a DataLoader worker's traceback).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

from examples.common.data import image_ops
from examples.common.data.errors import DataFileError

__all__ = ["ImageFileSource", "check_files", "image_files"]

_SHOWN = 3  # bad files named in the error besides the first


@runtime_checkable
class ImageFileSource(Protocol):
    """A dataset that reads image files lazily, and can list them."""

    def image_files(self) -> list[Path]:
        """Every image file the dataset reads (in any order; duplicates allowed)."""
        ...


def image_files(*datasets: object) -> list[Path]:
    """The image files of ``datasets``, each once, in order; a dataset that is not an :class:`ImageFileSource` has none.

    Example:
        >>> image_files(object())
        []
    """
    return list(dict.fromkeys(p for d in datasets if isinstance(d, ImageFileSource) for p in d.image_files()))


def _problem(path: Path) -> DataFileError | None:
    try:
        image_ops.load_rgb(path)
    except DataFileError as error:
        return error
    return None


def _progress(results: Iterable[DataFileError | None], total: int, show: bool) -> Iterable[DataFileError | None]:
    if not show:
        return results
    from tqdm import tqdm  # a dependency of the trainers, not of this module's callers

    return tqdm(results, total=total, desc="checking image files", unit="file", dynamic_ncols=True)


def check_files(*datasets: object, progress: bool = False, workers: int | None = None) -> None:
    """Decode every image file that ``datasets`` will read; raise one error naming the bad ones.

    Call it once the datasets are built and before training starts, e.g. ``check_files(train_set, eval_set)``.
    Decoding runs in a thread pool (PIL releases the GIL while it decodes).

    Args:
        datasets: the datasets of the run, of any type; those that are not an :class:`ImageFileSource` (built-in,
            in-memory) have nothing to check.
        progress: show a tqdm progress bar.
        workers: decoding threads (default: the CPU count, at most 8).

    Raises:
        DataFileError: at least one file cannot be read: the message names the first bad file and its problem,
            then how many others are bad and the next few of them, on one line.

    Example:
        >>> check_files(object(), [1, 2, 3])  # nothing to check
    """
    paths = image_files(*datasets)
    if not paths:
        return
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        bad = [e for e in _progress(pool.map(_problem, paths), len(paths), progress) if e is not None]
    if not bad:
        return
    first, others = bad[0], bad[1:]
    if not others:
        raise first
    shown = "; ".join(f"{str(e.path)!r}: {e.problem}" for e in others[:_SHOWN])
    more = f"; and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
    raise DataFileError(
        first.path, f"{first.problem} ({len(bad)} of {len(paths)} image files cannot be read: also {shown}{more})"
    )
