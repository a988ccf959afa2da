"""A deterministic built-in text encoder: captions -> fixed vectors shaped like StackGAN's char-CNN-RNN embeddings.

The real CUB data ships pre-computed 1024-d caption embeddings (``char-CNN-RNN-embeddings.pickle``, N x 10 x 1024);
the built-in birds need embeddings of the same shape without a trained text model. :class:`HashingTextEncoder` maps
every token feature of a caption to a fixed Gaussian vector seeded by the feature's CRC-32 and sums them, scaled to
unit root-mean-square. No training, no vocabulary file, the same numbers on every machine.

The features are the caption's content words: function words ("a", "the", "with", "has", ...) are dropped, as a
trained encoder learns to ignore them. This matters: the char-CNN-RNN embeddings were trained to tell image classes
apart, so most of their variance is the class. Measured on the built-in birds' 20,480 training captions, the
between-class variance of the embeddings is 1.46 times the within-class variance with content words only, 0.28 times
with every word and word pair as features (the templates' filler words then dominate the sum), and StackGAN++'s
conditioning augmentation (a random projection at initialisation, then pulled towards N(0, I) by its KL term) passes
on no more than that: with 0.28 the generator followed neither the body nor the wing colour of its captions. Word
pairs within ``window`` words (after the function words are dropped) can be added as features, so that "red body,
white wings" and "white body, red wings" differ; the built-in captions take body and wing colours from disjoint sets
and need none.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = ["FUNCTION_WORDS", "HashingTextEncoder", "tokenize"]

_WORD = re.compile(r"[a-z]+")


def tokenize(caption: str) -> list[str]:
    """Lower-case words of ``caption`` (punctuation and digits dropped)."""
    return _WORD.findall(caption.lower())


#: dropped before hashing: words that carry no visual content in a caption
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "was",
        "be",
        "has",
        "have",
        "had",
        "and",
        "or",
        "but",
        "with",
        "without",
        "on",
        "in",
        "of",
        "to",
        "at",
        "by",
        "its",
        "it",
    ]
)


class HashingTextEncoder:
    """Caption -> ``dim``-d float32 vector (sum of hashed content-word vectors, unit RMS).

    Args:
        dim: embedding size (1024, as the char-CNN-RNN embeddings).
        window: also hash the pairs of content words up to this distance apart (0: words only).
        stop_words: words dropped before hashing (default :data:`FUNCTION_WORDS`).

    Example:
        >>> enc = HashingTextEncoder()
        >>> a, b, c = enc.encode(["a red bird with black wings", "the bird is red , wings black", "a blue bird"])
        >>> a.shape, bool(abs(float((a * a).mean()) - 1.0) < 1e-5), np.allclose(a, b), bool((a != c).any())
        ((1024,), True, True, True)
        >>> enc.features("a red body and white wings"), HashingTextEncoder(window=1).features("a red body")
        (['red', 'body', 'white', 'wings'], ['red', 'body', 'red>body'])
    """

    def __init__(self, dim: int = 1024, window: int = 0, stop_words: frozenset[str] = FUNCTION_WORDS) -> None:
        self.dim, self.window, self.stop_words = dim, window, stop_words
        self._cache: dict[str, np.ndarray] = {}

    def _vector(self, feature: str) -> np.ndarray:
        vec = self._cache.get(feature)
        if vec is None:
            seed = zlib.crc32(feature.encode("utf-8"))
            vec = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._cache[feature] = vec
        return vec

    def features(self, caption: str) -> list[str]:
        """The token features of ``caption``: its content words and ``"a>b"`` for pairs of them within the window."""
        words = [w for w in tokenize(caption) if w not in self.stop_words]
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
