"""LPIPS diversity (Zhang et al., CVPR 2018) from user-supplied weights; nothing is ever downloaded.

LPIPS between images x1, x2 in [-1, 1]: scale the input with the fixed shift/scale below, run an ImageNet backbone
(AlexNet or VGG16), take L = 5 ReLU feature maps, normalise every spatial feature vector to unit L2 norm (eps 1e-10),
and sum over layers ``mean_{h,w} sum_c w_lc (n1_lchw - n2_lchw)^2`` with the learned non-negative linear weights w_l.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from torch_modeseek.metrics._accumulator import Accumulator
from torch_modeseek.metrics._checks import MissingWeightsError, check_floating_tensor
from torch_modeseek.metrics.diversity import diversity

__all__ = ["LPIPSDiversity", "LPIPSNetwork"]

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# name -> ((out, kernel, stride, padding) convs and "M" pools, tapped ReLU indices, LPIPS v0.1 and torchvision files)
_NETS: dict[str, tuple[list[Any], tuple[int, ...], str, str]] = {
    "alex": (
        [(64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)],
        (1, 4, 7, 9, 11),
        "alex.pth",
        "alexnet-owt-7be5be79.pth",
    ),
    "vgg": (
        [c if c == "M" else (c, 3, 1, 1) for c in _VGG16],
        (3, 8, 15, 22, 29),
        "vgg.pth",
        "vgg16-397923af.pth",
    ),
}


def _weights_help(net: str, missing: str) -> str:
    _, _, lin_file, backbone_file = _NETS[net]
    return (
        f"LPIPSDiversity needs pretrained LPIPS weights (missing: {missing}), and torch-modeseek never downloads "
        "them. Either pass network=<nn.Module computing LPIPS distances (x1, x2) -> (N,) for images in [-1, 1], "
        f"e.g. lpips.LPIPS(net='{net}') from the `lpips` package>, or get these two files yourself, put them anywhere "
        f"(e.g. ~/.cache/torch_modeseek/) and pass both: linear_weights='/path/to/{lin_file}' (the LPIPS v0.1 "
        f"linear-layer weights, lpips/weights/v0.1/{lin_file} in the `lpips` package) and "
        f"backbone_weights='/path/to/{backbone_file}' (torchvision's ImageNet state_dict, "
        f"https://download.pytorch.org/models/{backbone_file})."
    )


class LPIPSNetwork(nn.Module):
    """LPIPS distance network (v0.1 layout): backbone ``features`` plus five (1, C, 1, 1) linear weights.

    The layer indices of ``features`` match torchvision's ``alexnet().features`` / ``vgg16().features``, so their
    state_dicts load directly (see :meth:`load_weights`). Freshly constructed, the weights are random.

    Example:
        >>> net = LPIPSNetwork("alex")
        >>> x = torch.zeros(2, 3, 64, 64)
        >>> net(x, x).shape, float(net(x, x).abs().max())
        (torch.Size([2]), 0.0)

    """

    def __init__(self, net: Literal["alex", "vgg"] = "alex") -> None:
        super().__init__()
        if net not in _NETS:
            raise ValueError(f"net must be one of {sorted(_NETS)}, got {net!r}")
        spec, self.taps, _, _ = _NETS[net]
        self.net = net
        layers: list[nn.Module] = []
        channels, widths = 3, []
        for item in spec:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2) if net == "alex" else nn.MaxPool2d(2, 2))
                continue
            out, kernel, stride, padding = item
            layers += [nn.Conv2d(channels, out, kernel, stride, padding), nn.ReLU()]
            channels = out
            if len(layers) - 1 in self.taps:
                widths.append(out)
        self.features = nn.Sequential(*layers)
        for i, width in enumerate(widths):
            self.register_buffer(f"lin{i}", torch.ones(1, width, 1, 1))
        self.register_buffer("shift", torch.tensor(_SHIFT).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).reshape(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    def load_weights(self, backbone: dict[str, torch.Tensor], linear: dict[str, torch.Tensor]) -> None:
        """Load a torchvision backbone state_dict (``features.*`` keys used) and LPIPS linear weights (``lin{i}.*``)."""
        feats = {k.removeprefix("features."): v for k, v in backbone.items() if k.startswith("features.")}
        expected = set(self.features.state_dict())
        if set(feats) != expected:
            missing, extra = sorted(expected - set(feats)), sorted(set(feats) - expected)
            raise ValueError(
                f"backbone_weights does not match torchvision's {self.net} features: missing keys {missing}, "
                f"unexpected keys {extra}"
            )
        self.features.load_state_dict(feats)
        for i in range(len(self.taps)):
            target = getattr(self, f"lin{i}")
            keys = [k for k in linear if k.startswith(f"lin{i}.") and k.endswith("weight")]
            if len(keys) != 1 or linear[keys[0]].shape != target.shape:
                found = {k: tuple(linear[k].shape) for k in keys}
                raise ValueError(
                    f"linear_weights must hold one 'lin{i}.*weight' tensor of shape {tuple(target.shape)}, "
                    f"found {found}"
                )
            target.copy_(linear[keys[0]])

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per pair of (P, 3, H, W) images in [-1, 1]; returns (P,)."""
        for name, x in (("x1", x1), ("x2", x2)):
            if x.ndim != 4 or x.shape[1] != 3:
                raise ValueError(f"LPIPS expects images of shape (N, 3, H, W), got {name} {tuple(x.shape)}")
        if x1.shape != x2.shape:
            raise ValueError(f"x1 and x2 must have the same shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
        h = (torch.cat([x1, x2]) - self.shift) / self.scale
        total = torch.zeros(x1.shape[0], dtype=h.dtype, device=h.device)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.taps:
                unit = h / (h.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                f1, f2 = unit.chunk(2)
                total = total + ((f1 - f2).pow(2) * getattr(self, f"lin{self.taps.index(i)}")).sum(dim=1).mean((1, 2))
            if i == self.taps[-1]:
                break
        return total


def _load(path: str | os.PathLike[str], argument: str, net: str) -> dict[str, torch.Tensor]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{argument} file not found: {os.fspath(path)!r}. {_weights_help(net, argument)}")
    state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{argument} must hold a state_dict (a dict of tensors), got {type(state).__name__}")
    return state


class LPIPSDiversity(Accumulator):
    """The paper's LPIPS diversity: mean LPIPS over random same-condition pairs (higher = more diverse).

    ``LPIPSDiversity(...)(samples)`` applies :func:`diversity` with LPIPS as the pair distance to samples of shape
    (conditions, samples_per_condition, 3, H, W) (the paper: 50 samples and 50 pairs per condition). As the other
    metrics, it also accumulates: ``update(samples)`` per batch of conditions, ``compute()``, ``reset()``, ``sync()``.
    The distance comes from ``network`` (any module ``(x1, x2) -> (P,)`` or ``(P, 1, 1, 1)``, e.g.
    ``lpips.LPIPS(net='alex')``), or from two weight files for the built-in :class:`LPIPSNetwork`: ``linear_weights``
    (LPIPS v0.1 ``alex.pth`` / ``vgg.pth``) and ``backbone_weights`` (torchvision ``alexnet-owt-7be5be79.pth`` /
    ``vgg16-397923af.pth``). With neither, :class:`MissingWeightsError` says which files are needed and which arguments
    take them.

    Args:
        network: user distance module; excludes the weight files.
        net: backbone of the built-in network, ``"alex"`` (default, the LPIPS default) or ``"vgg"``.
        linear_weights: path of the LPIPS linear-layer weights.
        backbone_weights: path of the torchvision backbone state_dict.
        pairs: random pairs per condition.
        generator: CPU generator for the pairs (default: seeded with 0 on every call).
        batch_size: pairs per network call.
        normalize: inputs are in [0, 1] and are mapped to [-1, 1] first (default: inputs already in [-1, 1]).

    Example:
        >>> metric = LPIPSDiversity(network=lambda a, b: (a - b).abs().mean(dim=(1, 2, 3)), pairs=4)
        >>> metric(torch.zeros(2, 3, 3, 8, 8))
        tensor(0.)

    """

    def __init__(
        self,
        network: nn.Module | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        *,
        net: Literal["alex", "vgg"] = "alex",
        linear_weights: str | os.PathLike[str] | None = None,
        backbone_weights: str | os.PathLike[str] | None = None,
        pairs: int = 50,
        generator: torch.Generator | None = None,
        batch_size: int = 32,
        normalize: bool = False,
    ) -> None:
        if net not in _NETS:
            raise ValueError(f"net must be one of {sorted(_NETS)}, got {net!r}")
        files = {"linear_weights": linear_weights, "backbone_weights": backbone_weights}
        if network is not None:
            if any(v is not None for v in files.values()):
                raise ValueError("pass either network or linear_weights/backbone_weights, not both")
            if not callable(network):
                raise TypeError(f"network must be a callable nn.Module, got {type(network).__name__}")
            self.network = network
        else:
            missing = [name for name, value in files.items() if value is None]
            if missing:
                raise MissingWeightsError(_weights_help(net, " and ".join(missing)))
            model = LPIPSNetwork(net)
            model.load_weights(
                _load(backbone_weights, "backbone_weights", net),  # type: ignore[arg-type]
                _load(linear_weights, "linear_weights", net),  # type: ignore[arg-type]
            )
            self.network = model
        self.pairs, self.generator, self.batch_size, self.normalize = pairs, generator, batch_size, bool(normalize)
        super().__init__()  # "distance_sum" and "pairs" over the updates (and the ranks, after sync)

    def distance(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """LPIPS per pair of (P, 3, H, W) images; returns (P,)."""
        check_floating_tensor(x1, "x1", min_ndim=2)
        check_floating_tensor(x2, "x2", min_ndim=2)
        if self.normalize:
            x1, x2 = 2.0 * x1 - 1.0, 2.0 * x2 - 1.0
        if isinstance(self.network, nn.Module):
            self.network.to(x1.device)
        with torch.no_grad():
            out = self.network(x1, x2)
        return out.reshape(x1.shape[0]) if out.numel() == x1.shape[0] else out

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        """Mean LPIPS over ``pairs`` random pairs per condition of (C, S, 3, H, W) samples; a 0-d tensor."""
        return diversity(
            samples, distance=self.distance, pairs=self.pairs, generator=self.generator, batch_size=self.batch_size
        )

    def update(self, samples: torch.Tensor) -> None:
        """Add the LPIPS of ``pairs`` random pairs per condition of a batch of conditions (C, S, 3, H, W)."""
        mean = self(samples)
        pairs = samples.shape[0] * self.pairs
        self._sums.add("distance_sum", mean.double() * pairs)
        self._sums.add("pairs", torch.tensor(pairs, dtype=torch.int64, device=mean.device))

    def compute(self) -> torch.Tensor:
        """Mean LPIPS over every pair of every update (of every rank after :meth:`sync`); 0-d float64."""
        pairs = self._sums.get("pairs")
        if pairs is None or int(pairs) == 0:
            raise ValueError("LPIPSDiversity.compute() needs samples: call update(samples) first")
        return self._sums.get("distance_sum") / pairs
