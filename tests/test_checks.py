"""Every bad input is refused with the documented error type and a message naming the argument and the values."""

from __future__ import annotations

import re

import pytest
import torch

from tests.helpers import batch, randn
from torch_modeseek import ModeSeekingLoss, mode_seeking_loss, mode_seeking_loss_all_pairs

Z1, Z2, X1, X2 = batch(4, 8, (3, 4, 4))

PAIRED_CASES = [
    # (description, args, kwargs, error, message regex)
    (
        "x2 batch 1 against x1 batch 4",
        (Z1, Z2, X1, X2[:1]),
        {},
        ValueError,
        r"x1 and x2 must have the same shape; got x1: \(4, 3, 4, 4\) and x2: \(1, 3, 4, 4\)",
    ),
    ("x shapes differ", (Z1, Z2, X1, X2[:, :2]), {}, ValueError, r"x1: \(4, 3, 4, 4\) and x2: \(4, 2, 4, 4\)"),
    (
        "z shapes differ",
        (Z1, Z2[:, :4], X1, X2),
        {},
        ValueError,
        r"z1 and z2 must have the same shape; got z1: \(4, 8\) and z2: \(4, 4\)",
    ),
    (
        "z and x batch differ",
        (Z1[:2], Z2[:2], X1, X2),
        {},
        ValueError,
        r"z and x must have the same batch size; got z1: \(2, 8\) \(batch 2\) and x1: \(4, 3, 4, 4\) \(batch 4\)",
    ),
    ("empty batch", (Z1[:0], Z2[:0], X1[:0], X2[:0]), {}, ValueError, r"the batch is empty: z1 has shape \(0, 8\)"),
    ("0-d latent", (Z1[0, 0], Z2[0, 0], X1, X2), {}, ValueError, r"z1 must have a batch dimension; got a 0-d tensor"),
    (
        "integer outputs",
        (Z1, Z2, X1.long(), X2.long()),
        {},
        TypeError,
        r"x1 must be a floating-point tensor; got dtype torch.int64",
    ),
    (
        "bool outputs",
        (Z1, Z2, X1 > 0, X2 > 0),
        {},
        TypeError,
        r"x1 must be a floating-point tensor; got dtype torch.bool",
    ),
    (
        "integer latents",
        (Z1.int(), Z2.int(), X1, X2),
        {},
        TypeError,
        r"z1 must be a floating-point tensor; got dtype torch.int32",
    ),
    (
        "complex outputs",
        (Z1, Z2, X1.to(torch.complex64), X2.to(torch.complex64)),
        {},
        TypeError,
        r"x1 must be a floating-point tensor; got dtype torch.complex64",
    ),
    ("numpy latent", (Z1.numpy(), Z2, X1, X2), {}, TypeError, r"z1 must be a torch.Tensor; got ndarray"),
    (
        "different devices",
        (Z1, Z2, X1, X2.to("meta")),
        {},
        ValueError,
        r"all inputs must be on the same device; got z1 on cpu, z2 on cpu, x1 on cpu, x2 on meta",
    ),
    (
        "tensor against sequence",
        (Z1, Z2, X1, [X2]),
        {},
        TypeError,
        r"x1 and x2 must both be tensors or both be sequences of tensors; got Tensor and list",
    ),
    (
        "sequences of different lengths",
        (Z1, Z2, [X1, X1], [X2]),
        {},
        ValueError,
        r"x1 and x2 must be sequences of the same length \(one tensor per feature layer\); got 2 and 1",
    ),
    ("empty sequences", (Z1, Z2, [], []), {}, ValueError, r"x1 and x2 must hold at least one tensor"),
    (
        "layer shapes differ",
        (Z1, Z2, [X1, X1], [X2, X2[:, :1]]),
        {},
        ValueError,
        r"x1\[1\] and x2\[1\] must have the same shape; got x1\[1\]: \(4, 3, 4, 4\) and x2\[1\]: \(4, 1, 4, 4\)",
    ),
    (
        "layer batch differs",
        (Z1, Z2, [X1, X1[:2]], [X2, X2[:2]]),
        {},
        ValueError,
        r"z and x must have the same batch size; got z1: \(4, 8\) \(batch 4\) and x1\[1\]: \(2, 3, 4, 4\) \(batch 2\)",
    ),
    (
        "unknown distance",
        (Z1, Z2, X1, X2),
        {"distance": "l3"},
        ValueError,
        r"distance must be one of 'l1', 'l2', 'mse', 'cosine' or a callable .*; got 'l3'",
    ),
    (
        "distance of wrong type",
        (Z1, Z2, X1, X2),
        {"distance": 1},
        TypeError,
        r"distance must be one of 'l1', 'l2', 'mse', 'cosine' or a callable .*; got int",
    ),
    (
        "unknown latent distance",
        (Z1, Z2, X1, X2),
        {"latent_distance": "L1"},
        ValueError,
        r"latent_distance must be one of .*; got 'L1'",
    ),
    (
        "unknown form",
        (Z1, Z2, X1, X2),
        {"form": "log"},
        ValueError,
        r"form must be one of 'reciprocal', 'negative', 'clamped', 'inverse'; got 'log'",
    ),
    (
        "unknown reduction",
        (Z1, Z2, X1, X2),
        {"reduction": "mean"},
        ValueError,
        r"reduction must be one of 'batch', 'sample', 'none'; got 'mean'",
    ),
    (
        "reduction of wrong type",
        (Z1, Z2, X1, X2),
        {"reduction": None},
        TypeError,
        r"reduction must be a string, one of 'batch', 'sample', 'none'; got NoneType",
    ),
    (
        "unknown backend",
        (Z1, Z2, X1, X2),
        {"backend": "cuda"},
        ValueError,
        r"backend must be one of 'auto', 'torch', 'triton'; got 'cuda'",
    ),
    (
        "clamped without tau",
        (Z1, Z2, X1, X2),
        {"form": "clamped"},
        ValueError,
        r"form='clamped' needs tau, .*; got tau=None",
    ),
    (
        "tau without clamped",
        (Z1, Z2, X1, X2),
        {"tau": 2.0},
        ValueError,
        r"tau is only used by form='clamped'; got tau=2.0 with form='reciprocal'",
    ),
    (
        "negative tau",
        (Z1, Z2, X1, X2),
        {"form": "clamped", "tau": -1.0},
        ValueError,
        r"tau must be a positive finite number; got -1.0",
    ),
    ("zero eps", (Z1, Z2, X1, X2), {"eps": 0.0}, ValueError, r"eps must be a positive finite number; got 0.0"),
    ("negative eps", (Z1, Z2, X1, X2), {"eps": -1e-5}, ValueError, r"eps must be a positive finite number; got -1e-05"),
    ("nan eps", (Z1, Z2, X1, X2), {"eps": float("nan")}, ValueError, r"eps must be a positive finite number; got nan"),
    ("eps as a string", (Z1, Z2, X1, X2), {"eps": "1e-5"}, TypeError, r"eps must be a positive finite number; got str"),
    (
        "eps as a tensor",
        (Z1, Z2, X1, X2),
        {"eps": torch.tensor(1e-5)},
        TypeError,
        r"eps must be a positive finite number; got Tensor",
    ),
    (
        "detach_second not a bool",
        (Z1, Z2, X1, X2),
        {"detach_second": 1},
        TypeError,
        r"detach_second must be a bool; got int",
    ),
]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"), [c[1:] for c in PAIRED_CASES], ids=[c[0] for c in PAIRED_CASES]
)
def test_paired_bad_inputs(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        mode_seeking_loss(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"), [c[2:] for c in PAIRED_CASES if c[2]], ids=[c[0] for c in PAIRED_CASES if c[2]]
)
def test_module_refuses_bad_options_when_built(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModeSeekingLoss(**kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        ModeSeekingLoss("l2")
    with pytest.raises(TypeError):
        mode_seeking_loss(Z1, Z2, X1, X2, "l2")


def test_callable_distance_of_wrong_shape():
    def whole_batch(a, b):
        return (a - b).abs().mean()

    with pytest.raises(
        ValueError,
        match=re.escape(
            "distance callable whole_batch must return per-sample distances of shape (4,) for inputs of shape "
            "(4, 3, 4, 4); got ()"
        ),
    ):
        mode_seeking_loss(Z1, Z2, X1, X2, distance=whole_batch)


def test_callable_distance_returning_a_non_tensor():
    with pytest.raises(
        TypeError,
        match=r"latent_distance callable <lambda> must return a torch.Tensor of shape \(4,\); "
        r"got float",
    ):
        mode_seeking_loss(Z1, Z2, X1, X2, latent_distance=lambda a, b: 1.0)


def test_callable_distance_returning_integers():
    with pytest.raises(
        TypeError,
        match=r"distance callable <lambda> must return a floating-point tensor; got dtype "
        r"torch.int64",
    ):
        mode_seeking_loss(Z1, Z2, X1, X2, distance=lambda a, b: torch.ones(4, dtype=torch.long))


Z = randn(3, 4, 8)
X = randn(3, 4, 2, 5)
ALL_PAIRS_CASES = [
    (
        "one sample per condition",
        (Z[:1], X[:1]),
        ValueError,
        r"the all-pairs loss needs S >= 2 samples per condition; got z of shape \(1, 4, 8\) \(S=1\)",
    ),
    (
        "z without a batch dimension",
        (Z[0, 0], X),
        ValueError,
        r"z must have a sample and a batch dimension \(S, B, \.\.\.\); got a 1-d tensor of shape \(8,\)",
    ),
    (
        "x with another S",
        (Z, X[:2]),
        ValueError,
        r"z and x must share their leading \(S, B\) dimensions; got z: \(3, 4, 8\) and x: \(2, 4, 2, 5\)",
    ),
    ("x with another B", (Z, X[:, :3]), ValueError, r"got z: \(3, 4, 8\) and x: \(3, 3, 2, 5\)"),
    ("empty batch", (Z[:, :0], X[:, :0]), ValueError, r"the batch is empty: z has shape \(3, 0, 8\)"),
    ("integer x", (Z, X.long()), TypeError, r"x must be a floating-point tensor; got dtype torch.int64"),
    ("empty sequence", (Z, []), ValueError, r"x must hold at least one tensor; got an empty sequence"),
    ("layer with another B", (Z, [X, X[:, :1]]), ValueError, r"z and x\[1\] must share their leading \(S, B\)"),
    (
        "different devices",
        (Z, X.to("meta")),
        ValueError,
        r"all inputs must be on the same device; got z on cpu, x on meta",
    ),
]


@pytest.mark.parametrize(
    ("args", "error", "message"), [c[1:] for c in ALL_PAIRS_CASES], ids=[c[0] for c in ALL_PAIRS_CASES]
)
def test_all_pairs_bad_inputs(args, error, message):
    with pytest.raises(error, match=message):
        mode_seeking_loss_all_pairs(*args)


def test_all_pairs_checks_options():
    with pytest.raises(ValueError, match=r"form must be one of"):
        mode_seeking_loss_all_pairs(Z, X, form="log")
