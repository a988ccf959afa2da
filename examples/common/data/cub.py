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
from examples.common.data.errors import DatasetError, require_dir
from examples.common.data.image_ops import load_rgb, resize_crop_flip, to_tensor
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
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DatasetError(f"cannot read {str(path)!r}: {error}", CUB_LAYOUT) from error


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
        DatasetError: a file is missing or malformed (the message shows the expected layout).
    """

    def __init__(self, root: str | Path, split: str = "train", size: int = 256) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root = require_dir(root, CUB_LAYOUT)
        self.size, self.load_size = size, size * 76 // 64
        folder = self.root / split
        keys = _read(folder / "filenames.pickle")
        if not isinstance(keys, list) or not all(isinstance(k, (str, bytes)) for k in keys):
            raise DatasetError(f"{str(folder / 'filenames.pickle')!r} must hold a list of keys.", CUB_LAYOUT)
        self.keys = [k.decode() if isinstance(k, bytes) else k for k in keys]
        embeddings = _read(folder / "char-CNN-RNN-embeddings.pickle")
        try:
            self.embeddings = np.asarray(embeddings, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise DatasetError(f"embeddings are not a numeric array: {error}", CUB_LAYOUT) from error
        if self.embeddings.ndim != 3 or self.embeddings.shape[0] != len(self.keys):
            raise DatasetError(
                f"embeddings must be (N={len(self.keys)}, captions, dim), got {self.embeddings.shape}.", CUB_LAYOUT
            )
        self.class_ids = self._class_ids(folder)
        self.boxes = _bounding_boxes(self.root / "CUB_200_2011")
        missing = [k for k in self.keys if k not in self.boxes]
        if missing:
            raise DatasetError(f"{len(missing)} keys have no bounding box, e.g. {missing[0]!r}.", CUB_LAYOUT)
        self.images = self.root / "CUB_200_2011" / "images"

    def _class_ids(self, folder: Path) -> np.ndarray:
        if (folder / "class_info.pickle").is_file():
            ids = np.asarray(_read(folder / "class_info.pickle")).reshape(-1)
            if ids.shape != (len(self.keys),) or not np.issubdtype(ids.dtype, np.integer):
                raise DatasetError(f"class_info.pickle must hold {len(self.keys)} class ids.", CUB_LAYOUT)
            return ids
        try:
            return np.array([int(k.split(".", 1)[0]) for k in self.keys])
        except ValueError as error:
            raise DatasetError(f"no class_info.pickle and a key lacks the 'NNN.' prefix: {error}", CUB_LAYOUT) from None

    def image(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        """The bird of item ``index``: bounding-box crop, resize, random crop and flip (with ``rng``)."""
        key = self.keys[index]
        path = self.images / f"{key}.jpg"
        if not path.is_file():
            raise DatasetError(f"missing image {str(path)!r}.", CUB_LAYOUT)
        img = load_rgb(path)
        x, y, w, h = self.boxes[key]
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
