"""DRIT on unpaired Yosemite summer<->winter / cat<->dog with the mode-seeking term (MSGAN, Mao et al. CVPR 2019, 4.3).

    python examples/drit_yosemite.py                                   # built-in summer/winter scenes, CPU minutes
    python examples/drit_yosemite.py --ms-weight 0                     # the baseline
    python examples/drit_yosemite.py --dataset yosemite --data-root datasets/yosemite
    python examples/drit_yosemite.py --dataset cat2dog --data-root datasets/cat2dog      # --concat 0 by default
    torchrun --nproc_per_node 2 examples/drit_yosemite.py --max-steps 100

DRIT (Lee et al., ECCV 2018) disentangles an image into a domain-invariant content code and a domain-specific
attribute code. Content encoders per domain (7x7 conv, two stride-2 convs, 3 IN residual blocks) end in a SHARED
residual block and, in training, Gaussian noise; attribute encoders give an 8-d code, either as a VAE (mu, logvar;
``--concat 1``: the code is concatenated into the generator, DRIT's Yosemite setting) or deterministically
(``--concat 0``: the code drives feature-wise transforms of the generator's residual blocks, DRIT's cat2dog setting).
Two generators decode (content, attribute) into each domain; four multi-scale (3 scales) discriminators judge the
translations made with encoded attributes (D_A, D_B) and with random ones (D_A2, D_B2); a content discriminator
tells the domains' content codes apart and the encoders are trained to fool it (target 0.5). Losses of the encoders
and generators: adversarial, content adversarial, cross-cycle reconstruction (translate twice, L1 x10),
self-reconstruction (L1 x10), KL 0.01 on attribute and content codes, latent regression (the attribute encoder must
recover the random code of a translation, L1 x10), and the mode-seeking term. BCE losses; Adam 1e-4 (content D
1e-4 / 2.5, gradient norm clipped at 5), betas (0.5, 0.999), weight decay 1e-4; the content discriminator is updated
alone on 2 of every 3 iterations; on real data 1200 epochs, the LR decaying linearly over the last 600; batch 2;
resize 256, random 216 crop, flips.

The mode-seeking term, in BOTH directions: each generator runs once on [content; content] with two random attribute
codes [z1; z2] (torch_modeseek.paired_inputs) and a ModeSeekingHook per generator compares the two translations of
the same content. Built-in data: scenes whose layout is the content and whose appearance (8 known per domain) is free,
so every input has 8 valid translations. Evaluation: per test input several translations (5 on real data) in both
directions, pixel-L1 diversity, NDB/JSD against the other domain's test images, known-mode coverage on built-in data,
FID/LPIPS with their weight files.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `examples.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F
from torch import nn

from examples.common import cli
from examples.common.data import DatasetError
from examples.common.data.builtin_seasons import Seasons
from examples.common.data.seeding import derive_seed
from examples.common.data.unpaired import UnpairedFolders
from examples.common.evaluation import attach_coverage, diversity_groups, ndb_groups, weighted_metrics
from examples.common.grids import save_grid
from examples.common.loop import Parts, evaluating, fit
from examples.common.runtime import Runtime, frozen, unwrap
from examples.common.training import LinearDecayAfter, StepCounter, init_normal
from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, paired_inputs

DATASETS = ("builtin", "yosemite", "cat2dog")
_REAL = {"epochs": 1200, "decay_epochs": 600, "batch_size": 2, "lr": 1e-4, "ngf": 64, "ndf": 64, "d_layers": 4,
         "load_size": 256, "crop_size": 216, "save_every": 5000, "eval_every": 0, "eval_inputs": 50,
         "eval_samples": 5, "ndb_bins": 20}  # fmt: skip
PRESETS = {
    "builtin": {"epochs": 12, "decay_epochs": 6, "batch_size": 8, "lr": 2e-4, "ngf": 16, "ndf": 16, "d_layers": 2,
                "load_size": 32, "crop_size": 32, "concat": 1, "upsample": "nearest", "save_every": 500,
                "eval_every": 0, "eval_inputs": 16, "eval_samples": 16, "ndb_bins": 16},
    "yosemite": {**_REAL, "concat": 1, "upsample": "deconv"},
    "cat2dog": {**_REAL, "concat": 0, "upsample": "deconv"},
}  # fmt: skip


def conv_block(cin: int, cout: int, kernel: int, stride: int, act: nn.Module | None = None) -> list[nn.Module]:
    """Conv, InstanceNorm, ReLU (or ``act``)."""
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2)
    return [conv, nn.InstanceNorm2d(cout), act if act is not None else nn.ReLU(True)]


class INResBlock(nn.Module):
    """x + (3x3 conv, IN, ReLU, 3x3 conv, IN)(x)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_block(ch, ch, 3, 1), nn.Conv2d(ch, ch, 3, 1, 1), nn.InstanceNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update of x."""
        return x + self.body(x)


class ContentEncoders(nn.Module):
    """Both domains' content encoders (4 ngf channels at 1/4 resolution); the last residual block is shared."""

    def __init__(self, ngf: int) -> None:
        super().__init__()

        def private() -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(3, ngf, 7, 1, 3), nn.LeakyReLU(0.2, True), *conv_block(ngf, ngf * 2, 3, 2),
                *conv_block(ngf * 2, ngf * 4, 3, 2), *[INResBlock(ngf * 4) for _ in range(3)],
            )  # fmt: skip

        self.private = nn.ModuleDict({"A": private(), "B": private()})
        self.shared = INResBlock(ngf * 4)

    def encode(self, x: torch.Tensor, domain: str, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Content code of images ``x`` of ``domain``; ``noise`` (same shape as the code) is added in training."""
        h = self.shared(self.private[domain](x))
        return h if noise is None else h + noise.to(h.dtype)

    def forward(self, a: torch.Tensor, b: torch.Tensor, noise_a=None, noise_b=None) -> tuple[torch.Tensor, ...]:
        """Content codes of a domain-A and a domain-B batch."""
        return self.encode(a, "A", noise_a), self.encode(b, "B", noise_b)


class AttributeEncoders(nn.Module):
    """Both domains' attribute encoders: stride-2 convs, global average pool, then (mu, logvar) or a code."""

    def __init__(self, ngf: int, nz: int, vae: bool) -> None:
        super().__init__()
        self.vae = vae

        def trunk() -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(3, ngf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            for cin, cout in ((ngf, ngf * 2), (ngf * 2, ngf * 4), (ngf * 4, ngf * 4)):
                layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            return nn.Sequential(
                *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ngf * 4, nz * (2 if vae else 1))
            )

        self.nets = nn.ModuleDict({"A": trunk(), "B": trunk()})

    def encode(self, x: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mu, logvar)`` of the VAE variant, or ``(code, None)``."""
        out = self.nets[domain](x)
        return tuple(out.chunk(2, dim=1)) if self.vae else (out, None)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor | None], ...]:
        """Attribute codes of a domain-A and a domain-B batch."""
        return self.encode(a, "A"), self.encode(b, "B")


class AttributeBlock(nn.Module):
    """Residual block conditioned on the attribute z: concatenated to its input, or as feature-wise scale and shift."""

    def __init__(self, ch: int, nz: int, concat: bool) -> None:
        super().__init__()
        self.concat = concat
        self.conv1 = nn.Conv2d(ch + (nz if concat else 0), ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.norm1, self.norm2 = nn.InstanceNorm2d(ch), nn.InstanceNorm2d(ch)

    def forward(self, h: torch.Tensor, z: torch.Tensor, film: torch.Tensor | None) -> torch.Tensor:
        """Features h (B, ch, H, W), codes z (B, nz), film (B, 2 ch): scale and shift of the transform variant."""
        x = torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[2:]).to(h.dtype)], 1) if self.concat else h
        x = self.norm1(self.conv1(x))
        if film is not None:
            gamma, beta = film[:, :, None, None].to(x.dtype).chunk(2, dim=1)
            x = x * (1 + gamma) + beta
        return h + self.norm2(self.conv2(F.relu(x)))


class Generator(nn.Module):
    """(content 4 ngf @ 1/4, attribute z) -> 4 attribute-conditioned residual blocks -> two x2 upsamplings -> image."""

    def __init__(self, ngf: int, nz: int, concat: bool, upsample: str = "deconv") -> None:
        super().__init__()
        ch, self.concat, extra = ngf * 4, concat, nz if concat else 0

        def up2(cin: int, cout: int) -> nn.Module:
            if upsample == "nearest":  # resize-convolution: no checkerboard from uneven kernel overlap
                return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1))
            return nn.ConvTranspose2d(cin, cout, 3, 2, 1, 1)  # DRIT's

        self.blocks = nn.ModuleList([AttributeBlock(ch, nz, concat) for _ in range(4)])
        self.film = None if concat else nn.Sequential(
            nn.Linear(nz, 256), nn.ReLU(True), nn.Linear(256, 256), nn.ReLU(True), nn.Linear(256, 4 * 2 * ch)
        )  # fmt: skip
        self.up = nn.ModuleList(  # x2 upsampling, LayerNorm (GroupNorm with one group), ReLU
            nn.Sequential(up2(cin + extra, cin // 2), nn.GroupNorm(1, cin // 2), nn.ReLU(True)) for cin in (ch, ch // 2)
        )
        self.out = nn.Sequential(nn.Conv2d(ch // 4 + extra, 3, 1), nn.Tanh())

    def forward(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Content codes (B, 4 ngf, H/4, W/4) and attribute codes (B, nz) -> images (B, 3, H, W) in [-1, 1]."""
        films = [None] * 4 if self.film is None else self.film(z).chunk(4, dim=1)
        h = content
        for block, film in zip(self.blocks, films, strict=True):
            h = block(h, z, film)

        def cat(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, z[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)], 1) if self.concat else x

        for up in self.up:
            h = up(cat(h))
        return self.out(cat(h))


class MultiScaleDiscriminator(nn.Module):
    """Three PatchGAN-style discriminators (no norm, LeakyReLU) on the image and its 2x and 4x average-pooled copies."""

    def __init__(self, ndf: int, layers: int, scales: int = 3) -> None:
        super().__init__()

        def one() -> nn.Sequential:
            mods: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            width = ndf
            for _ in range(layers - 1):
                mods += [nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.2, True)]
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
    """Tells content codes of domain A (1) from those of domain B (0): 3 stride-2 convs (IN, LeakyReLU), pool, logit."""

    def __init__(self, ch: int, side: int) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2, True)
        downs = max(1, min(3, side.bit_length() - 2))  # the last map keeps >= 2x2 for its InstanceNorm
        layers = [m for _ in range(downs) for m in conv_block(ch, ch, 3, 2, act)]
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Conv2d(ch, 1, 1), nn.Flatten(0))

    def forward(self, content: torch.Tensor) -> torch.Tensor:
        """Content codes -> (B,) logits."""
        return self.net(content)


def bce(logits: torch.Tensor | list[torch.Tensor], target: float) -> torch.Tensor:
    """BCE of logits (or the sum over a list of scales) against a constant label, in float32."""
    items = logits if isinstance(logits, list) else [logits]
    return sum(F.binary_cross_entropy_with_logits(o.float(), torch.full_like(o.float(), target)) for o in items)


def build_parser() -> object:
    """The command line: the common options plus the DRIT ones."""
    parser = cli.base_parser(__doc__, DATASETS, PRESETS, default_out="runs/drit_yosemite")
    net = parser.add_argument_group("DRIT")
    net.add_argument("--nz", type=int, default=8, help="attribute code size (default: 8)")
    net.add_argument(
        "--concat",
        type=int,
        choices=[0, 1],
        help="1: VAE attribute code concatenated into G; 0: deterministic code, feature-wise transforms "
        "(default: 1 on builtin and yosemite, 0 on cat2dog)",
    )
    net.add_argument(
        "--upsample",
        choices=["deconv", "nearest"],
        help="generator upsampling: DRIT's 3x3 stride-2 transposed convolutions, or nearest resize + 3x3 conv, "
        "which avoids their checkerboard in short runs (default: nearest on builtin, deconv on real data)",
    )
    options = {
        "ngf": "encoder/generator width (content codes have 4 ngf channels)",
        "ndf": "discriminator width",
        "d_layers": "stride-2 layers per discriminator scale",
        "decay_epochs": "epochs of linear LR decay at the end of --epochs",
        "load_size": "real data: resize side before the random crop",
        "crop_size": "image side (a multiple of 4)",
    }
    cli.add_preset_options(net, PRESETS, options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and save; returns the exit status."""
    parser = build_parser()
    args = cli.parse(parser, PRESETS, DATASETS, argv)
    if args.crop_size % 4 or args.crop_size // 2 ** (args.d_layers + 2) < 1:
        parser.error(f"--crop-size must be a multiple of 4 and >= {2 ** (args.d_layers + 2)} for --d-layers")
    try:
        if args.dataset == "builtin":
            train_set, eval_set = Seasons("train", args.crop_size), Seasons("test", args.crop_size, scenes=32)
        else:
            sizes = {"load_size": args.load_size, "crop_size": args.crop_size}
            train_set = UnpairedFolders(args.data_root, "train", **sizes)
            eval_set = UnpairedFolders(args.data_root, "test", **sizes)
    except DatasetError as error:
        parser.error(str(error))
    runtime = Runtime.start(args.device, args.amp)
    device, vae, nz = runtime.device, bool(args.concat), args.nz
    torch.manual_seed(args.seed)
    enc_c = runtime.wrap(init_normal(ContentEncoders(args.ngf)))
    enc_a = runtime.wrap(init_normal(AttributeEncoders(args.ngf, nz, vae)))
    gens = {d: runtime.wrap(init_normal(Generator(args.ngf, nz, bool(args.concat), args.upsample))) for d in "AB"}
    dis = {
        k: runtime.wrap(init_normal(MultiScaleDiscriminator(args.ndf, args.d_layers))) for k in ("A", "A2", "B", "B2")
    }
    dis_c = runtime.wrap(init_normal(ContentDiscriminator(args.ngf * 4, args.crop_size // 4)))
    adam = {"lr": args.lr, "betas": (0.5, 0.999), "weight_decay": 1e-4}
    optimizers = {
        "Ec": torch.optim.Adam(enc_c.parameters(), **adam),
        "Ea": torch.optim.Adam(enc_a.parameters(), **adam),
        "G": torch.optim.Adam([p for g in gens.values() for p in g.parameters()], **adam),
        "D": torch.optim.Adam([p for d in dis.values() for p in d.parameters()], **adam),
        "Dc": torch.optim.Adam(dis_c.parameters(), **{**adam, "lr": args.lr / 2.5}),
    }
    per_epoch = len(train_set) // (args.batch_size * runtime.world_size)
    total = args.max_steps or args.epochs * per_epoch
    decay = LinearDecayAfter(constant=max(0, total - args.decay_epochs * per_epoch), total=total)
    ms_loss = ModeSeekingLoss(distance=args.ms_distance)
    hooks = {d: ModeSeekingHook(gens[d], latent="z", weight=args.ms_weight, loss=ms_loss) for d in "AB"}
    counter = StepCounter()
    parts = Parts(
        models={"Ec": enc_c, "Ea": enc_a, "GA": gens["A"], "GB": gens["B"], "Dc": dis_c, "iteration": counter}
        | {f"D{k}": d for k, d in dis.items()},
        optimizers=optimizers,
        hook=hooks["B"],  # A -> B; the progress bar shows its ratio
        extra_hooks={"A": hooks["A"]},
        scaler=runtime.grad_scaler(),
        schedulers={k: torch.optim.lr_scheduler.LambdaLR(o, decay) for k, o in optimizers.items()},
    )
    scaler, logged = parts.scaler, {}

    def update(name: str, loss: torch.Tensor, clip: float | None = None) -> None:
        optimizers[name].zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip is not None:
            scaler.unscale_(optimizers[name])
            nn.utils.clip_grad_norm_(dis_c.parameters(), clip)
        scaler.step(optimizers[name])

    def attribute(mu: torch.Tensor, logvar: torch.Tensor | None, eps: torch.Tensor) -> torch.Tensor:
        return mu if logvar is None else mu + torch.exp(0.5 * logvar) * eps

    def step(batch, rng: torch.Generator) -> dict[str, torch.Tensor]:
        a, b = batch
        n, side = a.shape[0], args.crop_size // 4

        def noise(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=rng).to(device)

        code_noise = [noise(n, args.ngf * 4, side, side) for _ in range(4)]  # DRIT's Gaussian noise on content
        if counter() % 3 != 2:  # 2 of 3 iterations: the content discriminator alone
            with torch.no_grad(), runtime.autocast():
                ca, cb = enc_c(a, b, *code_noise[:2])
            with runtime.autocast():
                loss_dc = bce(dis_c(ca), 1.0) + bce(dis_c(cb), 0.0)
            update("Dc", loss_dc, clip=5.0)
            scaler.update()
            logged["Dc"] = loss_dc.detach()
            return dict(logged)
        eps = [noise(n, nz) for _ in range(4)]
        with runtime.autocast():
            ca, cb = enc_c(a, b, *code_noise[:2])
            (mu_a, lv_a), (mu_b, lv_b) = enc_a(a, b)
            za, zb = attribute(mu_a, lv_a, eps[0]), attribute(mu_b, lv_b, eps[1])
            fake_a, self_a = gens["A"](torch.cat([cb, ca]), z=torch.cat([za, za])).chunk(2)  # B->A, A->A
            fake_b, self_b = gens["B"](torch.cat([ca, cb]), z=torch.cat([zb, zb])).chunk(2)
            (cb2,), zr_a = paired_inputs((cb.detach(),), nz, generator=rng)  # [content; content], [z1; z2]
            rand_a = gens["A"](cb2, z=zr_a)  # two random-attribute translations of the same content
            ms_a = hooks["A"].loss()  # ms_weight x MSGAN's term, B -> A
            (ca2,), zr_b = paired_inputs((ca.detach(),), nz, generator=rng)
            rand_b = gens["B"](ca2, z=zr_b)
            ms_b = hooks["B"].loss()  # A -> B
            loss_d = bce(dis["A"](a), 1.0) + bce(dis["A"](fake_a.detach()), 0.0)
            loss_d = loss_d + bce(dis["B"](b), 1.0) + bce(dis["B"](fake_b.detach()), 0.0)
            loss_d = loss_d + bce(dis["A2"](a), 1.0) + bce(dis["A2"](rand_a.detach()), 0.0)
            loss_d = loss_d + bce(dis["B2"](b), 1.0) + bce(dis["B2"](rand_b.detach()), 0.0)
            loss_dc = bce(dis_c(ca.detach()), 1.0) + bce(dis_c(cb.detach()), 0.0)
        update("D", loss_d)
        update("Dc", loss_dc, clip=5.0)
        plain = {k: unwrap(d) for k, d in dis.items()}
        with frozen(*dis.values(), dis_c), runtime.autocast():
            adv = bce(plain["A"](fake_a), 1.0) + bce(plain["B"](fake_b), 1.0)
            adv_content = bce(unwrap(dis_c)(ca), 0.5) + bce(unwrap(dis_c)(cb), 0.5)
            cb_rec, ca_rec = enc_c(fake_a, fake_b, *code_noise[2:])  # fake_a holds b's content, fake_b a's
            (mu_fa, lv_fa), (mu_fb, lv_fb) = enc_a(fake_a, fake_b)
            rec_a = gens["A"](ca_rec, z=attribute(mu_fa, lv_fa, eps[2]))  # cross-cycle: back to the originals
            rec_b = gens["B"](cb_rec, z=attribute(mu_fb, lv_fb, eps[3]))
            cycle = F.l1_loss(rec_a.float(), a) + F.l1_loss(rec_b.float(), b)
            self_rec = F.l1_loss(self_a.float(), a) + F.l1_loss(self_b.float(), b)
            if vae:
                kl_attr = sum(-0.5 * torch.mean(1 + lv.float() - mu.float() ** 2 - lv.float().exp()) for mu, lv in
                              ((mu_a, lv_a), (mu_b, lv_b)))  # fmt: skip
            else:
                kl_attr = za.float().pow(2).mean() + zb.float().pow(2).mean()
            kl_content = ca.float().pow(2).mean() + cb.float().pow(2).mean()
            adv_random = bce(plain["A2"](rand_a), 1.0) + bce(plain["B2"](rand_b), 1.0)
            with frozen(enc_a):  # latent regression trains the generators only, as DRIT's update
                (za_rec, _), (zb_rec, _) = unwrap(enc_a)(rand_a, rand_b)
            latent = F.l1_loss(za_rec.float(), zr_a) + F.l1_loss(zb_rec.float(), zr_b)
            loss = adv + adv_content + 10 * (cycle + self_rec + latent) + 0.01 * (kl_attr + kl_content) + adv_random
        loss = loss + (ms_a + ms_b if args.ms_weight else 0.0)  # baseline: the terms are only logged
        for name in ("Ec", "Ea", "G"):
            optimizers[name].zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        for name in ("Ec", "Ea", "G"):
            scaler.step(optimizers[name])
        scaler.update()
        logged.update(D=loss_d.detach(), Dc=loss_dc.detach(), G=(adv + adv_random).detach(),
                      rec=(cycle + self_rec).detach(), ms=(ms_a + ms_b).detach())  # fmt: skip
        return dict(logged)

    builtin = isinstance(eval_set, Seasons)
    count = min(args.eval_inputs, eval_set.scenes if builtin else len(eval_set))
    picks = list(range(count)) if builtin else torch.linspace(0, len(eval_set) - 1, count).long().tolist()

    def inputs(domain: str) -> torch.Tensor:
        if builtin:
            return torch.stack([eval_set.image(domain, s * Seasons.num_modes) for s in picks])
        return torch.stack([eval_set.image(domain, i) for i in picks])

    eval_inputs = {"A": inputs("A"), "B": inputs("B")}
    plain_c, plain_g = unwrap(enc_c), {d: unwrap(g) for d, g in gens.items()}

    def translate(source: str, x: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """(N, 3, S, S) images of ``source`` -> (N, samples, 3, S, S) in the other domain, random attributes."""
        target, gen, out = "B" if source == "A" else "A", torch.Generator().manual_seed(seed), []
        with evaluating(plain_c, plain_g[target]):
            for chunk in x.split(max(1, 128 // samples)):
                content = plain_c.encode(chunk.to(device), source).repeat_interleave(samples, 0)
                z = torch.randn(content.shape[0], nz, generator=gen).to(device)
                out.append(plain_g[target](content, z).float().cpu())
        return torch.cat(out).reshape(x.shape[0], samples, *x.shape[1:])

    def samples(path: Path) -> None:
        rows = min(4, count)
        grid = []
        for k, source in enumerate("AB"):
            fake = translate(source, eval_inputs[source][:rows], 6, derive_seed(args.seed, 0x6121D, k))
            grid.append(torch.cat([eval_inputs[source][:rows, None], fake], dim=1))
        save_grid(torch.cat(grid), path, scale=4 if builtin else 1)

    def evaluate() -> tuple[dict, dict]:
        fake = {s: translate(s, eval_inputs[s], args.eval_samples, derive_seed(args.seed, 0xE7A1, k))
                for k, s in enumerate("AB")}  # fmt: skip
        if builtin:
            real = {d: torch.stack([eval_set.image(d, i) for i in range(len(eval_set))]) for d in "AB"}
        else:
            real = {
                d: torch.stack([eval_set.image(d, i) for i in range(min(1000, len(eval_set.files[d])))]) for d in "AB"
            }
        groups = {"A2B": (real["B"], fake["A"].flatten(0, 1)), "B2A": (real["A"], fake["B"].flatten(0, 1))}
        summary, ndb_results = ndb_groups(groups, args.ndb_bins)
        for name, (real_d, fake_d) in {"A2B": (real["B"], fake["A"]), "B2A": (real["A"], fake["B"])}.items():
            summary |= {f"{k}_{name}": v for k, v in weighted_metrics(args, real_d, fake_d).items()}
        if args.eval_samples > 1:
            summary["diversity"] = diversity_groups({"A2B": fake["A"], "B2A": fake["B"]})
            summary["diversity_l1"] = summary["diversity"]["diversity_l1"]
        if builtin:
            cover = {f"A2B_{s}": (fake["A"][i], eval_set.prototypes("B", s)) for i, s in enumerate(picks)}
            cover |= {f"B2A_{s}": (fake["B"][i], eval_set.prototypes("A", s)) for i, s in enumerate(picks)}
            attach_coverage(summary, cover, eval_set.coverage_radius, eval_set.coverage_pool)
        return summary, ndb_results

    try:
        return fit(args, runtime, parts, train_set, step, samples, evaluate, task="drit_yosemite")
    finally:
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
