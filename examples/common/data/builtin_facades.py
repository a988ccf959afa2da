"""Built-in paired dataset with known modes: block-facade label maps -> photos in 8 valid appearances.

Input A is a label map in the colours of the facades dataset's labels (sky, wall, windows, a door) whose layout
(sky height, window grid, window size, door place) is drawn from the input's id. Target B paints that layout in one
of ``M = 8`` appearances: 4 palettes (colours of sky, wall, windows and door) x 2 wall textures (plain, brick
courses). Every appearance is equally valid for every input, so the mapping A -> B is 8-modal with known modes:
:meth:`BlockFacades.prototypes` renders them noise-free, and a generated image counts for the appearance whose
prototype is nearest (within :attr:`BlockFacades.coverage_radius`). A generator that ignores its latent (pix2pix's
usual failure) paints every input one way.

Items are computed on the fly from the item index and the split's seed (no files, no downloads).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from examples.common.data.seeding import derive_seed

__all__ = ["BlockFacades"]

_SKY, _WALL, _WINDOW, _DOOR = range(4)
_LABEL_COLOURS = np.array([[0.0, 0.0, 1.0], [0.0, 0.3, 1.0], [1.0, 0.6, 0.0], [0.7, 1.0, 0.3]])  # in [0, 1]
_PALETTES = np.array(  # per palette: sky, wall, window, door; in [0, 1]
    [
        [[0.55, 0.75, 0.95], [0.75, 0.30, 0.20], [0.15, 0.20, 0.35], [0.35, 0.20, 0.10]],  # red brick
        [[0.95, 0.75, 0.55], [0.90, 0.85, 0.65], [0.30, 0.45, 0.60], [0.15, 0.35, 0.20]],  # sandstone at dusk
        [[0.30, 0.30, 0.40], [0.55, 0.60, 0.70], [0.95, 0.90, 0.50], [0.60, 0.15, 0.15]],  # grey, lit windows
        [[0.85, 0.90, 0.95], [0.30, 0.55, 0.35], [0.90, 0.95, 1.00], [0.95, 0.85, 0.30]],  # green, white windows
    ]
)
_NOISE = 0.03
_SPLIT_SEEDS = {"train": 11, "val": 12}


class BlockFacades(Dataset):
    """Label map -> facade photo pairs, 8 known appearances per input; items are ``(A, B)``, (3, S, S) in [-1, 1].

    Args:
        split: ``"train"`` or ``"val"`` (disjoint layouts).
        size: image side in pixels.
        layouts: number of distinct inputs; the dataset holds ``layouts * 8`` items, item ``i`` being layout
            ``i // 8`` in appearance ``i % 8``.
    """

    num_modes = len(_PALETTES) * 2

    def __init__(self, split: str = "train", size: int = 32, layouts: int = 256) -> None:
        if split not in _SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_SEEDS)}, got {split!r}")
        self.split, self.size, self.layouts = split, size, layouts
        self._labels = [self._layout(i) for i in range(layouts)]

    def __len__(self) -> int:
        return self.layouts * self.num_modes

    def _layout(self, layout: int) -> np.ndarray:
        """Integer label map (S, S) of input ``layout``."""
        s = self.size
        rng = np.random.default_rng(derive_seed(_SPLIT_SEEDS[self.split], layout))
        labels = np.full((s, s), _WALL, dtype=np.int64)
        sky = int(rng.integers(s // 8, s // 4 + 1))
        labels[:sky] = _SKY
        rows, cols = int(rng.integers(1, 4)), int(rng.integers(2, 5))
        door_w, door_h = max(2, s // 8), max(3, s // 5)
        top, bottom = sky + 2, s - door_h - 2
        cell_h, cell_w = (bottom - top) / rows, (s - 2) / cols
        win_h = max(2, int(cell_h * rng.uniform(0.4, 0.7)))
        win_w = max(2, int(cell_w * rng.uniform(0.4, 0.7)))
        for r in range(rows):
            for c in range(cols):
                y0 = int(top + r * cell_h + (cell_h - win_h) / 2)
                x0 = int(1 + c * cell_w + (cell_w - win_w) / 2)
                labels[y0 : y0 + win_h, x0 : x0 + win_w] = _WINDOW
        door_x = int(rng.integers(1, s - door_w - 1))
        labels[s - door_h :, door_x : door_x + door_w] = _DOOR
        return labels

    def label_map(self, layout: int) -> torch.Tensor:
        """Input A of ``layout``: (3, S, S) in [-1, 1]."""
        return torch.from_numpy(_LABEL_COLOURS[self._labels[layout]].transpose(2, 0, 1) * 2.0 - 1.0).float()

    def _render(self, layout: int, mode: int) -> torch.Tensor:
        labels = self._labels[layout]
        img = _PALETTES[mode % len(_PALETTES)][labels].transpose(2, 0, 1).copy()  # (3, S, S) in [0, 1]
        if mode >= len(_PALETTES):  # brick courses: a dark line every 4 rows, on the wall only
            rows = (np.arange(self.size) % 4 == 3)[:, None] & (labels == _WALL)
            img[:, rows] *= 0.45
        return torch.from_numpy(img * 2.0 - 1.0).float()

    def prototypes(self, layout: int) -> torch.Tensor:
        """The 8 noise-free appearances of input ``layout``: (8, 3, S, S) in [-1, 1]."""
        return torch.stack([self._render(layout, m) for m in range(self.num_modes)])

    coverage_pool = 2  # modes are compared after this average pooling (see coverage_groups)

    @property
    def coverage_radius(self) -> float:
        """L2 radius (after ``coverage_pool`` average pooling) within which a sample counts for an appearance.

        Half the smallest distance between two appearances of one input, over the first 16 inputs: a sample within
        it is nearer to that appearance than to any other.
        """
        gaps = [
            torch.pdist(F.avg_pool2d(self.prototypes(i), self.coverage_pool).flatten(1)).min()
            for i in range(min(16, self.layouts))
        ]
        return 0.5 * float(torch.stack(gaps).min())

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, torch.Tensor]:
        index = key[0] if isinstance(key, tuple) else key
        layout, mode = divmod(index, self.num_modes)
        noise = torch.randn(
            3,
            self.size,
            self.size,
            generator=torch.Generator().manual_seed(derive_seed(_SPLIT_SEEDS[self.split], -1, index)),
        )
        return self.label_map(layout), (self._render(layout, mode) + _NOISE * noise).clamp_(-1.0, 1.0)
