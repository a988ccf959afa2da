"""StackGAN++'s networks (Zhang et al., TPAMI 2018) as MSGAN's StackGAN++ code builds them, under its module names.

The generator and the per-stage discriminators have the official parameter shapes and state-dict keys (``ca_net``,
``h_net1``, ``img_net1``, ..., ``img_code_s16``, ``jointConv``, ``logits``, ``uncond_logits``), so the official
``netG_*.pth`` and ``netD*.pth`` files load as they are once DataParallel's ``module.`` prefix is removed
(:func:`examples.common.official_checkpoints.load_official`). The text code c comes first wherever it is
concatenated, as there; the official closing sigmoids are folded into the BCE-with-logits losses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["CondAugment", "Generator", "ResBlock", "StageDiscriminator"]


def up_block(cin: int, cout: int) -> nn.Sequential:
    """x2 nearest upsampling, 3x3 conv to 2 x cout (no bias), BatchNorm, GLU: StackGAN++'s ``upBlock``."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), *glu_conv(cin, cout))


def glu_conv(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv to 2 x cout (no bias), BatchNorm, GLU: StackGAN++'s ``Block3x3_relu``."""
    return nn.Sequential(nn.Conv2d(cin, cout * 2, 3, 1, 1, bias=False), nn.BatchNorm2d(cout * 2), nn.GLU(1))


class ResBlock(nn.Module):
    """x + (3x3 conv, BN, GLU, 3x3 conv, BN)(x)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.block = nn.Sequential(*glu_conv(ch, ch), nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update of x (B, ch, H, W)."""
        return x + self.block(x)


class CondAugment(nn.Module):
    """Conditioning augmentation (``CA_NET``): embedding -> FC + GLU -> (mu, logvar); c = mu + exp(logvar / 2) eps."""

    def __init__(self, t_dim: int, c_dim: int) -> None:
        super().__init__()
        self.fc, self.c_dim = nn.Linear(t_dim, c_dim * 4), c_dim

    def forward(self, embedding: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, t_dim) embeddings and (B, c_dim) noise -> (c, mu, logvar)."""
        mu, logvar = nn.functional.glu(self.fc(embedding), 1).split(self.c_dim, dim=1)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


class _InitStage(nn.Module):
    """``INIT_STAGE_G``: c ++ z -> FC + BN + GLU to ``width`` x 4 x 4 -> ``ups`` upsampling blocks."""

    def __init__(self, in_dim: int, width: int, ups: int) -> None:
        super().__init__()
        self.width = width
        self.fc = nn.Sequential(nn.Linear(in_dim, width * 16 * 2, bias=False), nn.BatchNorm1d(width * 32), nn.GLU(1))
        for k in range(ups):
            self.add_module(f"upsample{k + 1}", up_block(width // 2**k, width // 2 ** (k + 1)))
        self.ups = ups

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        h = self.fc(code).view(code.shape[0], self.width, 4, 4)
        for k in range(self.ups):
            h = getattr(self, f"upsample{k + 1}")(h)
        return h


class _NextStage(nn.Module):
    """``NEXT_STAGE_G``: c ++ h -> joint 3x3 conv + GLU -> 2 residual blocks -> upsampling to half the width."""

    def __init__(self, ch: int, c_dim: int) -> None:
        super().__init__()
        self.jointConv = glu_conv(ch + c_dim, ch)  # the official name, kept for its checkpoints
        self.residual = nn.Sequential(ResBlock(ch), ResBlock(ch))
        self.upsample = up_block(ch, ch // 2)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([c[:, :, None, None].expand(-1, -1, *h.shape[2:]).to(h.dtype), h], dim=1)
        return self.upsample(self.residual(self.jointConv(joint)))


class _ImageHead(nn.Module):
    """``GET_IMAGE_G``: 3x3 conv to RGB (no bias), tanh."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.img = nn.Sequential(nn.Conv2d(ch, 3, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.img(h)


class Generator(nn.Module):
    """The tree generator: c ++ z -> 4x4 -> stage 1 at ``base`` px -> each further stage at twice the size.

    Modules ``ca_net`` (:class:`CondAugment`), ``h_net1`` ... ``h_net<stages>`` (the stages' features) and
    ``img_net1`` ... (their images), as the official ``G_NET``.
    """

    def __init__(self, nz: int, t_dim: int, c_dim: int, ngf: int, base: int, stages: int) -> None:
        super().__init__()
        ups = int(math.log2(base // 4))
        self.ca_net, self.stages = CondAugment(t_dim, c_dim), stages
        self.h_net1 = _InitStage(c_dim + nz, ngf * 2**ups, ups)  # StackGAN++: 16 ngf at 4x4 for a 64 px first stage
        self.img_net1 = _ImageHead(ngf)
        for k in range(1, stages):
            ch = ngf // 2 ** (k - 1)
            self.add_module(f"h_net{k + 1}", _NextStage(ch, c_dim))
            self.add_module(f"img_net{k + 1}", _ImageHead(ch // 2))

    def forward(
        self, z: torch.Tensor, embedding: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Latents (B, nz), caption embeddings (B, t_dim), augmentation noise (B, c_dim; drawn when None).

        Returns:
            ``(images, mu, logvar)``: one (B, 3, s, s) image per stage in [-1, 1], and the augmentation's moments.
        """
        if eps is None:
            eps = torch.randn(embedding.shape[0], self.ca_net.c_dim, device=embedding.device, dtype=embedding.dtype)
        c, mu, logvar = self.ca_net(embedding, eps)
        h = self.h_net1(torch.cat([c.to(z.dtype), z], dim=1))
        images = [self.img_net1(h)]
        for k in range(2, self.stages + 1):
            h = getattr(self, f"h_net{k}")(h, c)
            images.append(getattr(self, f"img_net{k}")(h))
        return images, mu, logvar


def leaky_conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, norm: bool = True) -> list[nn.Module]:
    """Conv (no bias), BatchNorm (unless ``norm`` is false), LeakyReLU 0.2."""
    conv = nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, bias=False)
    return [conv, *([nn.BatchNorm2d(cout)] if norm else []), nn.LeakyReLU(0.2, True)]


class StageDiscriminator(nn.Module):
    """One stage's D (StackGAN++'s D_NET64/128/256 for 64/128/256 px): image code, conditional and unconditional logit.

    ``img_code_s16``: stride-2 convs (widths ndf, 2 ndf, 4 ndf, 8 ndf; the first without bias and normalisation)
    down to 4x4 or to 16x smaller; beyond 64 px further stride-2 convs (``img_code_s32``, ``img_code_s64``) and 3x3
    convs back to 8 ndf (``img_code_s32_1``; ``img_code_s64_1``, ``img_code_s64_2``). Then ``uncond_logits`` on the
    code and ``logits`` on ``jointConv(c ++ code)``.
    """

    def __init__(self, size: int, ndf: int, c_dim: int) -> None:
        super().__init__()
        downs = int(math.log2(size // 4))
        layers, width = leaky_conv(3, ndf, 4, 2, norm=False), ndf
        for _ in range(min(downs, 4) - 1):
            layers += leaky_conv(width, width * 2, 4, 2)
            width *= 2
        self.img_code_s16, self.blocks = nn.Sequential(*layers), ["img_code_s16"]
        for k in range(1, downs - 3):
            self.blocks.append(f"img_code_s{16 * 2**k}")
            self.add_module(self.blocks[-1], nn.Sequential(*leaky_conv(width, width * 2, 4, 2)))
            width *= 2
        last, r = self.blocks[-1], 0
        while width > ndf * 8:
            r += 1
            self.blocks.append(f"{last}_{r}")
            self.add_module(self.blocks[-1], nn.Sequential(*leaky_conv(width, width // 2)))
            width //= 2
        self.logits = nn.Sequential(nn.Conv2d(width, 1, 4, 4))
        self.jointConv = nn.Sequential(*leaky_conv(width + c_dim, width))  # the official name
        self.uncond_logits = nn.Sequential(nn.Conv2d(width, 1, 4, 4))

    def forward(self, image: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 3, s, s) and condition codes (B, c_dim) -> (conditional, unconditional) logits, (B,) each."""
        h = image
        for name in self.blocks:
            h = getattr(self, name)(h)
        joint = self.jointConv(torch.cat([c[:, :, None, None].expand(-1, -1, 4, 4).to(h.dtype), h], dim=1))
        return self.logits(joint).flatten(), self.uncond_logits(h).flatten()
