"""Built-in class-conditional dataset with known modes: ten shapes, each drawn in 4 colours x 2 places.

Class ``c`` is a shape (square, disc, triangle, plus, cross, ring, diamond, bar, frame, column). Every image of a
class is one of ``M = 8`` discrete variants: colour in {red, green, blue, yellow} x place in {top-left,
bottom-right}, on a dark background with a little pixel noise. Given the class, the output is therefore an 8-modal
distribution whose modes are known exactly: :meth:`ShapesDataset.prototypes` renders them noise-free, and a
generated image counts for the mode whose prototype is nearest (within a radius, see
:attr:`ShapesDataset.coverage_radius`). A generator that collapses draws one colour or one place per class.

Items are computed on the fly from their index and the split's seed (no files, no downloads, identical everywhere).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from examples.common.data.seeding import derive_seed

__all__ = ["SHAPE_NAMES", "ShapesDataset"]

SHAPE_NAMES = ("square", "disc", "triangle", "plus", "cross", "ring", "diamond", "bar", "frame", "column")
_COLOURS = ((0.9, -0.9, -0.9), (-0.9, 0.9, -0.9), (-0.9, -0.9, 0.9), (0.9, 0.9, -0.9))  # red, green, blue, yellow
_BACKGROUND = -0.6
_NOISE = 0.05
_SPLIT_SEEDS = {"train": 1, "test": 2}


def _mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test of a unit-size shape on coordinates u (right), v (down) in [-1, 1] around its centre."""
    box = np.maximum(np.abs(u), np.abs(v))
    radius = np.sqrt(u * u + v * v)
    masks = {
        "square": box <= 0.85,
        "disc": radius <= 1.0,
        "triangle": (v <= 0.9) & (np.abs(u) <= (v + 1.0) / 2.0),
        "plus": ((np.abs(u) <= 0.35) | (np.abs(v) <= 0.35)) & (box <= 1.0),
        "cross": (np.abs(np.abs(u) - np.abs(v)) <= 0.4) & (box <= 1.0),
        "ring": (radius >= 0.55) & (radius <= 1.0),
        "diamond": np.abs(u) + np.abs(v) <= 1.0,
        "bar": (np.abs(v) <= 0.4) & (np.abs(u) <= 1.0),
        "frame": (box <= 1.0) & (box >= 0.6),
        "column": (np.abs(u) <= 0.4) & (np.abs(v) <= 1.0),
    }
    return masks[shape]


class ShapesDataset(Dataset):
    """Ten classes of shapes, 8 known modes per class; items are ``(image (3, S, S) in [-1, 1], label)``.

    Args:
        split: ``"train"`` or ``"test"`` (different pixel noise; the same modes).
        size: image side in pixels (32 matches CIFAR-10 and the DCGAN networks).
        per_mode: images per (class, mode); the dataset holds ``10 * 8 * per_mode`` items, item ``i`` being class
            ``i % 10`` and mode ``(i // 10) % 8``, so every prefix of 80 items is balanced.
    """

    num_classes = len(SHAPE_NAMES)
    num_modes = len(_COLOURS) * 2
    class_names = SHAPE_NAMES

    def __init__(self, split: str = "train", size: int = 32, per_mode: int = 50) -> None:
        if split not in _SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_SEEDS)}, got {split!r}")
        self.split, self.size, self.per_mode = split, size, per_mode
        self.labels = torch.arange(len(self)) % self.num_classes
        centre = (np.arange(size) + 0.5) / size
        self._grid = np.meshgrid(centre, centre)  # x (column), y (row) in (0, 1)
        self._prototypes = torch.stack([self._render_class(c) for c in range(self.num_classes)])

    def __len__(self) -> int:
        return self.num_classes * self.num_modes * self.per_mode

    def mode_of(self, index: int) -> int:
        """The mode (``colour + 4 * place``) of item ``index``."""
        return (index // self.num_classes) % self.num_modes

    def _render_class(self, label: int) -> torch.Tensor:
        x, y = self._grid
        modes = []
        for mode in range(self.num_modes):
            colour, place = _COLOURS[mode % len(_COLOURS)], mode // len(_COLOURS)
            cx = cy = 0.3 if place == 0 else 0.7
            inside = _mask(SHAPE_NAMES[label], (x - cx) / 0.22, (y - cy) / 0.22)
            img = np.full((3, self.size, self.size), _BACKGROUND, dtype=np.float32)
            for ch in range(3):
                img[ch][inside] = colour[ch]
            modes.append(torch.from_numpy(img))
        return torch.stack(modes)

    def prototypes(self, label: int) -> torch.Tensor:
        """The 8 noise-free modes of class ``label``: (8, 3, S, S)."""
        return self._prototypes[label]

    coverage_pool = 4  # modes are compared after this average pooling (see coverage_groups)

    @property
    def coverage_radius(self) -> float:
        """L2 radius (after ``coverage_pool`` average pooling) within which a sample counts for a mode.

        Half the smallest distance between two modes of a class: a sample within it is nearer to that mode than to
        any other.
        """
        flat = F.avg_pool2d(self._prototypes.flatten(0, 1), self.coverage_pool).reshape(*self._prototypes.shape[:2], -1)
        gaps = [torch.pdist(flat[c]).min() for c in range(self.num_classes)]
        return 0.5 * float(torch.stack(gaps).min())

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, int]:
        index = key[0] if isinstance(key, tuple) else key
        label = index % self.num_classes
        noise = torch.randn(
            3,
            self.size,
            self.size,
            generator=torch.Generator().manual_seed(derive_seed(_SPLIT_SEEDS[self.split], index)),
        )
        image = self._prototypes[label, self.mode_of(index)] + _NOISE * noise
        return image.clamp_(-1.0, 1.0), label
