"""Built-in unpaired two-domain dataset with known modes: landscapes in summer (A) and winter (B).

A scene's layout (horizon, a hill's curve, up to three trees) is its content, drawn from the scene id; a domain
paints it in one of ``M = 8`` appearances: 4 palettes (sky, hills, ground, tree crowns) x 2 ground textures (plain,
furrows in summer / snow drifts in winter). Summer and winter palettes share no colours. Translating a summer scene
to winter keeps the layout and may take any of the 8 winter appearances, and the other way round, so each input has
8 known valid translations: :meth:`Seasons.prototypes` renders them noise-free, and a generated image counts for the
appearance whose prototype is nearest (within :attr:`Seasons.coverage_radius`). The two domains are sampled
unpaired: a training item pairs a summer image with a winter image of another random scene.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from examples.common.data.seeding import derive_seed

__all__ = ["Seasons"]

_PALETTES = {  # per palette: sky, hills, ground, tree crowns, in [0, 1]
    "A": [
        [[0.45, 0.70, 0.95], [0.25, 0.55, 0.25], [0.45, 0.75, 0.25], [0.10, 0.40, 0.10]],  # clear day
        [[0.98, 0.65, 0.35], [0.45, 0.45, 0.20], [0.80, 0.70, 0.25], [0.25, 0.35, 0.10]],  # sunset over fields
        [[0.70, 0.85, 0.95], [0.20, 0.45, 0.35], [0.30, 0.60, 0.30], [0.55, 0.65, 0.15]],  # haze, light crowns
        [[0.30, 0.50, 0.85], [0.55, 0.40, 0.25], [0.60, 0.80, 0.35], [0.15, 0.30, 0.20]],  # deep sky, brown hills
    ],
    "B": [
        [[0.75, 0.75, 0.78], [0.90, 0.90, 0.95], [0.97, 0.97, 1.00], [0.35, 0.40, 0.40]],  # overcast
        [[0.55, 0.70, 0.85], [0.80, 0.85, 0.95], [0.92, 0.94, 1.00], [0.85, 0.90, 0.95]],  # bright, snowy crowns
        [[0.20, 0.22, 0.35], [0.55, 0.60, 0.75], [0.75, 0.80, 0.90], [0.10, 0.15, 0.20]],  # winter night
        [[0.85, 0.65, 0.70], [0.75, 0.70, 0.80], [0.90, 0.85, 0.90], [0.40, 0.30, 0.35]],  # pink dusk
    ],
}
_NOISE = 0.03
_SPLIT_SEEDS = {"train": 31, "test": 32}


class Seasons(Dataset):
    """Unpaired summer (A) / winter (B) scenes, 8 known appearances per scene and domain.

    Items are ``(a, b)``, (3, S, S) in [-1, 1]: item ``i`` is scene ``i // 8`` of domain A in appearance ``i % 8``;
    with a seed (training), ``b`` is a random scene of domain B in a random appearance; with a plain index
    (evaluation), ``b`` is item ``i`` of domain B.

    Args:
        split: ``"train"`` or ``"test"`` (disjoint scenes).
        size: image side in pixels.
        scenes: number of layouts; the dataset holds ``scenes * 8`` items per domain.
    """

    num_modes = 8

    def __init__(self, split: str = "train", size: int = 32, scenes: int = 128) -> None:
        if split not in _SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_SEEDS)}, got {split!r}")
        self.split, self.size, self.scenes = split, size, scenes
        self._labels = [self._layout(i) for i in range(scenes)]
        self._cache: dict[tuple[str, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return self.scenes * self.num_modes

    def _layout(self, scene: int) -> np.ndarray:
        """Label map (S, S): 0 sky, 1 hill, 2 ground, 3 crown, 4 trunk."""
        s = self.size
        rng = np.random.default_rng(derive_seed(_SPLIT_SEEDS[self.split], scene))
        y, x = np.mgrid[0:s, 0:s] / s
        horizon = rng.uniform(0.45, 0.7)
        amp, freq, phase = rng.uniform(0.08, 0.2), rng.uniform(1.0, 2.5), rng.uniform(0, 2 * np.pi)
        hill = horizon - amp * (0.5 + 0.5 * np.sin(2 * np.pi * freq * x + phase))
        labels = np.where(y < hill, 0, np.where(y < horizon, 1, 2))
        for _ in range(int(rng.integers(1, 4))):
            tx, height = rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.35)
            base = horizon + rng.uniform(0.05, 0.2)
            crown = (y > base - height) & (y < base - 0.06) & (np.abs(x - tx) < 0.5 * (y - base + height) * 0.8)
            labels[crown] = 3
            labels[(np.abs(x - tx) < 0.025) & (y >= base - 0.06) & (y < base)] = 4
        return labels

    def render(self, domain: str, scene: int, mode: int) -> torch.Tensor:
        """Scene ``scene`` of ``domain`` in appearance ``mode``, noise-free: (3, S, S) in [-1, 1]."""
        key = (domain, scene * self.num_modes + mode)
        if key not in self._cache:
            labels = self._labels[scene]
            palette = np.array([*_PALETTES[domain][mode % 4], [0.30, 0.20, 0.10]])  # + trunk
            img = palette[labels].transpose(2, 0, 1).copy()
            if mode >= 4:  # furrows (summer) / snow drifts (winter): every 3rd row of the ground, darker / brighter
                rows = (np.arange(self.size) % 3 == 2)[:, None] & (labels == 2)
                img[:, rows] = img[:, rows] * 0.6 if domain == "A" else 0.55 + 0.1 * img[:, rows]
            self._cache[key] = torch.from_numpy(img * 2.0 - 1.0).float()
        return self._cache[key]

    def prototypes(self, domain: str, scene: int) -> torch.Tensor:
        """The 8 appearances of ``scene`` in ``domain``: (8, 3, S, S) in [-1, 1]."""
        return torch.stack([self.render(domain, scene, m) for m in range(self.num_modes)])

    coverage_pool = 2  # modes are compared after this average pooling (see coverage_groups)

    @property
    def coverage_radius(self) -> float:
        """L2 radius (after ``coverage_pool`` pooling) within which a sample counts for an appearance.

        Half the smallest distance between two appearances of one scene and domain, over the first 16 scenes.
        """
        gaps = [
            torch.pdist(F.avg_pool2d(self.prototypes(d, i), self.coverage_pool).flatten(1)).min()
            for d in "AB"
            for i in range(min(16, self.scenes))
        ]
        return 0.5 * float(torch.stack(gaps).min())

    def image(self, domain: str, index: int) -> torch.Tensor:
        """Item ``index`` of ``domain``: its scene in its appearance plus fixed pixel noise."""
        scene, mode = divmod(index % len(self), self.num_modes)
        seed = derive_seed(_SPLIT_SEEDS[self.split], "AB".index(domain), index)
        noise = torch.randn(3, self.size, self.size, generator=torch.Generator().manual_seed(seed))
        return (self.render(domain, scene, mode) + _NOISE * noise).clamp_(-1.0, 1.0)

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        b_index = index if seed is None else int(np.random.default_rng(seed).integers(len(self)))
        return self.image("A", index), self.image("B", b_index)
