"""The text-to-image dataset interface of StackGAN: images with 10 caption embeddings each, and "wrong" images.

Both the real CUB-200-2011 loader and the built-in birds are :class:`CaptionedImages`, so the trainer's data path is
one. An item, looked up by ``(index, seed)`` as the toolkit's sampler yields, is
``(image, wrong_image, embedding)``: the image (3, S, S) in [-1, 1] (augmented when the subclass does so), one of
its 10 caption embeddings drawn from the seed (StackGAN picks 1 of 10 per step), and the image of a random item of
ANOTHER class (the mismatched real pair of the conditional discriminator). A plain index (evaluation) takes
caption 0 and no augmentation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["CaptionedImages"]


class CaptionedImages(Dataset):
    """Base class: subclasses set ``embeddings`` (N, C, D), ``class_ids`` (N,) and implement :meth:`image`.

    Attributes:
        embeddings: float32 array (N, captions per image, D).
        class_ids: int array (N,); the wrong image is drawn from a different class when there is one.
    """

    embeddings: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def image(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        """Image ``index`` as (3, S, S) in [-1, 1]; ``rng`` drives augmentation (``None``: none)."""
        raise NotImplementedError

    def captions(self, index: int) -> list[str]:
        """The caption texts of item ``index`` (for grids); empty when unknown."""
        return []

    def wrong_index(self, index: int, rng: np.random.Generator | None) -> int:
        """A random item of another class than ``index`` (the next such item without ``rng``)."""
        others = np.flatnonzero(self.class_ids != self.class_ids[index])
        if others.size == 0:  # a single class: any other item
            others = np.delete(np.arange(len(self)), index) if len(self) > 1 else np.array([index])
        if rng is None:
            return int(others[np.searchsorted(others, index) % others.size])
        return int(others[rng.integers(others.size)])

    def __getitem__(self, key: int | tuple[int, int | None]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        rng = None if seed is None else np.random.default_rng(seed)
        caption = 0 if rng is None else int(rng.integers(self.embeddings.shape[1]))
        wrong = self.wrong_index(index, rng)
        embedding = torch.from_numpy(np.ascontiguousarray(self.embeddings[index, caption], dtype=np.float32))
        return self.image(index, rng), self.image(wrong, rng), embedding
