from __future__ import annotations

from pathlib import Path

import pytest
import torch

from torch_modeseek.metrics import LPIPSDiversity, LPIPSNetwork, MissingWeightsError, diversity

# torchvision's AlexNet `features` parameter layout (index: weight shape), which the backbone file must match
ALEX_SHAPES = {0: (64, 3, 11, 11), 3: (192, 64, 5, 5), 6: (384, 192, 3, 3), 8: (256, 384, 3, 3), 10: (256, 256, 3, 3)}


def _weight_files(tmp_path: Path, net: str = "alex", seed: int = 0) -> tuple[Path, Path, LPIPSNetwork]:
    """Random weights saved in the on-disk formats: torchvision state_dict and LPIPS v0.1 `lin{i}.model.1.weight`."""
    torch.manual_seed(seed)
    source = LPIPSNetwork(net)
    for module in source.features:
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.1)
            torch.nn.init.normal_(module.bias, std=0.1)
    backbone = {f"features.{k}": v for k, v in source.features.state_dict().items()}
    backbone["classifier.1.weight"] = torch.zeros(4, 4)  # torchvision files also hold the classifier: ignored
    linear = {f"lin{i}.model.1.weight": torch.rand(getattr(source, f"lin{i}").shape) for i in range(5)}
    torch.save(backbone, tmp_path / f"{net}_backbone.pth")
    torch.save(linear, tmp_path / f"{net}.pth")
    for i in range(5):
        getattr(source, f"lin{i}").copy_(linear[f"lin{i}.model.1.weight"])
    return tmp_path / f"{net}.pth", tmp_path / f"{net}_backbone.pth", source


def _reference_lpips(net: LPIPSNetwork, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """LPIPS written out from the paper: per layer, unit-normalise channels, weight squared differences, average."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).reshape(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).reshape(1, 3, 1, 1)
    out = torch.zeros(x1.shape[0])
    for layer, tap in enumerate(net.taps):
        f1 = net.features[: tap + 1]((x1 - shift) / scale)
        f2 = net.features[: tap + 1]((x2 - shift) / scale)
        n1 = f1 / (f1.norm(dim=1, keepdim=True) + 1e-10)
        n2 = f2 / (f2.norm(dim=1, keepdim=True) + 1e-10)
        w = getattr(net, f"lin{layer}").reshape(-1)
        out += torch.einsum("c,pchw->phw", w, (n1 - n2) ** 2).mean(dim=(1, 2))
    return out


def test_alexnet_layout_matches_torchvision() -> None:
    shapes = {k: tuple(v.shape) for k, v in LPIPSNetwork("alex").features.state_dict().items()}
    assert shapes == {
        **{f"{i}.weight": s for i, s in ALEX_SHAPES.items()},
        **{f"{i}.bias": (s[0],) for i, s in ALEX_SHAPES.items()},
    }
    vgg = LPIPSNetwork("vgg").features.state_dict()
    assert sorted(int(k.split(".")[0]) for k in vgg if k.endswith("weight")) == [
        0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28,
    ]  # fmt: skip


def test_loaded_network_matches_the_formula_and_is_a_distance(tmp_path: Path) -> None:
    lin, backbone, source = _weight_files(tmp_path)
    metric = LPIPSDiversity(linear_weights=lin, backbone_weights=backbone)
    gen = torch.Generator().manual_seed(1)
    x1, x2 = torch.rand(3, 3, 64, 64, generator=gen) * 2 - 1, torch.rand(3, 3, 64, 64, generator=gen) * 2 - 1
    d = metric.distance(x1, x2)
    assert d.shape == (3,)
    torch.testing.assert_close(d, _reference_lpips(source, x1, x2), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(d, metric.distance(x2, x1), rtol=1e-5, atol=1e-7)
    assert bool((d > 0).all())
    assert float(metric.distance(x1, x1).abs().max()) == 0.0


def test_vgg_backbone(tmp_path: Path) -> None:
    lin, backbone, source = _weight_files(tmp_path, "vgg")
    metric = LPIPSDiversity(net="vgg", linear_weights=lin, backbone_weights=backbone)
    gen = torch.Generator().manual_seed(2)
    x1, x2 = torch.rand(2, 3, 32, 32, generator=gen), torch.rand(2, 3, 32, 32, generator=gen)
    torch.testing.assert_close(metric.distance(x1, x2), _reference_lpips(source, x1, x2), rtol=1e-4, atol=1e-6)


def test_diversity_protocol_with_loaded_weights(tmp_path: Path) -> None:
    lin, backbone, _ = _weight_files(tmp_path)
    metric = LPIPSDiversity(linear_weights=lin, backbone_weights=backbone, pairs=3, batch_size=2)
    samples = torch.rand(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    value = metric(samples)
    assert value.ndim == 0
    assert float(value) > 0
    torch.testing.assert_close(value, diversity(samples, distance=metric.distance, pairs=3))
    collapsed = samples[:, :1].expand(2, 4, 3, 32, 32)
    assert float(metric(collapsed)) == 0.0


def test_user_network_and_normalize() -> None:
    seen: list[float] = []

    def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append(float(torch.cat([a, b]).min()))
        return (a - b).abs().mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1)  # lpips.LPIPS returns (N, 1, 1, 1)

    samples = torch.rand(3, 5, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    plain = LPIPSDiversity(network=l1, pairs=6)(samples)
    torch.testing.assert_close(plain, diversity(samples, pairs=6))
    scaled = LPIPSDiversity(network=l1, pairs=6, normalize=True)(samples)
    torch.testing.assert_close(scaled, 2 * plain)  # [0, 1] -> [-1, 1] doubles the L1 distance
    assert min(seen) < -0.9


# ---------------------------------------------------------------- errors
def test_no_weights_names_the_files_and_the_arguments() -> None:
    with pytest.raises(MissingWeightsError, match="missing: linear_weights and backbone_weights") as info:
        LPIPSDiversity()
    message = str(info.value)
    for needed in ("alex.pth", "alexnet-owt-7be5be79.pth", "linear_weights='", "backbone_weights='", "network="):
        assert needed in message
    assert "never downloads" in message
    with pytest.raises(MissingWeightsError, match=r"vgg16-397923af\.pth"):
        LPIPSDiversity(net="vgg")


def test_only_one_file_given(tmp_path: Path) -> None:
    lin, _, _ = _weight_files(tmp_path)
    with pytest.raises(MissingWeightsError, match=r"missing: backbone_weights\)"):
        LPIPSDiversity(linear_weights=lin)


def test_missing_and_wrong_files(tmp_path: Path) -> None:
    lin, backbone, _ = _weight_files(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"backbone_weights file not found: .*nope\.pth"):
        LPIPSDiversity(linear_weights=lin, backbone_weights=tmp_path / "nope.pth")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad_backbone.pth")
    with pytest.raises(ValueError, match=r"does not match torchvision's alex features: missing keys \['0.bias'"):
        LPIPSDiversity(linear_weights=lin, backbone_weights=tmp_path / "bad_backbone.pth")
    torch.save({"lin0.model.1.weight": torch.zeros(1, 3, 1, 1)}, tmp_path / "bad_lin.pth")
    with pytest.raises(ValueError, match=r"one 'lin0.\*weight' tensor of shape \(1, 64, 1, 1\)"):
        LPIPSDiversity(linear_weights=tmp_path / "bad_lin.pth", backbone_weights=backbone)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="linear_weights must hold a state_dict"):
        LPIPSDiversity(linear_weights=tmp_path / "list.pth", backbone_weights=backbone)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"net": "resnet"}, ValueError, r"net must be one of \['alex', 'vgg'\], got 'resnet'"),
        ({"network": abs, "linear_weights": "a.pth"}, ValueError, "either network or linear_weights"),
        ({"network": 5}, TypeError, "network must be a callable"),
    ],
)
def test_constructor_errors(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        LPIPSDiversity(**kwargs)  # type: ignore[arg-type]


def test_network_input_checks() -> None:
    net = LPIPSNetwork("alex")
    with pytest.raises(ValueError, match=r"images of shape \(N, 3, H, W\), got x1 \(2, 1, 64, 64\)"):
        net(torch.zeros(2, 1, 64, 64), torch.zeros(2, 1, 64, 64))
    with pytest.raises(ValueError, match="x1 and x2 must have the same shape"):
        net(torch.zeros(2, 3, 64, 64), torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="net must be one of"):
        LPIPSNetwork("resnet")  # type: ignore[arg-type]
