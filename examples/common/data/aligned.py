"""pix2pix aligned datasets as distributed (facades, maps): ``{train,val,test}/*.jpg``, A on the left half."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from examples.common.data.errors import DataFileError, DatasetError, require_dir
from examples.common.data.image_ops import load_rgb, random_crop_flip, to_tensor

__all__ = ["ALIGNED_LAYOUT", "AlignedPairs"]

ALIGNED_LAYOUT = """\
  DATA_ROOT/                  e.g. datasets/facades or datasets/maps from pix2pix's download script
    train/*.jpg               side-by-side pairs: A on the left half, B on the right half (e.g. 512x256)
    val/*.jpg                 the same; used for evaluation (test/ is used when val/ is absent)
    test/*.jpg                (optional)"""

_EXTENSIONS = (".jpg", ".jpeg", ".png")


class AlignedPairs(Dataset):
    """Paired images from an aligned AB folder; items are ``(input, target)`` in [-1, 1], (3, S, S) each.

    Args:
        root: the dataset folder (see :data:`ALIGNED_LAYOUT`).
        split: ``"train"``, ``"val"`` or ``"test"``; ``"val"`` falls back to ``"test"`` when missing.
        direction: ``"AtoB"`` (input = left half) or ``"BtoA"`` (input = right half).
        load_size: side after resizing, before the random crop (training items only).
        crop_size: side of the output images.

    Items are looked up by ``(index, seed)``: with a seed, the crop and flip are drawn from it (training); with
    ``seed=None`` or a plain index, the image is resized to ``crop_size`` only (evaluation). Input and target get
    the same crop and flip.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        direction: str = "BtoA",
        load_size: int = 286,
        crop_size: int = 256,
    ) -> None:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        root = require_dir(root, ALIGNED_LAYOUT)
        folder = root / split
        if split == "val" and not folder.is_dir():
            folder = root / "test"
        if not folder.is_dir():
            raise DatasetError(f"missing split folder {str(root / split)!r}.", ALIGNED_LAYOUT)
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTENSIONS)
        if not self.files:
            raise DatasetError(f"no .jpg/.png images in {str(folder)!r}.", ALIGNED_LAYOUT)
        self.direction, self.load_size, self.crop_size = direction, load_size, crop_size

    def __len__(self) -> int:
        return len(self.files)

    def image_files(self) -> list[Path]:
        """The AB image files (see :class:`examples.common.data.file_check.ImageFileSource`)."""
        return list(self.files)

    def _halves(self, path: Path) -> tuple[Image.Image, Image.Image]:
        ab = load_rgb(path)
        w, h = ab.size
        if w < 2 or w % 2:
            raise DataFileError(path, f"the image is {w}x{h}: not two side-by-side halves of equal width")
        return ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        a, b = self._halves(self.files[index])
        if self.direction == "BtoA":
            a, b = b, a
        out = []
        for img in (a, b):  # the same seed for both halves: the same crop and flip
            rng = np.random.default_rng(seed) if seed is not None else None
            out.append(to_tensor(random_crop_flip(img, self.load_size, self.crop_size, rng)))
        return out[0], out[1]
