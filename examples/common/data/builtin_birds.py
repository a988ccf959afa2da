"""Built-in text-to-image dataset with known modes: drawn birds whose captions describe only some attributes.

Every image is a bird on a perch. Its caption class is body colour x wing colour (4 x 4 = 16 classes), and every
caption names both ("a red bird with black wings", "this bird has grey wings and a yellow belly", ...). What the
captions never describe is the scene behind the bird, drawn freely from eight (sky, foliage, sand, dusk, snow, sea,
sunset, meadow), so each caption has ``M = 8`` equally valid images, its known modes.
:meth:`BirdCaptions.prototypes` renders them noise-free, and a generated image counts for the mode whose prototype
is nearest (within :attr:`BirdCaptions.coverage_radius`). A generator that ignores its latent draws one scene per
caption.

Why scenes, measured on the default StackGAN++ run (16/32/64 px stages before; 8/16/32 px now): an earlier design
varied pose (facing left or right), background (sky or foliage) and size (small or large) around a centred bird; at
32 px after the coverage count's 4 x 4 pooling its two closest modes were 1.09 apart and two captions' birds in the
same mode 0.74, so only near-perfect samples fell within the coverage radius. Pose (mirrored, off-centre) x four
backgrounds raised those to 1.75 and 1.34, but in 2,500 steps the generator never drew the mirrored pose, with or
without the term, so half the modes were out of reach of any run of that length. Eight scenes behind a large bird
keep the birds' colours prominent (every bird fills most of the picture), put the closest two modes 3.36 apart and
two captions' birds 1.34, and leave the generator one free choice per sample.

Each image has 10 captions from sentence templates, encoded by the deterministic
:class:`~examples.common.data.text_encoder.HashingTextEncoder` into an (N, 10, 1024) array, the shape of StackGAN's
char-CNN-RNN embeddings, so the trainer and the data path are those of the real CUB data
(:class:`~examples.common.data.captioned.CaptionedImages`). Items are computed from their index and the split's
seed; images are anti-aliased (drawn at twice the size, then averaged).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from examples.common.data.captioned import CaptionedImages
from examples.common.data.seeding import derive_seed
from examples.common.data.text_encoder import HashingTextEncoder

__all__ = ["BODY_COLOURS", "SCENES", "WING_COLOURS", "BirdCaptions"]

BODY_COLOURS = {"red": (0.85, 0.12, 0.10), "yellow": (0.98, 0.85, 0.15), "blue": (0.15, 0.30, 0.85),
                "white": (0.96, 0.96, 0.94)}  # fmt: skip
WING_COLOURS = {"black": (0.08, 0.08, 0.08), "brown": (0.50, 0.30, 0.12), "grey": (0.55, 0.55, 0.58),
                "orange": (1.00, 0.55, 0.05)}  # fmt: skip
_TEMPLATES = (
    "a {b} bird with {w} wings",
    "this bird has {w} wings and a {b} belly",
    "a bird with a {b} body and {w} wings",
    "this bird is {b} with {w} wings",
    "the bird has a {b} breast and {w} wings",
    "{w} wings and a {b} body",
    "a {b} bodied bird with {w} wing feathers",
    "this bird has a {b} crown and belly and {w} wings",
    "a bird with {w} wings and a {b} chest",
    "this is a {b} bird with {w} colored wings",
    "the wings are {w} and the belly is {b}",
    "a {b} and {w} bird , {w} on the wings",
)
_BEAK, _EYE, _PERCH = (0.95, 0.60, 0.10), (0.02, 0.02, 0.02), (0.40, 0.25, 0.10)
SCENES = {  # (top, bottom) colours of the scene's vertical gradient
    "sky": ((0.55, 0.75, 0.95), (0.85, 0.92, 0.98)),
    "foliage": ((0.10, 0.30, 0.12), (0.30, 0.50, 0.22)),
    "sand": ((0.95, 0.80, 0.55), (0.80, 0.55, 0.35)),
    "dusk": ((0.30, 0.30, 0.35), (0.55, 0.55, 0.60)),
    "snow": ((0.92, 0.94, 0.97), (0.75, 0.78, 0.85)),
    "sea": ((0.05, 0.25, 0.45), (0.10, 0.45, 0.55)),
    "sunset": ((0.95, 0.45, 0.35), (0.55, 0.25, 0.45)),
    "meadow": ((0.75, 0.85, 0.35), (0.45, 0.65, 0.20)),
}
_SCALE, _CENTRE = 0.95, (0.42, 0.52)  # bird size and where its body sits
_NOISE = 0.03
_SPLIT_SEEDS = {"train": 21, "test": 22}


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0):
    c, s = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def draw_bird(size: int, body: str, wing: str, mode: int) -> np.ndarray:
    """A noise-free bird, (3, size, size) in [0, 1], in front of scene ``mode`` (an index into :data:`SCENES`)."""
    scene = list(SCENES.values())[mode]
    n = 2 * size
    coords = (np.arange(n) + 0.5) / n
    x, y = np.meshgrid(coords, coords)
    top, bottom = (np.array(c)[:, None, None] for c in scene)
    img = top + (bottom - top) * y[None]
    s, (cx, cy) = _SCALE, _CENTRE

    def paint(mask: np.ndarray, colour: tuple[float, float, float]) -> None:
        img[:, mask] = np.array(colour)[:, None]

    paint((y >= cy + 0.22 * s) & (y <= cy + 0.27 * s), _PERCH)
    for lx in (cx - 0.03 * s, cx + 0.06 * s):
        paint((np.abs(x - lx) <= 0.012) & (y >= cy + 0.1 * s) & (y <= cy + 0.23 * s), _BEAK)
    paint(_ellipse(x, y, cx - 0.30 * s, cy - 0.05 * s, 0.15 * s, 0.05 * s, 0.35), WING_COLOURS[wing])  # tail
    paint(_ellipse(x, y, cx, cy, 0.26 * s, 0.17 * s), BODY_COLOURS[body])
    hx, hy = cx + 0.21 * s, cy - 0.15 * s
    paint(_ellipse(x, y, hx, hy, 0.11 * s, 0.11 * s), BODY_COLOURS[body])
    t = (x - (hx + 0.08 * s)) / (0.12 * s)
    paint((t >= 0) & (t <= 1) & (np.abs(y - hy) <= 0.04 * s * (1 - t)), _BEAK)
    paint(_ellipse(x, y, hx + 0.04 * s, hy - 0.025 * s, 0.022 * s, 0.022 * s), _EYE)
    paint(_ellipse(x, y, cx - 0.05 * s, cy - 0.02 * s, 0.17 * s, 0.085 * s, 0.25), WING_COLOURS[wing])
    return img.reshape(3, size, 2, size, 2).mean(axis=(2, 4))


class BirdCaptions(CaptionedImages):
    """Built-in birds with 10 captions each; 16 caption classes x 8 known modes (see the module docstring).

    Args:
        split: ``"train"`` or ``"test"`` (different captions drawn and pixel noise; the same modes).
        size: image side in pixels (the final stage's size).
        per_mode: images per (class, mode); the dataset holds ``16 * 8 * per_mode`` items, item ``i`` being class
            ``i % 16`` and mode ``(i // 16) % 8``, so every prefix of 128 items is balanced.
        dim: embedding size.
    """

    num_classes = len(BODY_COLOURS) * len(WING_COLOURS)
    num_modes = 8
    mode_names = tuple(SCENES)

    def __init__(self, split: str = "train", size: int = 64, per_mode: int = 8, dim: int = 1024) -> None:
        if split not in _SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_SEEDS)}, got {split!r}")
        self.split, self.size, self.per_mode = split, size, per_mode
        n = self.num_classes * self.num_modes * per_mode
        self.class_ids = np.arange(n) % self.num_classes
        self._captions = [self._draw_captions(i) for i in range(n)]
        encoder, cache = HashingTextEncoder(dim), {}
        for caps in self._captions:
            for c in caps:
                if c not in cache:
                    cache[c] = encoder.encode([c])[0]
        self.embeddings = np.stack([np.stack([cache[c] for c in caps]) for caps in self._captions])
        protos = [
            [draw_bird(size, *self.colours(c), m) for m in range(self.num_modes)] for c in range(self.num_classes)
        ]
        self._prototypes = torch.from_numpy(np.array(protos, dtype=np.float32) * 2.0 - 1.0)

    @staticmethod
    def colours(label: int) -> tuple[str, str]:
        """(body colour, wing colour) of caption class ``label``."""
        return list(BODY_COLOURS)[label // len(WING_COLOURS)], list(WING_COLOURS)[label % len(WING_COLOURS)]

    def _draw_captions(self, index: int) -> list[str]:
        body, wing = self.colours(index % self.num_classes)
        rng = np.random.default_rng(derive_seed(_SPLIT_SEEDS[self.split], 7, index))
        return [_TEMPLATES[t].format(b=body, w=wing) for t in rng.permutation(len(_TEMPLATES))[:10]]

    def mode_of(self, index: int) -> int:
        """The mode (the scene, named by ``mode_names``) of item ``index``."""
        return (index // self.num_classes) % self.num_modes

    def captions(self, index: int) -> list[str]:
        """The 10 captions of item ``index``."""
        return self._captions[index]

    def prototypes(self, label: int) -> torch.Tensor:
        """The 8 noise-free modes of caption class ``label``: (8, 3, S, S) in [-1, 1]."""
        return self._prototypes[label]

    def all_prototypes(self) -> torch.Tensor:
        """The noise-free modes of every caption class: (16, 8, 3, S, S) in [-1, 1]."""
        return self._prototypes

    coverage_pool = 4  # modes are compared after this average pooling (see coverage_groups)

    @property
    def coverage_radius(self) -> float:
        """L2 radius (after ``coverage_pool`` pooling) within which a sample counts for a mode.

        Half the smallest distance between two modes of one class: a sample within it is nearer to that mode than
        to any other.
        """
        flat = F.avg_pool2d(self._prototypes.flatten(0, 1), self.coverage_pool).reshape(*self._prototypes.shape[:2], -1)
        return 0.5 * float(torch.stack([torch.pdist(flat[c]).min() for c in range(self.num_classes)]).min())

    def image(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        """Item ``index``'s image: its prototype plus fixed pixel noise, (3, S, S) in [-1, 1]."""
        gen = torch.Generator().manual_seed(derive_seed(_SPLIT_SEEDS[self.split], -1, index))
        noise = torch.randn(3, self.size, self.size, generator=gen)
        proto = self._prototypes[self.class_ids[index], self.mode_of(index)]
        return (proto + _NOISE * noise).clamp_(-1.0, 1.0)
