"""Pix2Pix (BicycleGAN's networks) on facades/maps with the mode-seeking term (MSGAN, Mao et al. CVPR 2019, 4.2).

    python examples/pix2pix_facades.py                                      # built-in label maps, a few CPU minutes
    python examples/pix2pix_facades.py --ms-weight 0                        # the baseline
    python examples/pix2pix_facades.py --dataset facades --data-root datasets/facades
    python examples/pix2pix_facades.py --dataset maps --data-root datasets/maps --direction AtoB
    torchrun --nproc_per_node 2 examples/pix2pix_facades.py --max-steps 100

The paper's setup on real data: G is BicycleGAN's U-Net-256 (8 levels, ngf 64, InstanceNorm without affine
parameters, no dropout) with the 8-d latent z broadcast and concatenated to the input of EVERY down block; D is two
conditional PatchGANs (n_layers 3, input A ++ B; ndf 64, and ndf 32 for the second, which sees a 2x average-pooled
input) trained with LSGAN; Xavier-normal init with gain 0.02 (--init xavier). Each step runs G once on [A; A] with
[z1; z2] (torch_modeseek.paired_inputs). In the official order, G is updated first: it minimises
LSGAN(fake1) + LSGAN(fake2) + 10 x L1(fake1, B) + the mode-seeking term (ModeSeekingHook on that forward); then D
minimises 2 LSGAN(real) + LSGAN(fake1) + LSGAN(fake2) on the same, detached, fakes (each LSGAN term summed over the
two scales). Adam 2e-4, beta1 0.5, batch 1, 256 px without crop jitter, flips; lr constant for 100 epochs, then
decayed per epoch over 100 more (the official ``lambda`` policy: the last epoch runs at 2/101 of it). BtoA by
default (--direction). The built-in preset: a 5-level U-Net on 32 px block-facade label maps whose photos come in 8
known appearances, N(0, 0.02) init.
Evaluation as the paper: several samples per evaluation input (50 inputs x 5 samples on real data), diversity (pixel
L1; LPIPS with --lpips-linear/--lpips-backbone), NDB/JSD against the real targets, known-mode coverage on built-in
data, FID with --fid-weights.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `examples.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if __name__ == "__main__":  # before the third-party imports: a missing package is one line, not a traceback
    from examples.common.dependencies import require_packages

    require_packages(__file__)

import torch
import torch.nn.functional as F
from torch import nn

from examples.common import cli
from examples.common.data.aligned import AlignedPairs
from examples.common.data.builtin_facades import BlockFacades
from examples.common.data.sampler import steps_per_epoch
from examples.common.data.seeding import derive_seed
from examples.common.data_ceiling import resolve_ceiling
from examples.common.errors import run_main
from examples.common.evaluation import report
from examples.common.gan_losses import lsgan
from examples.common.grids import save_grid
from examples.common.loop import Parts, fit
from examples.common.official_checkpoints import Official
from examples.common.runtime import Runtime, frozen, unwrap
from examples.common.sampling import sample_per_condition
from examples.common.training import EpochLinearDecay, init_weights
from torch_modeseek import ModeSeekingHook, paired_inputs

DATASETS = ("builtin", "facades", "maps")
PRESETS = {
    "builtin": {"epochs": 8, "decay_epochs": 4, "batch_size": 8, "lr": 2e-4, "ngf": 16, "ndf": 16, "d_layers": 2,
                "load_size": 32, "crop_size": 32, "save_every": 500, "eval_every": 0, "eval_inputs": 32,
                "eval_samples": 16, "ndb_bins": 16, "init": "normal"},
    "real": {"epochs": 200, "decay_epochs": 100, "batch_size": 1, "lr": 2e-4, "ngf": 64, "ndf": 64, "d_layers": 3,
             "load_size": 256, "crop_size": 256, "save_every": 5000, "eval_every": 0, "eval_inputs": 50,
             "eval_samples": 5, "ndb_bins": 10, "init": "xavier"},
}  # fmt: skip


class UNetLevel(nn.Module):
    """One U-Net level of BicycleGAN's ``G_Unet_add_all``: ``[x ++ z] -> down -> inner level -> up``, skip ``++ x``."""

    def __init__(self, outer: int, inner: int, nz: int, sub: UNetLevel | None, in_ch: int | None = None) -> None:
        super().__init__()
        self.outermost, self.sub = in_ch is not None, sub
        down = nn.Conv2d((in_ch or outer) + nz, inner, 4, 2, 1)
        up_in = inner if sub is None else inner * 2
        if self.outermost:
            self.down = nn.Sequential(down)
            self.up = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1), nn.Tanh())
        else:
            norm = [] if sub is None else [nn.InstanceNorm2d(inner)]  # no norm at 1x1
            self.down = nn.Sequential(nn.LeakyReLU(0.2, True), down, *norm)
            self.up = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1), nn.InstanceNorm2d(outer))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Features x (B, C, H, W) and latents z (B, nz) -> this level's output (with the skip ``++ x`` inside)."""
        h = self.down(torch.cat([x, z[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1))
        if self.sub is not None:
            h = self.sub(h, z)
        h = self.up(h)
        return h if self.outermost else torch.cat([h, x], dim=1)


class Generator(nn.Module):
    """U-Net with ``levels`` levels (8 for 256 px), widths ngf, 2, 4, then 8 x ngf; z enters every level."""

    def __init__(self, levels: int, nz: int = 8, ngf: int = 64, channels: int = 3) -> None:
        super().__init__()
        if levels < 5:
            raise ValueError(f"the U-Net needs at least 5 levels (32 px), got {levels}")
        block = UNetLevel(ngf * 8, ngf * 8, nz, None)
        for _ in range(levels - 5):
            block = UNetLevel(ngf * 8, ngf * 8, nz, block)
        for mult in (4, 2, 1):
            block = UNetLevel(ngf * mult, ngf * mult * 2, nz, block)
        self.net = UNetLevel(channels, ngf, nz, block, in_ch=channels)

    def forward(self, a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Input images (B, 3, S, S) and latents (B, nz) -> outputs (B, 3, S, S) in [-1, 1]."""
        return self.net(a, z)


def patch_gan(in_ch: int, ndf: int, layers: int) -> nn.Sequential:
    """pix2pix's n-layer PatchGAN (InstanceNorm, LeakyReLU 0.2): a map of real/fake logits."""
    mods: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    width = ndf
    for n in range(1, layers + 1):
        out, stride = ndf * min(2**n, 8), 2 if n < layers else 1
        mods += [nn.Conv2d(width, out, 4, stride, 1), nn.InstanceNorm2d(out), nn.LeakyReLU(0.2, True)]
        width = out
    return nn.Sequential(*mods, nn.Conv2d(width, 1, 4, 1, 1))


class TwoScaleDiscriminator(nn.Module):
    """Two conditional PatchGANs: width ``ndf`` on ``A ++ B``, width ``ndf / 2`` on its 2x average-pooled copy."""

    def __init__(self, ndf: int = 64, layers: int = 3, channels: int = 3) -> None:
        super().__init__()
        self.scales = nn.ModuleList([patch_gan(2 * channels, width, layers) for width in (ndf, max(1, round(ndf / 2)))])

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
        """Condition and image -> one logit map per scale."""
        x = torch.cat([a, b], dim=1)
        small = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return [self.scales[0](x), self.scales[1](small)]


def build_parser() -> argparse.ArgumentParser:
    """The command line: the common options plus the pix2pix ones."""
    parser = cli.base_parser(__doc__, DATASETS, PRESETS, default_out="runs/pix2pix_facades")
    p2p = parser.add_argument_group("pix2pix")
    p2p.add_argument(
        "--direction",
        choices=["AtoB", "BtoA"],
        default="BtoA",
        help="real data: which half is the input (default: BtoA)",
    )
    p2p.add_argument("--nz", type=int, default=8, help="latent size (default: 8)")
    p2p.add_argument(
        "--lambda-l1",
        type=cli.number(at_least=0),
        default=10.0,
        help="weight of L1(first sample, target) (default: 10)",
    )
    options = {
        "ngf": "G width",
        "ndf": "D width",
        "d_layers": "PatchGAN layers",
        "decay_epochs": "epochs at the end of --epochs over which the LR decays, once per epoch (the official rule)",
        "load_size": "real data: resize side before the random crop",
        "crop_size": "image side",
    }
    cli.add_preset_options(p2p, PRESETS, options)
    cli.add_init_option(p2p, "normal on builtin, xavier on real data")
    return parser


def load_data(args) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """Training pairs and evaluation pairs."""
    if args.dataset == "builtin":
        return BlockFacades("train", args.crop_size), BlockFacades("val", args.crop_size, layouts=args.eval_inputs)
    sizes = {"direction": args.direction, "load_size": args.load_size, "crop_size": args.crop_size}
    return AlignedPairs(args.data_root, "train", **sizes), AlignedPairs(args.data_root, "val", **sizes)


def parse_args(argv: list[str] | None = None, *, check_data: bool = True) -> tuple[argparse.ArgumentParser, Any]:
    """The parser and the checked options (``check_data=False``: the data options are not checked)."""
    parser = build_parser()
    args = cli.parse(parser, PRESETS, DATASETS, argv, check_data=check_data)
    levels = math.log2(args.crop_size)
    if not levels.is_integer() or levels < 5:
        parser.error(f"--crop-size must be a power of two >= 32, got {args.crop_size}")
    if args.crop_size < 3 * 2 ** (args.d_layers + 1):  # the half-scale PatchGAN's last normalised map must be >= 2x2
        parser.error(f"--d-layers {args.d_layers} needs --crop-size >= {3 * 2 ** (args.d_layers + 1)}")
    return parser, args


def make_networks(args: argparse.Namespace) -> dict[str, nn.Module]:
    """The U-Net generator and the two-scale discriminator, initialised from ``--seed`` (CPU, not wrapped)."""
    torch.manual_seed(args.seed)
    return {
        "G": init_weights(Generator(int(math.log2(args.crop_size)), args.nz, args.ngf), args.init),
        "D": init_weights(TwoScaleDiscriminator(args.ndf, args.d_layers), args.init),
    }


def build_networks(argv: list[str] | None = None) -> dict[str, nn.Module]:
    """The networks ``main(argv)`` would train, as initialised; reads no data (``--data-root`` need not exist).

    Example:
        >>> nets = build_networks(["--dataset", "facades"])
        >>> {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
        {'G': 54794627, 'D': 3463586}
    """
    return make_networks(parse_args(argv, check_data=False)[1])


def official_keys(argv: list[str] | None = None) -> dict[str, Official]:
    """Where the official Pix2Pix code keeps each network of ``build_networks(argv)`` and how it names its keys.

    One file per network, ``<epoch>_net_G.pth`` and ``<epoch>_net_D.pth``: pass ``{"net_G": ..., "net_D": ...}``
    to :func:`examples.common.official_checkpoints.load_official`. Its U-Net nests ``model.submodule.submodule...``
    where ours nests ``net.sub.sub...``; its two PatchGANs are ``model0``/``model1`` where ours are ``scales.0``/``1``.
    """
    del argv  # the same names for every preset
    return {
        "G": Official("net_G", ((r"^net\.", "model."), (r"\bsub\.", "submodule."))),
        "D": Official("net_D", ((r"^scales\.(\d+)\.", r"model\1."),)),
    }


def build_training(args: argparse.Namespace, runtime: Runtime, train_size: int) -> Parts:
    """Phase 1: the networks, their optimizers, the official per-epoch LR decay and the mode-seeking hook."""
    nets = make_networks(args)
    net_g, net_d = runtime.wrap(nets["G"]), runtime.wrap(nets["D"])
    opt_g = torch.optim.Adam(net_g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(net_d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    per_epoch = steps_per_epoch(train_size, args.batch_size, runtime.world_size)
    decay = EpochLinearDecay(per_epoch, max(0, args.epochs - args.decay_epochs), args.decay_epochs)
    parts = Parts(
        models={"G": net_g, "D": net_d},
        optimizers={"G": opt_g, "D": opt_d},
        hook=ModeSeekingHook(net_g, latent="z", weight=cli.ms_weight(args), loss=cli.mode_seeking_criterion(args)),
        scaler=runtime.grad_scaler(),
        schedulers={k: torch.optim.lr_scheduler.LambdaLR(o, decay) for k, o in (("G", opt_g), ("D", opt_d))},
    )
    return parts


def make_step(args: argparse.Namespace, runtime: Runtime, parts: Parts) -> Callable[[Any, torch.Generator], dict]:
    """Phase 2: one training step: D, then G with the mode-seeking term."""
    net_g, net_d = parts.models["G"], parts.models["D"]
    opt_g, opt_d = parts.optimizers["G"], parts.optimizers["D"]
    scaler, hook = parts.scaler, parts.hook

    def step(batch, rng: torch.Generator) -> dict[str, torch.Tensor]:
        a, b = batch
        a2, z = paired_inputs(a, args.nz, generator=rng)  # [A; A], [z1; z2]
        # The official order: G first, against the D of the previous step; then D on the same, detached, fakes.
        # D uses InstanceNorm (per sample), so one call on the 2B batch equals one call per half; 2 x its mean over
        # the 2B rows is the official sum LSGAN(fake1) + LSGAN(fake2).
        with runtime.autocast():
            fake = net_g(a2, z=z)  # one forward of the 2B batch; the hook captures z and fake
            with frozen(net_d):
                loss_adv = 2 * lsgan(unwrap(net_d)(a2, fake), 1.0)
            loss_l1 = args.lambda_l1 * F.l1_loss(fake[: a.shape[0]].float(), b)  # the first sample only
        ms = hook.loss()  # ms_weight x MSGAN's term on the two halves
        loss_g = loss_adv + loss_l1 + (ms if args.ms_weight else 0.0)  # baseline: the term is only logged
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        with runtime.autocast():  # 2 LSGAN(real) + LSGAN(fake1) + LSGAN(fake2)
            loss_d = 2 * lsgan(net_d(a, b), 1.0) + 2 * lsgan(net_d(a2, fake.detach()), 0.0)
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(loss_d).backward()
        scaler.step(opt_d)
        scaler.update()
        return {"D": loss_d.detach(), "G": loss_adv.detach(), "L1": loss_l1.detach(), "ms": ms.detach()}

    return step


def make_evaluation(
    args: argparse.Namespace, runtime: Runtime, parts: Parts, eval_set: Any
) -> tuple[Callable[[Path], None], Callable[[], tuple[dict, dict]]]:
    """Phase 3: the sample grid and the evaluation."""
    net_g = parts.models["G"]
    builtin = isinstance(eval_set, BlockFacades)
    count = args.eval_inputs if builtin else min(args.eval_inputs, len(eval_set))
    inputs = torch.stack([eval_set[i * BlockFacades.num_modes if builtin else i][0] for i in range(count)])
    plain_g = unwrap(net_g)

    def samples(path: Path) -> None:
        rows = min(6, count)
        targets = torch.stack([eval_set[i * BlockFacades.num_modes if builtin else i][1] for i in range(rows)])
        fake = sample_per_condition(plain_g, inputs[:rows], 6, args.nz, derive_seed(args.seed, 0x6121D))
        save_grid(torch.cat([inputs[:rows, None], targets[:, None], fake], dim=1), path, scale=4 if builtin else 1)

    def evaluate() -> tuple[dict, dict]:
        fake = sample_per_condition(plain_g, inputs, args.eval_samples, args.nz, derive_seed(args.seed, 0xE7A1))
        real = torch.stack([eval_set[i][1] for i in range(len(eval_set) if builtin else count)])
        modes = None
        if builtin:
            groups = {f"input_{i}": (fake[i], eval_set.prototypes(i)) for i in range(count)}
            modes = (groups, eval_set.coverage_radius, eval_set.coverage_pool)
        return report(args, real, fake, {"all": (real, fake.flatten(0, 1))}, {"all": fake}, modes)

    return samples, evaluate


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and save; returns the exit status."""
    parser, args = parse_args(argv)
    train_set, eval_set = cli.load_datasets(parser, load_data, args)
    modes = BlockFacades.num_modes  # built-in: the known appearances of one layout are its condition's samples
    resolve_ceiling(
        parser,
        args,
        lambda: (
            [torch.stack([eval_set[i * modes + m][1] for m in range(modes)]) for i in range(min(16, eval_set.layouts))]
            if isinstance(eval_set, BlockFacades)
            else None
        ),  # real pairs: one target per input
    )
    with Runtime.start(args.device, args.amp, timeout=args.ddp_timeout) as runtime:
        parts = build_training(args, runtime, len(train_set))
        step = make_step(args, runtime, parts)
        samples, evaluate = make_evaluation(args, runtime, parts, eval_set)
        return fit(args, runtime, parts, train_set, step, samples, evaluate, task="pix2pix_facades")


if __name__ == "__main__":
    sys.exit(run_main(main))
