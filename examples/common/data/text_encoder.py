"""A deterministic built-in text encoder: captions -> fixed vectors shaped like StackGAN's char-CNN-RNN embeddings.

The real CUB data ships pre-computed 1024-d caption embeddings (``char-CNN-RNN-embeddings.pickle``, N x 10 x 1024);
the built-in birds need embeddings of the same shape without a trained text model. :class:`HashingTextEncoder` maps
every token feature of a caption to a fixed Gaussian vector seeded by the feature's CRC-32 and sums them: the words
(unigrams) and the ordered word pairs at distance 1 and 2, so "red body and white wings" and "white body and red
wings" differ (the colour sits next to the part it describes). The sum is scaled to unit root-mean-square. No
training, no vocabulary file, the same numbers on every machine.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = ["HashingTextEncoder", "tokenize"]

_WORD = re.compile(r"[a-z]+")


def tokenize(caption: str) -> list[str]:
    """Lower-case words of ``caption`` (punctuation and digits dropped)."""
    return _WORD.findall(caption.lower())


class HashingTextEncoder:
    """Caption -> ``dim``-d float32 vector (sum of hashed unigram and skip-bigram vectors, unit RMS).

    Args:
        dim: embedding size (1024, as the char-CNN-RNN embeddings).
        window: word pairs up to this distance apart are features.

    Example:
        >>> enc = HashingTextEncoder()
        >>> a, b = enc.encode(["a red body and white wings", "a white body and red wings"])
        >>> a.shape, bool(abs(float((a * a).mean()) - 1.0) < 1e-5), bool((a != b).any())
        ((1024,), True, True)
    """

    def __init__(self, dim: int = 1024, window: int = 2) -> None:
        self.dim, self.window = dim, window
        self._cache: dict[str, np.ndarray] = {}

    def _vector(self, feature: str) -> np.ndarray:
        vec = self._cache.get(feature)
        if vec is None:
            seed = zlib.crc32(feature.encode("utf-8"))
            vec = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._cache[feature] = vec
        return vec

    def features(self, caption: str) -> list[str]:
        """The token features of ``caption``: its words and ``"a>b"`` for word pairs within the window."""
        words = tokenize(caption)
        pairs = [f"{words[i]}>{words[i + d]}" for d in range(1, self.window + 1) for i in range(len(words) - d)]
        return words + pairs

    def encode(self, captions: Sequence[str]) -> np.ndarray:
        """Encode captions; returns float32 (len(captions), dim)."""
        out = np.zeros((len(captions), self.dim), dtype=np.float32)
        for row, caption in enumerate(captions):
            feats = self.features(caption)
            if not feats:
                continue
            vec = np.sum([self._vector(f) for f in feats], axis=0)
            out[row] = vec / np.sqrt(np.mean(vec * vec) + 1e-12)
        return out
