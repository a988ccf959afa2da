"""CIFAR-10 as distributed: the python pickle batches of ``cifar-10-python.tar.gz`` (``cifar-10-batches-py/``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from examples.common.data.errors import DataFileError, DatasetError, require_dir
from examples.common.data.labels import integer_labels
from examples.common.data.safe_pickle import load_pickle

__all__ = ["CIFAR10", "CIFAR10_LAYOUT", "load_cifar10"]

CIFAR10_LAYOUT = """\
  DATA_ROOT/cifar-10-batches-py/      (or DATA_ROOT itself is that folder; extract cifar-10-python.tar.gz)
    data_batch_1 ... data_batch_5     pickled dict: b'data' uint8 array (10000, 3072), b'labels' list of 0..9
    test_batch                        the same format (10000 test images)
    batches.meta                      pickled dict with b'label_names' (optional)"""

_SPLITS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_DEFAULT_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _batch_folder(root: str | Path) -> Path:
    root = require_dir(root, CIFAR10_LAYOUT)
    for candidate in (root / "cifar-10-batches-py", root):
        if (candidate / "test_batch").is_file() or (candidate / "data_batch_1").is_file():
            return candidate
    raise DatasetError(f"no CIFAR-10 python batches under {str(root)!r}.", CIFAR10_LAYOUT)


def _load(path: Path) -> object:
    try:
        return load_pickle(path, encoding="bytes")
    except (pickle.UnpicklingError, OSError) as error:
        raise DataFileError(path, f"cannot read this CIFAR-10 pickle: {error}") from error


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"missing CIFAR-10 batch file {str(path)!r}.", CIFAR10_LAYOUT)
    batch = _load(path)
    if not isinstance(batch, dict):
        raise DataFileError(path, f"holds a {type(batch).__name__}, not a CIFAR-10 batch dict")
    data, labels = batch.get(b"data", batch.get("data")), batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataFileError(path, f"b'data' must be a uint8 array (N, 3072), got {got}")
    labels = integer_labels(labels, path, "b'labels'", data.shape[0], 0, 9)
    return data.reshape(-1, 3, 32, 32), labels


def _label_names(meta: Path) -> list[str]:
    raw = _load(meta)
    names = raw.get(b"label_names", raw.get("label_names")) if isinstance(raw, dict) else None
    if not (isinstance(names, list) and len(names) == 10 and all(isinstance(n, (bytes, str)) for n in names)):
        raise DataFileError(meta, "must be a dict whose b'label_names' is a list of 10 names")
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]


def load_cifar10(root: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a CIFAR-10 split.

    Args:
        root: the folder holding ``cifar-10-batches-py/`` (or that folder itself).
        split: ``"train"`` (data_batch_1..5) or ``"test"`` (test_batch).

    Returns:
        ``(images, labels, class_names)``: uint8 (N, 3, 32, 32), int64 (N,), 10 names.

    Raises:
        DatasetError: a file is missing (the message shows the expected layout).
        DataFileError: a file is corrupt, hostile or malformed, e.g. a label is not an integer in 0..9 (one line
            naming the file).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {sorted(_SPLITS)}, got {split!r}")
    folder = _batch_folder(root)
    parts = [_read_batch(folder / name) for name in _SPLITS[split]]
    meta = folder / "batches.meta"
    names = _label_names(meta) if meta.is_file() else _DEFAULT_NAMES
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), names


class CIFAR10(Dataset):
    """CIFAR-10 images in [-1, 1] with their labels; items are ``(image (3, 32, 32), label)``.

    Args:
        root: see :func:`load_cifar10`.
        split: ``"train"`` or ``"test"``.
    """

    num_classes = 10

    def __init__(self, root: str | Path, split: str = "train") -> None:
        images, labels, self.class_names = load_cifar10(root, split)
        self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, int]:
        index = key[0] if isinstance(key, tuple) else key
        return self.images[index].float().div_(127.5).sub_(1.0), int(self.labels[index])
