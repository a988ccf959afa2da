"""Class-conditional DCGAN on CIFAR-10 with the mode-seeking term (MSGAN, Mao et al. CVPR 2019, section 4.1).

    python examples/dcgan_cifar10.py                                    # built-in shapes data, a few CPU minutes
    python examples/dcgan_cifar10.py --ms-weight 0                      # the baseline
    python examples/dcgan_cifar10.py --data-root data/                  # real CIFAR-10 (cifar-10-batches-py/)
    torchrun --nproc_per_node 2 examples/dcgan_cifar10.py --max-steps 100

Networks and hyper-parameters of the paper's code on real data: G maps z (100) ++ one-hot class (10) through transposed
convolutions 512@4 -> 256@8 -> 128@16 -> 3@32 (BatchNorm, ReLU, tanh); D sees the image ++ the one-hot class as 10
constant planes, convolutions 128 -> 256 -> 512 (BatchNorm, LeakyReLU 0.2) -> 1 logit; Adam 2e-4, betas (0.5, 0.999),
weight decay 1e-4, constant; batch 32; 200 epochs. The official initialisation (--init conv_normal): N(0, 0.02) on the
weights of every convolution, biases and BatchNorm left at PyTorch's defaults. The networks have the official module
names and, on real data, the official parameter shapes (the convolutions before BatchNorm keep their bias): an official
checkpoint's "gen" and "dis" load as they are (official_keys). The built-in preset's convolutions before BatchNorm have
no bias, which BatchNorm's mean subtraction cancels anyway. Each step runs G once on the doubled batch [c; c] with [z1;
z2] (torch_modeseek.paired_inputs). As in the official code, D is called on each half separately (its BatchNorm
statistics cover one half at a time) and the losses are sums over the halves: D minimises 2 BCE(real) + BCE(fake1) +
BCE(fake2), then G minimises BCE(fake1) + BCE(fake2) + the mode-seeking term, which ModeSeekingHook takes from the
doubled forward. The built-in preset uses narrower networks and N(0, 0.02) init on the built-in 10-class shapes data (8
known modes per class). Evaluation, per class: NDB/JSD against the real images of the class, pixel-L1 diversity,
known-mode coverage on built-in data, FID when its weights are given; the paper's protocol of 5 samples per test image
with its label.
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from collections.abc import Callable
from itertools import pairwise
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
from examples.common.data.builtin_shapes import ShapesDataset
from examples.common.data.cifar10 import CIFAR10
from examples.common.data.seeding import derive_seed
from examples.common.data_ceiling import groups_by_label, resolve_ceiling
from examples.common.errors import run_main
from examples.common.evaluation import report
from examples.common.gan_losses import bce
from examples.common.grids import save_grid
from examples.common.loop import Parts, fit
from examples.common.official_checkpoints import Official
from examples.common.runtime import Runtime, frozen, unwrap
from examples.common.sampling import sample_per_condition
from examples.common.training import init_weights
from torch_modeseek import ModeSeekingHook, paired_inputs

DATASETS = ("builtin", "cifar10")
PRESETS = {
    "builtin": {"epochs": 24, "batch_size": 32, "lr": 2e-4, "ngf": 16, "ndf": 32, "save_every": 500,
                "eval_every": 0, "eval_inputs": 800, "eval_samples": 5, "ndb_bins": 8, "init": "normal",
                "conv_bias": False},
    "real": {"epochs": 200, "batch_size": 32, "lr": 2e-4, "ngf": 64, "ndf": 128, "save_every": 5000,
             "eval_every": 0, "eval_inputs": 10000, "eval_samples": 5, "ndb_bins": 100, "init": "conv_normal",
             "conv_bias": True},
}  # fmt: skip
NUM_CLASSES = 10


class Generator(nn.Sequential):
    """z ++ one-hot(class) as a 1x1 map -> 8 ngf @ 4 -> 4 ngf @ 8 -> 2 ngf @ 16 -> 3 @ 32, tanh.

    The official ``generator``'s layers under its names (``deconv1``, ``deconv1_bn``, ...), so an official
    checkpoint's ``"gen"`` entry loads as it is. ``bias``: whether the transposed convolutions before BatchNorm have a
    bias, as officially (the normalisation cancels it: only the parameter shapes change).
    """

    def __init__(self, nz: int = 100, ngf: int = 64, *, bias: bool = True) -> None:
        layers: dict[str, nn.Module] = {}
        widths = [nz + NUM_CLASSES, ngf * 8, ngf * 4, ngf * 2]
        for i, (cin, cout) in enumerate(pairwise(widths), start=1):
            stride, pad = (1, 0) if i == 1 else (2, 1)
            layers[f"deconv{i}"] = nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=bias)
            layers[f"deconv{i}_bn"] = nn.BatchNorm2d(cout)
            layers[f"relu{i}"] = nn.ReLU(True)
        layers["deconv4"] = nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1)
        layers["tanh"] = nn.Tanh()
        super().__init__(OrderedDict(layers))

    def forward(self, onehot: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(B, 10) one-hot classes and (B, nz) latents -> (B, 3, 32, 32) images in [-1, 1]."""
        return super().forward(torch.cat([z, onehot], dim=1)[:, :, None, None])


class Discriminator(nn.Sequential):
    """image ++ one-hot planes -> ndf @ 16 -> 2 ndf @ 8 -> 4 ndf @ 4 -> one logit.

    The official ``discriminator``'s layers under its names (``conv1``, ``conv2``, ``conv2_bn``, ...; its final
    sigmoid is folded into the BCE-with-logits loss). ``bias``: whether the convolutions before BatchNorm have a bias.
    """

    def __init__(self, ndf: int = 128, *, bias: bool = True) -> None:
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(3 + NUM_CLASSES, ndf, 4, 2, 1), lrelu1=nn.LeakyReLU(0.2, True),
                conv2=nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=bias), conv2_bn=nn.BatchNorm2d(ndf * 2),
                lrelu2=nn.LeakyReLU(0.2, True),
                conv3=nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=bias), conv3_bn=nn.BatchNorm2d(ndf * 4),
                lrelu3=nn.LeakyReLU(0.2, True),
                conv4=nn.Conv2d(ndf * 4, 1, 4, 1, 0),
            )
        )  # fmt: skip

    def forward(self, image: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """(B, 3, 32, 32) images and (B, 10) one-hot classes -> (B,) logits."""
        planes = onehot[:, :, None, None].expand(-1, -1, *image.shape[2:])
        return super().forward(torch.cat([image, planes.to(image.dtype)], dim=1)).flatten()


def build_parser() -> argparse.ArgumentParser:
    """The command line: the common options plus the DCGAN widths."""
    parser = cli.base_parser(__doc__, DATASETS, PRESETS, default_out="runs/dcgan_cifar10")
    net = parser.add_argument_group("DCGAN")
    net.add_argument("--nz", type=int, default=100, help="latent size (default: 100)")
    cli.add_preset_options(
        net, PRESETS, {"ngf": "G width; its layers are 8/4/2 x ngf", "ndf": "D width; its layers are 1/2/4 x ndf"}
    )
    net.add_argument(
        "--weight-decay", type=cli.number(at_least=0), default=1e-4, help="Adam weight decay (default: 1e-4)"
    )
    cli.add_init_option(net, "normal on builtin; conv_normal on cifar10, the official N(0, 0.02) on every conv")
    return parser


def load_data(args) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """Training set and evaluation set (the first --eval-inputs items of the test split)."""
    if args.dataset == "builtin":
        return ShapesDataset("train"), ShapesDataset("test", per_mode=-(-args.eval_inputs // 80))
    return CIFAR10(args.data_root, "train"), CIFAR10(args.data_root, "test")


def parse_args(argv: list[str] | None = None, *, check_data: bool = True) -> tuple[argparse.ArgumentParser, Any]:
    """The parser and the checked options (``check_data=False``: the data options are not checked)."""
    parser = build_parser()
    return parser, cli.parse(parser, PRESETS, DATASETS, argv, check_data=check_data)


def make_networks(args: argparse.Namespace) -> dict[str, nn.Module]:
    """The generator and the discriminator, initialised from ``--seed`` (on the CPU, not wrapped)."""
    torch.manual_seed(args.seed)
    return {
        "G": init_weights(Generator(args.nz, args.ngf, bias=args.conv_bias), args.init),
        "D": init_weights(Discriminator(args.ndf, bias=args.conv_bias), args.init),
    }


def build_networks(argv: list[str] | None = None) -> dict[str, nn.Module]:
    """The networks ``main(argv)`` would train, as initialised; reads no data (``--data-root`` need not exist).

    Example:
        >>> nets = build_networks(["--dataset", "cifar10"])
        >>> {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
        {'G': 3531395, 'D': 2658689}
    """
    return make_networks(parse_args(argv, check_data=False)[1])


def official_keys(argv: list[str] | None = None) -> dict[str, Official]:
    """Where an official DCGAN checkpoint keeps each network of ``build_networks(argv)``.

    Its ``.pth`` dict holds G under ``"gen"`` and D under ``"dis"``, with our key names (the real preset's networks
    have the official shapes; ``argv`` is taken for the trainers' common signature). Load them with
    :func:`examples.common.official_checkpoints.load_official`.
    """
    del argv  # the same entries for every preset
    return {"G": Official("gen"), "D": Official("dis")}


def build_training(args: argparse.Namespace, runtime: Runtime) -> Parts:
    """Phase 1: the networks, their optimizers and the mode-seeking hook."""
    nets = make_networks(args)
    net_g, net_d = runtime.wrap(nets["G"]), runtime.wrap(nets["D"])
    opt = {"lr": args.lr, "betas": (0.5, 0.999), "weight_decay": args.weight_decay}
    parts = Parts(
        models={"G": net_g, "D": net_d},
        optimizers={
            "G": torch.optim.Adam(net_g.parameters(), **opt),
            "D": torch.optim.Adam(net_d.parameters(), **opt),
        },
        hook=ModeSeekingHook(net_g, latent="z", weight=cli.ms_weight(args), loss=cli.mode_seeking_criterion(args)),
        scaler=runtime.grad_scaler(),
    )
    return parts


def make_step(args: argparse.Namespace, runtime: Runtime, parts: Parts) -> Callable[[Any, torch.Generator], dict]:
    """Phase 2: one training step: D, then G with the mode-seeking term."""
    net_g, net_d = parts.models["G"], parts.models["D"]
    opt_g, opt_d, scaler, hook = parts.optimizers["G"], parts.optimizers["D"], parts.scaler, parts.hook

    def step(batch, rng: torch.Generator) -> dict[str, torch.Tensor]:
        real, labels = batch
        onehot = F.one_hot(labels, NUM_CLASSES).float()
        onehot2, z = paired_inputs(onehot, args.nz, generator=rng)  # [c; c], [z1; z2]
        with runtime.autocast():
            fake = net_g(onehot2, z=z)  # one forward of the 2B batch; the hook captures z and fake
            halves = fake.chunk(2)
            # the official sum over the halves: 2 BCE(real) + BCE(fake1) + BCE(fake2), D called once per half
            loss_d = 2 * bce(net_d(real, onehot), 1.0) + sum(bce(net_d(h.detach(), onehot), 0.0) for h in halves)
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(loss_d).backward()
        scaler.step(opt_d)
        with frozen(net_d), runtime.autocast():
            loss_adv = sum(bce(unwrap(net_d)(h, onehot), 1.0) for h in halves)  # BCE(fake1) + BCE(fake2)
        ms = hook.loss()  # ms_weight x MSGAN's term on the two halves
        loss_g = loss_adv + ms if args.ms_weight else loss_adv  # baseline: the term is only logged
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        scaler.update()
        return {"D": loss_d.detach(), "G": loss_adv.detach(), "ms": ms.detach()}

    return step


def make_evaluation(
    args: argparse.Namespace, runtime: Runtime, parts: Parts, eval_set: Any
) -> tuple[Callable[[Path], None], Callable[[], tuple[dict, dict]]]:
    """Phase 3: the sample grid and the evaluation."""
    net_g = parts.models["G"]
    eval_count = min(args.eval_inputs, len(eval_set))
    eval_labels = torch.tensor([eval_set[i][1] for i in range(eval_count)])
    plain_g = unwrap(net_g)

    def generate(labels: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """(N,) labels -> (N, samples, 3, 32, 32) images."""
        return sample_per_condition(plain_g, F.one_hot(labels, NUM_CLASSES).float(), samples, args.nz, seed)

    def samples(path: Path) -> None:
        save_grid(generate(torch.arange(NUM_CLASSES), 8, derive_seed(args.seed, 0x6121D)), path, scale=2)

    def evaluate() -> tuple[dict, dict]:
        fake = generate(eval_labels, args.eval_samples, derive_seed(args.seed, 0xE7A1))
        real = torch.stack([eval_set[i][0] for i in range(eval_count)])
        names = [eval_set.class_names[c] for c in range(NUM_CLASSES)]
        by_class = {names[c]: eval_labels == c for c in range(NUM_CLASSES) if bool((eval_labels == c).any())}
        ndb = {n: (real[m], fake[m].flatten(0, 1)) for n, m in by_class.items()}
        same_class = {n: fake[m] for n, m in by_class.items()}
        modes = None
        if isinstance(eval_set, ShapesDataset):
            groups = {n: (fake[m].flatten(0, 1), eval_set.prototypes(c)) for c, (n, m) in enumerate(by_class.items())}
            modes = (groups, eval_set.coverage_radius, eval_set.coverage_pool)
        return report(args, real, fake, ndb, same_class, modes)

    return samples, evaluate


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and save; returns the exit status."""
    parser, args = parse_args(argv)
    train_set, eval_set = cli.load_datasets(parser, load_data, args)
    resolve_ceiling(  # real images of each class: the ratio ceiling of the overshoot log (and of --ms-tau data)
        parser, args, lambda: groups_by_label(len(eval_set), lambda i: int(eval_set[i][1]), lambda i: eval_set[i][0])
    )
    with Runtime.start(args.device, args.amp, timeout=args.ddp_timeout) as runtime:
        parts = build_training(args, runtime)
        step = make_step(args, runtime, parts)
        samples, evaluate = make_evaluation(args, runtime, parts, eval_set)
        return fit(args, runtime, parts, train_set, step, samples, evaluate, task="dcgan_cifar10")


if __name__ == "__main__":
    sys.exit(run_main(main))
