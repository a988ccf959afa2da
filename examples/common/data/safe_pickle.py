"""A restricted unpickler for dataset files: plain containers, strings, numbers and numpy arrays, nothing else.

Pickles can run arbitrary code through the globals they reference (``os.system``, ``subprocess.Popen``, ...).
Dataset pickles (CIFAR-10 batches, StackGAN's embeddings and file lists) only need builtin containers and scalars,
which the pickle protocol encodes without globals, plus a handful of numpy reconstruction functions. Every other
global is refused before it is looked up, so a crafted file fails with :class:`pickle.UnpicklingError` and runs
nothing. Object-dtype arrays are refused too (their items would be arbitrary objects).
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_pickle", "loads"]


def _dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed in dataset pickles")
    return dtype


def _encode(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles of bytes at protocol <= 2 go through _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only _codecs.encode(str, 'latin1') is allowed in dataset pickles")
    return codecs.encode(text, encoding)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:  # numpy >= 2 renamed numpy.core to numpy._core (the old name warns); pickles may name either
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]

    allowed: dict[tuple[str, str], Any] = {}
    for prefix in ("numpy.core", "numpy._core"):
        allowed[(f"{prefix}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{prefix}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{prefix}.numeric", "_frombuffer")] = numeric._frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = _dtype
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    _allowed: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if _RestrictedUnpickler._allowed is None:
            allowed = _numpy_globals()
            allowed[("_codecs", "encode")] = _encode
            allowed[("collections", "OrderedDict")] = dict
            _RestrictedUnpickler._allowed = allowed
        try:
            return _RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: dataset pickles may hold only plain containers, strings, "
                "numbers and numpy arrays"
            ) from None


def loads(data: bytes, *, encoding: str = "bytes") -> Any:
    """Unpickle ``data`` with the restricted unpickler.

    Args:
        data: the pickled bytes.
        encoding: how Python 2 ``str`` objects are decoded (``"bytes"`` keeps them as bytes, as CIFAR-10 needs;
            ``"latin1"`` also works for numpy arrays written by Python 2).

    Returns:
        The unpickled object.

    Raises:
        pickle.UnpicklingError: the data references anything beyond the allowed globals.
    """
    return _RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load_pickle(path: str | Path, *, encoding: str = "bytes") -> Any:
    """Read and unpickle the file at ``path`` with the restricted unpickler (see :func:`loads`)."""
    return loads(Path(path).read_bytes(), encoding=encoding)
