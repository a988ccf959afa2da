"""An empty feature or latent dimension is refused by every entry point, naming the input and its shape.

A distance between samples with no element is a mean over nothing: before this check every entry point returned NaN.
Empty batches keep their own rules (an error for the losses, an empty result for the ops).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.helpers import DISTANCES, randn
from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, mode_seeking_loss, mode_seeking_loss_all_pairs, ops

Z1, Z2 = randn(4, 8, seed=0), randn(4, 8, seed=1)
X1, X2 = randn(4, 3, 5, seed=2), randn(4, 3, 5, seed=3)
EMPTY_X = torch.zeros(4, 3, 0)
EMPTY_Z = torch.zeros(4, 0)


def _message(name: str, shape: str, dim: int, what: str = "feature") -> str:
    return (
        rf"{name} has an empty {what} dimension: shape {shape} \(dimension {dim} has size 0\), so its samples hold no "
        r"element to measure a distance on"
    )


PAIRED = [
    ("empty outputs", (Z1, Z2, EMPTY_X, EMPTY_X), _message("x1", r"\(4, 3, 0\)", 2)),
    ("empty latents", (EMPTY_Z, EMPTY_Z, X1, X2), _message("z1", r"\(4, 0\)", 1, "latent")),
    ("one empty layer", (Z1, Z2, [X1, EMPTY_X], [X2, EMPTY_X]), _message(r"x1\[1\]", r"\(4, 3, 0\)", 2)),
    ("empty middle dimension", (Z1, Z2, torch.zeros(4, 0, 5), torch.zeros(4, 0, 5)), _message("x1", r"\(4, 0, 5\)", 1)),
]


@pytest.mark.parametrize("distance", [*DISTANCES, lambda a, b: (a - b).abs().flatten(1).sum(1)])
@pytest.mark.parametrize(("args", "message"), [c[1:] for c in PAIRED], ids=[c[0] for c in PAIRED])
def test_paired_loss_and_module(args, message, distance):
    options = {"distance": distance, "latent_distance": distance}
    with pytest.raises(ValueError, match=message):
        mode_seeking_loss(*args, **options)
    with pytest.raises(ValueError, match=message):
        ModeSeekingLoss(**options)(*args)


ALL_PAIRS = [
    ("empty outputs", (randn(3, 4, 8), torch.zeros(3, 4, 2, 0)), _message("x", r"\(3, 4, 2, 0\)", 3)),
    ("empty latents", (torch.zeros(3, 4, 0), randn(3, 4, 5)), _message("z", r"\(3, 4, 0\)", 2, "latent")),
    (
        "one empty layer",
        (randn(3, 4, 8), [randn(3, 4, 5), torch.zeros(3, 4, 0)]),
        _message(r"x\[1\]", r"\(3, 4, 0\)", 2),
    ),
]


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize(("args", "message"), [c[1:] for c in ALL_PAIRS], ids=[c[0] for c in ALL_PAIRS])
def test_all_pairs_loss_and_module(args, message, distance):
    with pytest.raises(ValueError, match=message):
        mode_seeking_loss_all_pairs(*args, distance=distance, latent_distance=distance)
    with pytest.raises(ValueError, match=message):
        ModeSeekingLoss(distance=distance, latent_distance=distance).all_pairs(*args)


@pytest.mark.parametrize("backend", ["auto", "torch", "triton"])
@pytest.mark.parametrize("kind", DISTANCES)
def test_ops(kind, backend):
    """Refused before any backend is chosen: no NaN from the reference, no Triton error for CPU tensors."""
    with pytest.raises(ValueError, match=_message("x1", r"\(2, 0\)", 1)):
        ops.paired_distance(torch.zeros(2, 0), torch.zeros(2, 0), kind, backend=backend)
    with pytest.raises(ValueError, match=r"x1 and x2 must have the same shape; got x1 \(2, 1\) and x2 \(2, 0\)"):
        ops.paired_distance(torch.zeros(2, 1), torch.zeros(2, 0), kind, backend=backend)
    with pytest.raises(ValueError, match=_message("x", r"\(3, 2, 4, 0\)", 3)):
        ops.pairwise_distance(torch.zeros(3, 2, 4, 0), kind, backend=backend)


def test_batch_rules_are_unchanged():
    with pytest.raises(ValueError, match=r"the batch is empty: z1 has shape \(0, 0\)"):
        mode_seeking_loss(torch.zeros(0, 0), torch.zeros(0, 0), torch.zeros(0, 3), torch.zeros(0, 3))
    with pytest.raises(ValueError, match=r"the batch is empty: z has shape \(3, 0, 0\)"):
        mode_seeking_loss_all_pairs(torch.zeros(3, 0, 0), torch.zeros(3, 0, 2))
    assert ops.paired_distance(torch.zeros(0, 3), torch.zeros(0, 3), "l2").shape == (0,)
    assert ops.pairwise_distance(torch.zeros(3, 0, 2), "mse").shape == (0, 3, 3)


class Passthrough(nn.Module):
    """Returns its input scaled by a parameter; the latent only has to be there."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x, z):
        return self.scale * x + 0.0 * z.sum()


@pytest.mark.parametrize(
    ("x", "z", "message"),
    [
        (randn(4, 3), torch.zeros(4, 0), _message("the captured latent", r"\(4, 0\)", 1, "latent")),
        (torch.zeros(4, 2, 0), randn(4, 8), _message("the captured output", r"\(4, 2, 0\)", 2)),
    ],
    ids=["empty latent", "empty output"],
)
def test_hook(x, z, message):
    module = Passthrough()
    hook = ModeSeekingHook(module, check_pairs="never")  # x is the output here, not a condition
    module(x, z=z)
    with pytest.raises(ValueError, match=message):
        hook.loss()


def test_hook_with_a_list_output():
    module = Passthrough()
    hook = ModeSeekingHook(module, output=lambda out: [out, out[:, :0]], check_pairs="never")
    module(randn(4, 3), z=randn(4, 8))
    with pytest.raises(ValueError, match=_message(r"the captured output\[1\]", r"\(4, 0\)", 1)):
        hook.loss()
