"""Unpaired two-domain image folders as DRIT/CycleGAN distribute them (Yosemite summer/winter, cat2dog)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from examples.common.data.errors import DatasetError, require_dir
from examples.common.data.image_ops import load_rgb, resize_crop_flip, to_tensor

__all__ = ["UNPAIRED_LAYOUT", "UnpairedFolders"]

UNPAIRED_LAYOUT = """\
  DATA_ROOT/              e.g. datasets/yosemite (summer2winter_yosemite) or datasets/cat2dog
    trainA/*.jpg          domain A training images (any size; resized to a --load-size square)
    trainB/*.jpg          domain B training images
    testA/*.jpg           domain A test images (evaluation inputs and real statistics)
    testB/*.jpg           domain B test images"""

_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"missing folder {str(folder)!r}.", UNPAIRED_LAYOUT)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTENSIONS)
    if not files:
        raise DatasetError(f"no .jpg/.png images in {str(folder)!r}.", UNPAIRED_LAYOUT)
    return files


class UnpairedFolders(Dataset):
    """Items ``(a, b)``: image ``index`` of domain A and an image of domain B, (3, S, S) each in [-1, 1].

    As DRIT's unpaired loader (``dataset_unpair``): the dataset is as long as the larger domain; item ``i`` takes A
    image ``i mod |A|`` and, with a seed (training), a random B image; every image is resized to a ``load_size``
    square with bicubic interpolation, then, with a seed, randomly cropped to ``crop_size`` and randomly flipped;
    without a seed (evaluation), B image ``i mod |B|``, the same resize and a centred ``crop_size`` crop (DRIT's test
    loader).

    Args:
        root: the dataset folder (see :data:`UNPAIRED_LAYOUT`).
        split: ``"train"`` or ``"test"``.
        load_size: side of the square the images are resized to.
        crop_size: side of the output images.
    """

    def __init__(self, root: str | Path, split: str = "train", load_size: int = 256, crop_size: int = 216) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        root = require_dir(root, UNPAIRED_LAYOUT)
        self.files = {d: _images(root / f"{split}{d}") for d in "AB"}
        self.load_size, self.crop_size = load_size, crop_size

    def __len__(self) -> int:
        return max(len(self.files["A"]), len(self.files["B"]))

    def image_files(self) -> list[Path]:
        """The images of both domains (see :class:`examples.common.data.file_check.ImageFileSource`)."""
        return self.files["A"] + self.files["B"]

    def image(self, domain: str, index: int, rng: np.random.Generator | None = None) -> torch.Tensor:
        """Image ``index`` (mod the domain's size) of ``domain`` ("A" or "B"), augmented with ``rng``."""
        files = self.files[domain]
        return to_tensor(
            resize_crop_flip(load_rgb(files[index % len(files)]), self.load_size, self.crop_size, rng, square=True)
        )

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        rng = None if seed is None else np.random.default_rng(seed)
        b_index = index if rng is None else int(rng.integers(len(self.files["B"])))
        return self.image("A", index, rng), self.image("B", b_index, rng)
