"""DRIT's networks (Lee et al., ECCV 2018), as MSGAN's DRIT code builds them, with the widths as parameters.

The official code fixes the widths (64 encoder/discriminator channels, 256-channel content codes, an 8-d attribute);
here ``ngf`` scales the encoders and generators (content codes have ``4 ngf`` channels: 256 at the official 64),
``ndf`` the multi-scale discriminators and ``nz`` the attribute. Layer order, padding (reflection), normalisation
(InstanceNorm without affine parameters; LayerNorm in the upsampling layers), activations (LeakyReLU with the
default slope 0.01 in ``LeakyReLUConv2d`` layers, 0.2 in the VAE attribute encoder, ReLU elsewhere) follow the
official ``networks.py``. Its content discriminator asks for InstanceNorm through a check that is always false
(``'norm' == 'Instance'``), so, as there, it has none. :func:`official_rules` spells our state-dict keys as the
official ones, so its checkpoints load (``examples.common.official_checkpoints``).
"""

from __future__ import annotations

import itertools
import re

import torch
import torch.nn.functional as F
from torch import nn

from examples.common.official_checkpoints import Rule

__all__ = [
    "AttributeEncoders",
    "ContentDiscriminator",
    "ContentEncoders",
    "Generators",
    "MultiScaleDiscriminator",
    "official_rules",
]


def leaky_conv(cin: int, cout: int, kernel: int, stride: int, pad: int) -> nn.Sequential:
    """``LeakyReLUConv2d``: reflection pad, conv (with bias), LeakyReLU(0.01)."""
    return nn.Sequential(nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, kernel, stride), nn.LeakyReLU(0.01, True))


def relu_in_conv(cin: int, cout: int, kernel: int, stride: int, pad: int) -> nn.Sequential:
    """``ReLUINSConv2d``: reflection pad, conv, InstanceNorm, ReLU."""
    return nn.Sequential(nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, kernel, stride), nn.InstanceNorm2d(cout),
                         nn.ReLU(True))  # fmt: skip


def conv3x3(cin: int, cout: int) -> nn.Sequential:
    """Reflection pad 1, 3x3 conv."""
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3))


class INResBlock(nn.Module):
    """``INSResBlock``: x + IN(conv3x3(ReLU(IN(conv3x3(x)))))."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(ch, ch), nn.InstanceNorm2d(ch), nn.ReLU(True), conv3x3(ch, ch),
                                  nn.InstanceNorm2d(ch))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update of x (B, ch, H, W)."""
        return x + self.body(x)


def up_layer(cin: int, cout: int, upsample: str) -> nn.Sequential:
    """``ReLUINSConvTranspose2d``: 3x3 stride-2 transposed conv (or nearest resize + 3x3 conv), LayerNorm, ReLU.

    LayerNorm over (C, H, W) with per-channel scale and shift is ``GroupNorm`` with one group.
    """
    if upsample == "nearest":  # resize-convolution: no checkerboard from uneven kernel overlap (short runs)
        up: nn.Module = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1))
    else:
        up = nn.ConvTranspose2d(cin, cout, 3, 2, 1, 1)
    return nn.Sequential(up, nn.GroupNorm(1, cout), nn.ReLU(True))


def tile(z: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Codes (B, nz) as constant (B, nz, H, W) planes the size of ``like``."""
    return z[:, :, None, None].expand(-1, -1, *like.shape[2:]).to(like.dtype)


class ContentEncoders(nn.Module):
    """``E_content``: per domain 7x7 conv, two stride-2 convs, 3 IN residual blocks; then a SHARED block + noise."""

    def __init__(self, ngf: int) -> None:
        super().__init__()

        def private() -> nn.Sequential:
            downs = [relu_in_conv(ngf, 2 * ngf, 3, 2, 1), relu_in_conv(2 * ngf, 4 * ngf, 3, 2, 1)]
            return nn.Sequential(leaky_conv(3, ngf, 7, 1, 3), *downs, *[INResBlock(4 * ngf) for _ in range(3)])

        self.private = nn.ModuleDict({"A": private(), "B": private()})
        self.shared = INResBlock(4 * ngf)

    def encode(self, x: torch.Tensor, domain: str, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Content code of images ``x`` of ``domain``; ``noise`` (the code's shape; DRIT's GaussianNoiseLayer)."""
        h = self.shared(self.private[domain](x))
        return h if noise is None else h + noise.to(h.dtype)

    def forward(self, a: torch.Tensor, b: torch.Tensor, noise_a=None, noise_b=None) -> tuple[torch.Tensor, ...]:
        """Content codes of a domain-A and a domain-B batch."""
        return self.encode(a, "A", noise_a), self.encode(b, "B", noise_b)


class BasicBlock(nn.Module):
    """BicycleGAN's residual down block: [LReLU, conv3x3, LReLU, conv3x3, avgpool] + [avgpool, conv1x1]."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.conv = nn.Sequential(act, conv3x3(cin, cin), act, conv3x3(cin, cout), nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, H, W) -> (B, cout, H/2, W/2)."""
        return self.conv(x) + self.shortcut(x)


class AttributeEncoders(nn.Module):
    """Both domains' attribute encoders: ``E_attr_concat`` (VAE: mu, logvar) or ``E_attr`` (a deterministic code)."""

    def __init__(self, ngf: int, nz: int, vae: bool) -> None:
        super().__init__()
        self.vae = vae

        def vae_trunk() -> nn.Module:  # widths ngf, 2, 3, 4 ngf; two linear heads
            widths = [ngf * min(4, n) for n in range(1, 5)]
            blocks = [BasicBlock(cin, cout) for cin, cout in itertools.pairwise(widths)]
            trunk = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(3, ngf, 4, 2), *blocks, nn.LeakyReLU(0.2),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())  # fmt: skip
            return nn.ModuleDict({"trunk": trunk, "mu": nn.Linear(widths[-1], nz), "logvar": nn.Linear(widths[-1], nz)})

        def code_trunk() -> nn.Module:  # 7x7 conv, four stride-2 convs (ReLU), pool, 1x1 conv
            layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.ReLU(True)]
            for cin, cout in ((ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 4 * ngf), (4 * ngf, 4 * ngf)):
                layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 4, 2), nn.ReLU(True)]
            return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Conv2d(4 * ngf, nz, 1), nn.Flatten())

        self.nets = nn.ModuleDict({d: vae_trunk() if vae else code_trunk() for d in "AB"})

    def encode(self, x: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mu, logvar)`` of the VAE variant, or ``(code, None)``."""
        net = self.nets[domain]
        if not self.vae:
            return net(x), None
        h = net["trunk"](x)
        return net["mu"](h), net["logvar"](h)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor | None], ...]:
        """Attribute codes of a domain-A and a domain-B batch."""
        return self.encode(a, "A"), self.encode(b, "B")


class ConcatDecoder(nn.Module):
    """``G_concat``'s decoder for one domain: shared block, z ++ 3 IN blocks, (z ++ up) x 2, z ++ 1x1 conv, tanh."""

    def __init__(self, shared: nn.Module, ch: int, nz: int, upsample: str) -> None:
        super().__init__()
        self.shared = shared  # the same module in both domains' decoders
        self.blocks = nn.Sequential(*[INResBlock(ch + nz) for _ in range(3)])
        w1 = ch + 2 * nz
        w2 = w1 // 2 + nz
        self.up1, self.up2 = up_layer(w1, w1 // 2, upsample), up_layer(w2, w2 // 2, upsample)
        self.out = nn.Sequential(nn.ConvTranspose2d(w2 // 2 + nz, 3, 1), nn.Tanh())

    def forward(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Content codes (B, 4 ngf, H/4, W/4) and attribute codes (B, nz) -> images (B, 3, H, W) in [-1, 1]."""
        h = self.shared(content)
        h = self.blocks(torch.cat([h, tile(z, h)], 1))
        h = self.up1(torch.cat([h, tile(z, h)], 1))
        h = self.up2(torch.cat([h, tile(z, h)], 1))
        return self.out(torch.cat([h, tile(z, h)], 1))


class AttributeResBlock(nn.Module):
    """``MisINSResBlock``: IN(conv3x3), then [. ++ z] -> 1x1 convs with ReLU, twice; plus the residual."""

    def __init__(self, ch: int, extra: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(conv3x3(ch, ch), nn.InstanceNorm2d(ch))
        self.conv2 = nn.Sequential(conv3x3(ch, ch), nn.InstanceNorm2d(ch))

        def mix() -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(ch + extra, ch + extra, 1), nn.ReLU(), nn.Conv2d(ch + extra, ch, 1),
                                 nn.ReLU())  # fmt: skip

        self.mix1, self.mix2 = mix(), mix()

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Features (B, ch, H, W) and this block's code (B, extra)."""
        h = self.mix1(torch.cat([self.conv1(x), tile(code, x)], 1))
        return x + self.mix2(torch.cat([self.conv2(h), tile(code, x)], 1))


class TransformDecoder(nn.Module):
    """``G``'s decoder for one domain (cat2dog): an MLP maps z to 4 codes for 4 attribute blocks, then 2 ups, tanh."""

    def __init__(self, ch: int, nz: int, upsample: str) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(nz, 256), nn.ReLU(True), nn.Linear(256, 256), nn.ReLU(True),
                                 nn.Linear(256, 4 * ch))  # fmt: skip
        self.blocks = nn.ModuleList([AttributeResBlock(ch, ch) for _ in range(4)])
        self.up = nn.Sequential(up_layer(ch, ch // 2, upsample), up_layer(ch // 2, ch // 4, upsample))
        self.out = nn.Sequential(nn.ConvTranspose2d(ch // 4, 3, 1), nn.Tanh())

    def forward(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Content codes (B, 4 ngf, H/4, W/4) and attribute codes (B, nz) -> images (B, 3, H, W) in [-1, 1]."""
        h = content
        for block, code in zip(self.blocks, self.mlp(z).chunk(4, dim=1), strict=True):
            h = block(h, code)
        return self.out(self.up(h))


class Generators(nn.Module):
    """Both domains' decoders (DRIT's ``G_concat`` with its shared first block, or ``G``); ``decoders[d]`` -> domain d.

    Each decoder is its own module, so a :class:`~torch_modeseek.ModeSeekingHook` can watch one direction.
    """

    def __init__(self, ngf: int, nz: int, concat: bool, upsample: str = "deconv") -> None:
        super().__init__()
        ch = 4 * ngf
        if concat:
            shared = INResBlock(ch)
            self.decoders = nn.ModuleDict({d: ConcatDecoder(shared, ch, nz, upsample) for d in "AB"})
        else:
            self.decoders = nn.ModuleDict({d: TransformDecoder(ch, nz, upsample) for d in "AB"})

    def forward(self, content: torch.Tensor, z: torch.Tensor, domain: str) -> torch.Tensor:
        """Translate content codes with attribute codes ``z`` into ``domain`` ("A" or "B")."""
        return self.decoders[domain](content, z)


class MultiScaleDiscriminator(nn.Module):
    """``MultiScaleDis``: per scale ``layers`` stride-2 LeakyReLU convs and a 1x1 logit; 3 scales, 2x avg pooling."""

    def __init__(self, ndf: int, layers: int, scales: int = 3) -> None:
        super().__init__()

        def one() -> nn.Sequential:
            mods, width = [leaky_conv(3, ndf, 4, 2, 1)], ndf
            for _ in range(layers - 1):
                mods.append(leaky_conv(width, width * 2, 4, 2, 1))
                width *= 2
            return nn.Sequential(*mods, nn.Conv2d(width, 1, 1))

        self.scales = nn.ModuleList([one() for _ in range(scales)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images -> one logit map per scale."""
        out = []
        for k, net in enumerate(self.scales):
            if k:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            out.append(net(x))
        return out


class ContentDiscriminator(nn.Module):
    """``Dis_content``: up to 3 LeakyReLU 7x7 stride-2 convs, a LeakyReLU 4x4 conv, a 1x1 logit per position.

    At the official 54x54 codes (216 px crops) the three 7x7 convs bring the map to 4x4 and the 4x4 conv to one logit;
    on smaller codes the 7x7 convs stop while the map is too small for another one and the last kernel shrinks to fit.
    """

    def __init__(self, ch: int, side: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(3):
            if side < 3 or (side + 2 - 7) // 2 + 1 < 1:
                break
            layers.append(leaky_conv(ch, ch, 7, 2, 1))
            side = (side + 2 - 7) // 2 + 1
        self.net = nn.Sequential(*layers, leaky_conv(ch, ch, min(4, side), 1, 0), nn.Conv2d(ch, 1, 1), nn.Flatten())

    def forward(self, content: torch.Tensor) -> torch.Tensor:
        """Content codes (B, C, S, S) -> logits, flattened per sample (B, positions)."""
        return self.net(content)


def _next_block(match: re.Match[str]) -> str:
    return f"dec{match[1]}{int(match[2]) + 1}.{match[3]}"


#: Our state-dict keys -> the official ones (``re.sub`` rules applied in order; see
#: ``examples.common.official_checkpoints``), per network of ``drit_yosemite.make_networks``.
_DISCRIMINATOR_RULES: tuple[Rule, ...] = (
    (r"^scales\.(\d+)\.(\d+)\.1\.", r"Diss.\1.\2.model.1."),
    (r"^scales\.", "Diss."),
)
_COMMON_RULES: dict[str, tuple[Rule, ...]] = {
    **{f"dis{k}": _DISCRIMINATOR_RULES for k in ("A", "A2", "B", "B2")},
    "disContent": ((r"^net\.(\d+)\.1\.", r"model.\1.model.1."), (r"^net\.", "model.")),
    "enc_c": (
        (r"^private\.([AB])\.", r"conv\1."),
        (r"^shared\.", "conv_share.0."),
        (r"\.body\.0\.1\.", ".model.1."),
        (r"\.body\.3\.1\.", ".model.5."),
        (r"^(conv[AB]\.\d+)\.1\.", r"\1.model.1."),
    ),
    "enc_a": (  # E_attr_concat (VAE: trunk, mu, logvar) or E_attr (model_a / model_b)
        (r"^nets\.([AB])\.mu\.", r"fc_\1.0."),
        (r"^nets\.([AB])\.logvar\.", r"fcVar_\1.0."),
        (r"^nets\.([AB])\.trunk\.", r"conv_\1."),
        (r"\.conv\.1\.1\.", ".conv.2."),
        (r"\.conv\.3\.1\.", ".conv.4.1."),
        (r"^nets\.([AB])\.", lambda m: f"model_{m[1].lower()}."),
    ),
}
_CONCAT_GENERATOR_RULES: tuple[Rule, ...] = (  # G_concat: dec_share, decX1 (3 blocks), decX2, decX3, decX4
    (r"^decoders\.[AB]\.shared\.", "dec_share.0."),
    (r"^decoders\.([AB])\.blocks\.", r"dec\g<1>1."),
    (r"^decoders\.([AB])\.up1\.", r"dec\g<1>2.0.model."),
    (r"^decoders\.([AB])\.up2\.", r"dec\g<1>3.0.model."),
    (r"^decoders\.([AB])\.out\.", r"dec\g<1>4."),
    (r"\.body\.0\.1\.", ".model.1."),
    (r"\.body\.3\.1\.", ".model.5."),
)
_TRANSFORM_GENERATOR_RULES: tuple[Rule, ...] = (  # G: mlpX, decX1-4 (attribute blocks), decX5 (ups, out)
    (r"^decoders\.([AB])\.mlp\.", r"mlp\1."),
    (r"^decoders\.([AB])\.blocks\.(\d+)\.(.*)", _next_block),
    (r"^decoders\.([AB])\.up\.(\d+)\.", r"dec\g<1>5.\2.model."),
    (r"^decoders\.([AB])\.out\.0\.", r"dec\g<1>5.2."),
    (r"\.mix(\d)\.", r".blk\1."),
)


def official_rules(concat: bool) -> dict[str, tuple[Rule, ...]]:
    """Per network name, the rules that spell our state-dict keys as the official DRIT code does.

    Only the deconvolution generators (``--upsample deconv``, the real presets') have official counterparts.
    """
    return {**_COMMON_RULES, "gen": _CONCAT_GENERATOR_RULES if concat else _TRANSFORM_GENERATOR_RULES}
