"""CUB-200-2011 with StackGAN's text embeddings, read as distributed (StackGAN/StackGAN++ ``birds`` folder).

Pickles are read with the restricted unpickler (:mod:`examples.common.data.safe_pickle`): the StackGAN files were
written by Python 2, so strings are decoded as latin-1. Images are cropped around the bird as StackGAN++ does
(a square of side 1.5 x the bounding box's larger side, centred on the box, clipped to the image), then resized
(shorter side to ``load_size`` = 76/64 of the final size, 304 for 256, aspect kept) and randomly cropped and
flipped for training, centre-cropped for evaluation.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from examples.common.data.captioned import CaptionedImages
from examples.common.data.errors import DataFileError, DatasetError, require_dir
from examples.common.data.image_ops import load_rgb, resize_crop_flip, to_tensor
from examples.common.data.labels import integer_labels
from examples.common.data.safe_pickle import load_pickle

__all__ = ["CUB_LAYOUT", "CUBBirds"]

CUB_LAYOUT = """\
  DATA_ROOT/                                  e.g. StackGAN's data/birds
    CUB_200_2011/images/<class>/<name>.jpg    the CUB-200-2011 images (CUB_200_2011.tgz)
    CUB_200_2011/images.txt                   "<id> <class>/<name>.jpg" per line
    CUB_200_2011/bounding_boxes.txt           "<id> <x> <y> <width> <height>" per line
    train/filenames.pickle                    list of N keys "<class>/<name>" (no extension)
    train/char-CNN-RNN-embeddings.pickle      float array (N, 10, 1024), or a list of N (10, 1024) arrays
    train/class_info.pickle                   list of N class ids (optional; else from the key's "NNN." prefix)
    test/...                                  the same three files for the test split
    text/<class>/<name>.txt                   10 captions per image, one per line (optional; used for grids)"""


def _read(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(f"missing file {str(path)!r}.", CUB_LAYOUT)
    try:
        return load_pickle(path, encoding="latin1")
    except (pickle.UnpicklingError, OSError) as error:
        raise DataFileError(path, f"cannot read this pickle: {error}") from error


def _kind(value: object) -> str:
    if isinstance(value, list):
        index, item = next((i, v) for i, v in enumerate(value) if not isinstance(v, np.ndarray))
        return f"item {index} of its list is a {type(item).__name__}"
    return f"it holds a {type(value).__name__}"


def _table(path: Path, columns: int) -> dict[str, list[str]]:
    if not path.is_file():
        raise DatasetError(f"missing file {str(path)!r}.", CUB_LAYOUT)
    rows = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != columns:
            raise DatasetError(f"{str(path)!r} line {number}: expected {columns} fields, got {line!r}.", CUB_LAYOUT)
        rows[parts[0]] = parts[1:]
    return rows


def _bounding_boxes(cub: Path) -> dict[str, tuple[float, float, float, float]]:
    """Key "<class>/<name>" -> (x, y, width, height)."""
    paths, boxes = _table(cub / "images.txt", 2), _table(cub / "bounding_boxes.txt", 5)
    try:
        return {p[0].rsplit(".", 1)[0]: tuple(float(v) for v in boxes[i]) for i, p in paths.items()}
    except (KeyError, ValueError) as error:
        raise DatasetError(f"images.txt and bounding_boxes.txt do not match: {error}", CUB_LAYOUT) from error


class CUBBirds(CaptionedImages):
    """A CUB-200-2011 split with its char-CNN-RNN caption embeddings (see :data:`CUB_LAYOUT`).

    Args:
        root: the data folder.
        split: ``"train"`` or ``"test"``.
        size: side of the final image (256 for StackGAN++'s three stages).

    Raises:
        DatasetError: a file is missing or the tables do not match (the message shows the expected layout).
        DataFileError: a pickle is corrupt, hostile or holds the wrong values (one line naming the file).
    """

    def __init__(self, root: str | Path, split: str = "train", size: int = 256) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root = require_dir(root, CUB_LAYOUT)
        self.size, self.load_size = size, size * 76 // 64
        folder = self.root / split
        names = folder / "filenames.pickle"
        keys = _read(names)
        if not isinstance(keys, list) or not all(isinstance(k, (str, bytes)) for k in keys):
            raise DataFileError(names, "must hold a list of keys '<class>/<name>'")
        self.keys = [k.decode("utf-8", "replace") if isinstance(k, bytes) else k for k in keys]
        self.embeddings = self._embeddings(folder / "char-CNN-RNN-embeddings.pickle")
        self.class_ids = self._class_ids(folder)
        self.boxes = _bounding_boxes(self.root / "CUB_200_2011")
        missing = [k for k in self.keys if k not in self.boxes]
        if missing:
            raise DatasetError(f"{len(missing)} keys have no bounding box, e.g. {missing[0]!r}.", CUB_LAYOUT)
        self.images = self.root / "CUB_200_2011" / "images"

    def _embeddings(self, path: Path) -> np.ndarray:
        raw = _read(path)
        if not (isinstance(raw, np.ndarray) or (isinstance(raw, list) and all(isinstance(e, np.ndarray) for e in raw))):
            raise DataFileError(path, f"must hold a float array (N, 10, D) or a list of (10, D) arrays; {_kind(raw)}")
        try:
            embeddings = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise DataFileError(path, f"the embeddings are not one numeric array: {error}") from error
        if embeddings.ndim != 3 or embeddings.shape[0] != len(self.keys):
            raise DataFileError(
                path, f"embeddings must be (N={len(self.keys)}, captions, dim) for the keys, got {embeddings.shape}"
            )
        if not np.isfinite(embeddings).all():
            raise DataFileError(path, "the embeddings hold NaN or infinite values")
        return embeddings

    def _class_ids(self, folder: Path) -> np.ndarray:
        path = folder / "class_info.pickle"
        if path.is_file():
            ids = _read(path)
            if isinstance(ids, np.ndarray):
                ids = ids.reshape(-1)
            return integer_labels(ids, path, "class ids", len(self.keys), 0, None)
        try:
            return np.array([int(k.split(".", 1)[0]) for k in self.keys])
        except ValueError as error:
            raise DatasetError(f"no class_info.pickle and a key lacks the 'NNN.' prefix: {error}", CUB_LAYOUT) from None

    def image_files(self) -> list[Path]:
        """The image file of every item (see :class:`examples.common.data.file_check.ImageFileSource`)."""
        return [self.image_path(index) for index in range(len(self))]

    def image_path(self, index: int) -> Path:
        """The image file of item ``index``: ``CUB_200_2011/images/<key>.jpg``."""
        return self.images / f"{self.keys[index]}.jpg"

    def image(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        """The bird of item ``index``: bounding-box crop, resize, random crop and flip (with ``rng``)."""
        img = load_rgb(self.image_path(index))
        x, y, w, h = self.boxes[self.keys[index]]
        r = int(max(w, h) * 0.75)
        cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
        img = img.crop((max(0, cx - r), max(0, cy - r), min(img.width, cx + r), min(img.height, cy + r)))
        return to_tensor(resize_crop_flip(img, self.load_size, self.size, rng))

    def captions(self, index: int) -> list[str]:
        """The captions of ``text/<key>.txt`` (empty when the file is absent)."""
        path = self.root / "text" / f"{self.keys[index]}.txt"
        if not path.is_file():
            return []
        return [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
