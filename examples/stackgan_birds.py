"""StackGAN++ on CUB-200-2011 birds, conditioned on text, with the mode-seeking term (MSGAN, Mao et al. CVPR 2019, 4.4).

    python examples/stackgan_birds.py                # built-in birds and captions, about 9 minutes on a 2-core CPU
    python examples/stackgan_birds.py --ms-weight 0  # the baseline
    python examples/stackgan_birds.py --dataset cub --data-root data/birds
    torchrun --nproc_per_node 2 examples/stackgan_birds.py --max-steps 100

The network of StackGAN++ (Zhang et al., TPAMI 2018): conditioning augmentation turns a caption embedding into c = mu +
sigma * eps (FC + GLU; 2 x the KL(N(mu, sigma) || N(0, I)) of each sample in G's loss); a tree generator maps c ++ z
through FC + GLU to 4x4 and upsampling GLU blocks to the first stage's features, and each further stage joins c again (c
++ h, 3x3 conv + GLU), runs 2 residual blocks and upsamples x2; every stage has its own 3x3 conv + tanh image
(64/128/256 px on real data). The networks (examples/stackgan_networks.py) have the official module names and parameter
shapes: the official netG/netD files load as they are (official_keys). One discriminator per stage has an unconditional
logit (real or not) and a conditional one (image ++ mu: does it match the caption); D is trained on the real image
(real), the real image of another class with this caption (wrong) and the generated images (fake), with the
unconditional terms at weight 1. Orthogonal init (StackGAN++'s weights_init); Adam 2e-4, betas (0.5, 0.999); an EMA copy
of G (decay 0.999) is what is saved and evaluated.

The mode-seeking term: each step runs G once on [c; c] with [z1; z2] (torch_modeseek.paired_inputs; as in the
official code the two samples share the caption but draw their own augmentation noise eps) and ModeSeekingHook
compares the FINAL stage only (output=(0, -1) of G's (stages, mu, logvar)), as the paper did. The losses follow the
official code's sums over the two samples: per stage D minimises real + wrong + fake1 + fake2 (each a BCE, D called
once per half, so BatchNorm sees one half at a time, unconditional terms alike) and G minimises fake1 + fake2
against the updated D, plus 2 (KL1 + KL2), plus the mode-seeking term (official form, batch ratio, weight 1 in both
presets).

Real data: the StackGAN ``birds`` folder (CUB-200-2011 images and bounding boxes, char-CNN-RNN embeddings N x 10 x
1024, filenames and class_info pickles, text/); 1 of the 10 captions per step; bounding-box crop, shorter side
resized to 304, random 256 crop, flip; 1000 epochs (cfg/birds_3stages.yml); batch 4 pairs per process; everything as
the official code (``--condition-grad official``).

Built-in data (the default): drawn birds whose captions name the body and wing colours (16 classes) and never the
scene behind the bird, one of 8 (the known modes of every caption), with a deterministic text encoder producing
embeddings of the same (N, 10, 1024) shape (examples/common/data/builtin_birds.py, text_encoder.py). Its preset, and
why, each measured on this project's 2-core CPU (an AMD EPYC, with the networks as they were before they took the
official parameter shapes and c-first order; the current figures are in docs/reproduction.md): stages of 8/16/32 px,
G width 64, D width 32, a 128-d condition code (the real preset's), Adam 4e-4, EMA decay 0.99, 36 epochs (2,304
steps of 16 captions); the smallest widths and code that still drew the captions' colours within the time (G 48 / D
24 drew the right bird for 48% of the samples at 2,560 steps, against 93-97% here). And ``--condition-grad images``:
in G's step the official code feeds D's conditional logit the augmentation's mu without detaching it, so G can raise
"matches the caption" by moving the caption's code towards whatever its images look like instead of changing the
images; D, trained on those codes, then follows them, and the caption stops steering the picture. Seed 0 of the
built-in run, one thread: with the official gradient 25% of the samples showed their own caption's bird
(``class_accuracy``; chance is 6%) and 3.3 of 8 modes were covered; with mu detached there, so that only the images
can answer D's conditional logit, 76% and 5.8. With the official networks, over seeds 0-2 on an Intel Xeon: 86% and
5.25 modes covered. The mode-seeking term itself is the official one.

Evaluation (EMA generator): per evaluation caption several samples (50 on real data, 24 built in), pixel-L1
diversity, NDB/JSD against the test images, FID with --fid-weights, LPIPS with its weights; on built-in data the
known modes (``modes_classified``, ``modes_covered``) and ``class_accuracy``, the share of samples whose nearest
prototype of all 16 x 8 is one of their caption's (the captions' colours followed). The grid shows one caption per
row, its real image and samples.

Known differences from the official code: its save_model loads the EMA weights into the live G at every snapshot and
never restores them (this trainer keeps them apart), and its evaluation draws 50 samples for each of the 10 captions
of every test image (here: caption 0 of --eval-inputs evenly spaced test images).
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
from examples.common.data.builtin_birds import BirdCaptions
from examples.common.data.captioned import CaptionedImages
from examples.common.data.cub import CUBBirds
from examples.common.data.seeding import derive_seed
from examples.common.data_ceiling import groups_by_label, resolve_ceiling
from examples.common.ema import ema_copy, ema_update
from examples.common.errors import run_main
from examples.common.evaluation import class_accuracy, report
from examples.common.gan_losses import bce
from examples.common.grids import save_grid
from examples.common.loop import Parts, fit
from examples.common.official_checkpoints import Official
from examples.common.runtime import Runtime, frozen, unwrap
from examples.common.sampling import evaluating
from examples.common.training import init_weights
from examples.stackgan_networks import Generator, StageDiscriminator
from torch_modeseek import ModeSeekingHook, paired_inputs

DATASETS = ("builtin", "cub")
TEXT_DIM = 1024  # char-CNN-RNN caption embeddings (and the built-in text encoder's)
PRESETS = {
    "builtin": {"epochs": 36, "batch_size": 16, "lr": 4e-4, "ngf": 64, "ndf": 32, "c_dim": 128, "base_size": 8,
                "ema_decay": 0.99, "save_every": 500, "eval_every": 0, "eval_inputs": 16, "eval_samples": 24,
                "ndb_bins": 16, "condition_grad": "images"},
    "real": {"epochs": 1000, "batch_size": 4, "lr": 2e-4, "ngf": 64, "ndf": 64, "c_dim": 128, "base_size": 64,
             "ema_decay": 0.999, "save_every": 2000, "eval_every": 0, "eval_inputs": 100, "eval_samples": 50,
             "ndb_bins": 100, "condition_grad": "official"},
}  # fmt: skip


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """StackGAN++'s KL_loss: the mean over elements of KL(N(mu, exp(logvar)) || N(0, 1)), in float32."""
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


def build_parser() -> argparse.ArgumentParser:
    """The command line: the common options plus the StackGAN++ ones."""
    parser = cli.base_parser(__doc__, DATASETS, PRESETS, default_out="runs/stackgan_birds")
    net = parser.add_argument_group("StackGAN++")
    net.add_argument("--nz", type=int, default=100, help="latent size (default: 100)")
    net.add_argument("--stages", type=int, choices=[1, 2, 3], default=3, help="generator stages (default: 3)")
    net.add_argument(
        "--kl-weight",
        type=cli.number(at_least=0),
        default=2.0,
        help="weight of the augmentation's KL, summed over the two samples (default: 2)",
    )
    net.add_argument(
        "--uncond-weight",
        type=cli.number(at_least=0),
        default=1.0,
        help="weight of the unconditional terms (default: 1)",
    )
    net.add_argument(
        "--ema-decay",
        type=cli.number(at_least=0, below=1),
        help="EMA decay of the saved and evaluated G (default: 0.99 on builtin, 0.999 on real data)",
    )
    net.add_argument(
        "--condition-grad",
        choices=["official", "images"],
        help="official: G's adversarial loss also reaches the augmentation's mu through D's condition input, as in "
        "StackGAN++ and MSGAN; images: that input is detached in G's step too, so only the images answer D's "
        "conditional logit (default: images on builtin, official on real data; see the docstring)",
    )
    options = {"ngf": "G width", "ndf": "D width", "c_dim": "conditioning code size", "base_size": "stage-1 side"}
    cli.add_preset_options(net, PRESETS, options)
    return parser


def load_data(args) -> tuple[CaptionedImages, CaptionedImages]:
    """Training and test sets at the final stage's size."""
    size = args.base_size * 2 ** (args.stages - 1)
    if args.dataset == "builtin":
        return BirdCaptions("train", size), BirdCaptions("test", size, per_mode=2)
    return CUBBirds(args.data_root, "train", size), CUBBirds(args.data_root, "test", size)


def parse_args(argv: list[str] | None = None, *, check_data: bool = True) -> tuple[argparse.ArgumentParser, Any]:
    """The parser and the checked options (``check_data=False``: the data options are not checked)."""
    parser = build_parser()
    args = cli.parse(parser, PRESETS, DATASETS, argv, check_data=check_data)
    if args.base_size < 8 or not math.log2(args.base_size).is_integer():
        parser.error(f"--base-size must be a power of two >= 8, got {args.base_size}")
    if args.ngf % 2 ** (args.stages - 1):
        parser.error(f"--ngf must be divisible by {2 ** (args.stages - 1)} (each stage halves the width)")
    return parser, args


def make_networks(args: argparse.Namespace, t_dim: int = TEXT_DIM) -> dict[str, nn.Module]:
    """G and one D per stage (``D0`` at the first stage's size), orthogonal init from ``--seed`` (CPU, not wrapped).

    ``t_dim`` is the caption embeddings' size (the data's; char-CNN-RNN embeddings have 1024).
    """
    torch.manual_seed(args.seed)
    nets = {"G": Generator(args.nz, t_dim, args.c_dim, args.ngf, args.base_size, args.stages)}
    for k in range(args.stages):
        nets[f"D{k}"] = StageDiscriminator(args.base_size * 2**k, args.ndf, args.c_dim)
    return {name: init_weights(net, "orthogonal") for name, net in nets.items()}


def build_networks(argv: list[str] | None = None) -> dict[str, nn.Module]:
    """The networks ``main(argv)`` would train, as initialised; reads no data (``--data-root`` need not exist).

    The real preset's orthogonal initialisation takes about a minute on a CPU; on the ``meta`` device, shapes only:

    Example:
        >>> with torch.device("meta"):
        ...     nets = build_networks(["--dataset", "cub"])
        >>> {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
        {'G': 21239696, 'D0': 5723906, 'D1': 18834178, 'D2': 71269122}
    """
    return make_networks(parse_args(argv, check_data=False)[1])


def official_keys(argv: list[str] | None = None) -> dict[str, Official]:
    """Where the official StackGAN++ code keeps each network of ``build_networks(argv)``.

    One file per network, ``netG_<iteration>.pth`` and ``netD0.pth``, ``netD1.pth``, ``netD2.pth`` (saved from
    DataParallel, so every key starts with ``module.``, which the loader removes), with our key names: pass
    ``{"netG": ..., "netD0": ..., ...}`` to :func:`examples.common.official_checkpoints.load_official`.
    """
    stages = parse_args(argv, check_data=False)[1].stages
    return {"G": Official("netG")} | {f"D{k}": Official(f"netD{k}") for k in range(stages)}


def build_training(args: argparse.Namespace, runtime: Runtime, t_dim: int) -> Parts:
    """Phase 1: the generator (and its EMA copy), one discriminator per stage, optimizers, the hook."""
    nets = make_networks(args, t_dim)
    fast = torch.channels_last  # NHWC convolutions: about 12% faster per step on a 2-core CPU, measured
    net_g = runtime.wrap(nets.pop("G").to(memory_format=fast))
    g_ema = ema_copy(unwrap(net_g))
    nets_d = [runtime.wrap(d.to(memory_format=fast)) for d in nets.values()]
    adam = {"lr": args.lr, "betas": (0.5, 0.999), "foreach": True}
    parts = Parts(
        models={"G": net_g, "G_ema": g_ema, **{f"D{k}": d for k, d in enumerate(nets_d)}},
        optimizers={"G": torch.optim.Adam(net_g.parameters(), **adam)}
        | {f"D{k}": torch.optim.Adam(d.parameters(), **adam) for k, d in enumerate(nets_d)},
        hook=ModeSeekingHook(
            net_g,
            latent="z",
            output=(0, -1),  # the final stage of (stages, mu, logvar)
            weight=cli.ms_weight(args),
            loss=cli.mode_seeking_criterion(args),
            check_pairs="never",  # the augmentation noise `eps` differs between the samples by design
        ),
        scaler=runtime.grad_scaler(),
    )
    return parts


def make_step(args: argparse.Namespace, runtime: Runtime, parts: Parts) -> Callable[[Any, torch.Generator], dict]:
    """Phase 2: one training step: the stage discriminators, then G (adversarial + KL + the mode-seeking term)."""
    device, sizes, fast = runtime.device, [args.base_size * 2**k for k in range(args.stages)], torch.channels_last
    net_g, g_ema = parts.models["G"], parts.models["G_ema"]
    nets_d = [parts.models[f"D{k}"] for k in range(args.stages)]
    scaler, hook, opt_g = parts.scaler, parts.hook, parts.optimizers["G"]
    official_grad = args.condition_grad == "official"

    def pyramid(images: torch.Tensor) -> list[torch.Tensor]:
        """Real images at every stage's size (the final size as loaded; smaller ones resized, as StackGAN++)."""
        resized = (
            images if s == images.shape[-1] else F.interpolate(images, size=s, mode="bilinear", antialias=True)
            for s in sizes
        )
        return [r.contiguous(memory_format=fast) for r in resized]

    def step(batch, rng: torch.Generator) -> dict[str, torch.Tensor]:
        real, wrong, embedding = batch
        b = real.shape[0]
        embedding2, z = paired_inputs(embedding, args.nz, generator=rng)  # [c; c], [z1; z2]
        eps2 = torch.randn(2 * b, args.c_dim, generator=rng).to(device)  # augmentation noise of its own per sample
        reals, wrongs = pyramid(real), pyramid(wrong)
        with runtime.autocast():
            fakes, mu, logvar = net_g(z, embedding2, eps2)  # one forward of the 2B batch; the hook takes fakes[-1]
        mus, logvars = mu.chunk(2), logvar.chunk(2)
        loss_d = torch.zeros((), device=device)
        for k, net_d in enumerate(nets_d):
            with runtime.autocast():  # real + wrong + fake1 + fake2, D called once per half as the official code
                real_c, real_u = net_d(reals[k], mus[0].detach())
                wrong_c, wrong_u = net_d(wrongs[k], mus[0].detach())
                err = bce(real_c, 1.0) + bce(wrong_c, 0.0) + args.uncond_weight * (bce(real_u, 1.0) + bce(wrong_u, 1.0))
                for half, mu_half in zip(fakes[k].detach().chunk(2), mus, strict=True):
                    fake_c, fake_u = net_d(half, mu_half.detach())
                    err = err + bce(fake_c, 0.0) + args.uncond_weight * bce(fake_u, 0.0)
            parts.optimizers[f"D{k}"].zero_grad(set_to_none=True)
            scaler.scale(err).backward()
            scaler.step(parts.optimizers[f"D{k}"])
            loss_d = loss_d + err.detach()
        with frozen(*nets_d), runtime.autocast():
            loss_adv = torch.zeros((), device=device)
            for k, net_d in enumerate(nets_d):  # fake1 + fake2 per stage
                for half, mu_half in zip(fakes[k].chunk(2), mus, strict=True):
                    fake_c, fake_u = unwrap(net_d)(half, mu_half if official_grad else mu_half.detach())
                    loss_adv = loss_adv + bce(fake_c, 1.0) + args.uncond_weight * bce(fake_u, 1.0)
        kl = sum(kl_divergence(m, lv) for m, lv in zip(mus, logvars, strict=True))  # KL1 + KL2
        ms = hook.loss()  # ms_weight x MSGAN's term on the two halves of the final stage
        loss_g = loss_adv + args.kl_weight * kl + (ms if args.ms_weight else 0.0)  # baseline: the term is only logged
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        scaler.update()
        ema_update(g_ema, unwrap(net_g), args.ema_decay)
        return {"D": loss_d, "G": loss_adv.detach(), "KL": kl.detach(), "ms": ms.detach()}

    return step


def make_evaluation(
    args: argparse.Namespace, runtime: Runtime, parts: Parts, eval_set: Any
) -> tuple[Callable[[Path], None], Callable[[], tuple[dict, dict]]]:
    """Phase 3: the sample grid and the evaluation, with the EMA generator."""
    device, g_ema = runtime.device, parts.models["G_ema"]
    builtin = isinstance(eval_set, BirdCaptions)
    count = min(args.eval_inputs, BirdCaptions.num_classes if builtin else len(eval_set))
    picks = torch.linspace(0, len(eval_set) - 1, count).long().tolist() if not builtin else list(range(count))
    embeddings = torch.from_numpy(eval_set.embeddings[picks, 0]).float()  # caption 0 of each evaluation image
    captions = [f"{k}: {(eval_set.captions(i) or [f'test image {i}'])[0]}" for k, i in enumerate(picks)]

    def generate(emb: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """(N, t_dim) embeddings -> (N, samples, 3, S, S) final-stage images of the EMA generator."""
        gen, out = torch.Generator().manual_seed(seed), []
        with evaluating(g_ema):
            for chunk in emb.split(max(1, 256 // samples)):
                rep = chunk.repeat_interleave(samples, 0)
                z, eps = (
                    torch.randn(rep.shape[0], args.nz, generator=gen),
                    torch.randn(rep.shape[0], args.c_dim, generator=gen),
                )
                out.append(g_ema(z.to(device), rep.to(device), eps.to(device))[0][-1].float().cpu())
        return torch.cat(out).reshape(emb.shape[0], samples, *out[0].shape[1:])

    def samples(path: Path) -> None:
        rows = min(8, count)
        real = torch.stack([eval_set.image(i, None) for i in picks[:rows]])
        fake = generate(embeddings[:rows], 8, derive_seed(args.seed, 0x6121D))
        grid = torch.cat([real[:, None], fake], dim=1)
        save_grid(grid, path, scale=2 if builtin else 1, labels=captions[:rows])

    def evaluate() -> tuple[dict, dict]:
        fake = generate(embeddings, args.eval_samples, derive_seed(args.seed, 0xE7A1))
        n_real = len(eval_set) if builtin else min(len(eval_set), count * args.eval_samples)
        real = torch.stack(
            [eval_set.image(i, None) for i in torch.linspace(0, len(eval_set) - 1, n_real).long().tolist()]
        )
        modes = None
        if builtin:
            groups = {
                captions[i]: (fake[i], eval_set.prototypes(int(eval_set.class_ids[picks[i]]))) for i in range(count)
            }
            modes = (groups, eval_set.coverage_radius, eval_set.coverage_pool)
        same_caption = {captions[i]: fake[i] for i in range(count)}
        summary, ndb_results = report(args, real, fake, {"all": (real, fake.flatten(0, 1))}, same_caption, modes)
        if builtin:  # beyond the shared report: whether each sample shows its own caption's bird
            labels = torch.as_tensor(eval_set.class_ids[picks[:count]])
            accuracy = class_accuracy(fake, labels, eval_set.all_prototypes(), eval_set.coverage_pool)
            summary["class_accuracy"], summary["class_accuracy_per_caption"] = accuracy.values()
        return summary, ndb_results

    return samples, evaluate


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and save; returns the exit status."""
    parser, args = parse_args(argv)
    train_set, eval_set = cli.load_datasets(parser, load_data, args)
    resolve_ceiling(  # real images of each caption class: the ratio ceiling of the overshoot log
        parser,
        args,
        lambda: groups_by_label(
            len(eval_set), lambda i: int(eval_set.class_ids[i]), lambda i: eval_set.image(i, None), per_group=8
        ),
    )
    with Runtime.start(args.device, args.amp, timeout=args.ddp_timeout) as runtime:
        parts = build_training(args, runtime, t_dim=int(train_set.embeddings.shape[2]))
        step = make_step(args, runtime, parts)
        samples, evaluate = make_evaluation(args, runtime, parts, eval_set)
        return fit(args, runtime, parts, train_set, step, samples, evaluate, task="stackgan_birds")


if __name__ == "__main__":
    sys.exit(run_main(main))
