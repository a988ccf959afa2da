"""DRIT on unpaired Yosemite summer<->winter / cat<->dog with the mode-seeking term (MSGAN, Mao et al. CVPR 2019, 4.3).

    python examples/drit_yosemite.py                                   # built-in summer/winter scenes, CPU minutes
    python examples/drit_yosemite.py --ms-weight 0                     # the baseline
    python examples/drit_yosemite.py --dataset yosemite --data-root datasets/yosemite
    python examples/drit_yosemite.py --dataset cat2dog --data-root datasets/cat2dog      # --concat 0 by default
    torchrun --nproc_per_node 2 examples/drit_yosemite.py --max-steps 100

DRIT (Lee et al., ECCV 2018) disentangles an image into a domain-invariant content code and a domain-specific
attribute code; the networks, as MSGAN's DRIT code builds them, are in examples/drit_networks.py. Content encoders per
domain end in a SHARED residual block and, in training, Gaussian noise; attribute encoders give an 8-d code, either
as a VAE (mu, logvar; ``--concat 1``: the code is concatenated into the generator, whose first block both domains
share; DRIT's Yosemite setting) or deterministically (``--concat 0``: an MLP turns it into the inputs of the
generator's attribute residual blocks; DRIT's cat2dog setting). Four multi-scale (3 scales) discriminators judge
the translations made with encoded attributes (D_A, D_B) and with random ones (D_A2, D_B2); a content discriminator
tells the domains' content codes apart and the encoders are trained to fool it (target 0.5).

One iteration, as the official code: the batch is split in halves (one image each at the official batch 2); the
first half is encoded and translated, the second half is only the real images of D_A2/D_B2. Then (a) every D
steps: D_A/D_B on the encoded translations, D_A2/D_B2 on 2 real + fake1 + fake2, the content D (gradient norm
clipped at 5); (b) the encoders and generators step on the adversarial loss, the content adversarial loss, the
cross-cycle and self reconstructions (L1 x10), KL 0.01 on the content codes and on the attribute code (the sum over
its dimensions); (c) the content encoders and generators step again, on the gradients of the random-attribute
losses taken at the same point: adversarial on both random translations, latent regression (L1 x10; the attribute
encoder is not updated by it) and the mode-seeking term in BOTH directions. BCE losses summed over the scales; Adam
1e-4 (content D 1e-4 / 2.5), betas (0.5, 0.999), weight decay 1e-4; within each epoch the content discriminator
alone on 2 of every 3 iterations, the count restarting every epoch, whose last 2 iterations always make the full
update (ContentSchedule); on real data 1200 epochs, the LR decaying per epoch over the last 600 (the official
``lambda`` policy: the last epoch at 2/601 of it); batch 2; images resized to a 256x256 square (bicubic), random 216
crop, flips (test images: the same resize and a centred crop). One difference remains: when a domain's size is not
a multiple of the batch, DRIT's loader ends the epoch with a short batch, which it skips yet counts among the last
two iterations; here an epoch has only whole batches, and its last two are full updates.

The mode-seeking term: each generator runs once on [content; content] of the encoded half with the random attribute
codes [z1; z2] (torch_modeseek.paired_inputs; the same pair in both directions, as the official code) and a
ModeSeekingHook per generator compares the two translations of the same content. Built-in data: scenes whose layout
is the content and whose appearance (8 known per domain) is free, so every input has 8 valid translations.
Evaluation: per test input several translations (5 on real data) in both directions, pixel-L1 diversity, NDB/JSD
against the other domain's test images, known-mode coverage on built-in data, FID/LPIPS with their weight files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as a script: make `examples.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if __name__ == "__main__":  # before the third-party imports: a missing package is one line, not a traceback
    from examples.common.dependencies import require_packages

    require_packages(__file__)

import torch
import torch.nn.functional as F
from torch import nn

from examples.common import cli
from examples.common.data.builtin_seasons import Seasons
from examples.common.data.sampler import steps_per_epoch
from examples.common.data.seeding import derive_seed
from examples.common.data.unpaired import UnpairedFolders
from examples.common.data_ceiling import resolve_ceiling
from examples.common.errors import run_main
from examples.common.evaluation import attach_coverage, diversity_groups, ndb_groups, weighted_metrics
from examples.common.gan_losses import bce
from examples.common.grids import save_grid
from examples.common.loop import Parts, fit
from examples.common.official_checkpoints import Official
from examples.common.runtime import Runtime, frozen, unwrap
from examples.common.sampling import evaluating
from examples.common.training import ContentSchedule, EpochLinearDecay, StepCounter, init_conv_normal
from examples.drit_networks import (
    AttributeEncoders,
    ContentDiscriminator,
    ContentEncoders,
    Generators,
    MultiScaleDiscriminator,
    official_rules,
)
from torch_modeseek import ModeSeekingHook, paired_inputs

DATASETS = ("builtin", "yosemite", "cat2dog")
_REAL = {"epochs": 1200, "decay_epochs": 600, "batch_size": 2, "lr": 1e-4, "ngf": 64, "ndf": 64, "d_layers": 4,
         "load_size": 256, "crop_size": 216, "save_every": 5000, "eval_every": 0, "eval_inputs": 50,
         "eval_samples": 5, "ndb_bins": 20}  # fmt: skip
PRESETS = {
    "builtin": {"epochs": 24, "decay_epochs": 12, "batch_size": 16, "lr": 2e-4, "ngf": 16, "ndf": 16, "d_layers": 2,
                "load_size": 32, "crop_size": 32, "concat": 1, "upsample": "nearest", "save_every": 500,
                "eval_every": 0, "eval_inputs": 16, "eval_samples": 16, "ndb_bins": 16},
    "yosemite": {**_REAL, "concat": 1, "upsample": "deconv"},
    "cat2dog": {**_REAL, "concat": 0, "upsample": "deconv"},
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
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
        "decay_epochs": "epochs at the end of --epochs over which the LR decays, once per epoch (the official rule)",
        "load_size": "real data: resize side before the random crop",
        "crop_size": "image side (a multiple of 4)",
    }
    cli.add_preset_options(net, PRESETS, options)
    return parser


def load_data(args) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """Training set and evaluation set (the test split)."""
    if args.dataset == "builtin":
        return Seasons("train", args.crop_size), Seasons("test", args.crop_size, scenes=32)
    sizes = {"load_size": args.load_size, "crop_size": args.crop_size}
    return UnpairedFolders(args.data_root, "train", **sizes), UnpairedFolders(args.data_root, "test", **sizes)


class Networks(NamedTuple):
    """The trainer's networks, each wrapped for the runtime (DDP when distributed)."""

    enc_c: nn.Module
    enc_a: nn.Module
    gen: nn.Module
    dis: dict[str, nn.Module]
    dis_c: nn.Module


def parse_args(argv: list[str] | None = None, *, check_data: bool = True) -> tuple[argparse.ArgumentParser, Any]:
    """The parser and the checked options (``check_data=False``: the data options are not checked)."""
    parser = build_parser()
    args = cli.parse(parser, PRESETS, DATASETS, argv, check_data=check_data)
    if args.batch_size < 2 or args.batch_size % 2:
        parser.error(f"--batch-size must be even (an encoded half, and real images for D2), got {args.batch_size}")
    if args.crop_size % 4 or args.crop_size // 2 ** (args.d_layers + 2) < 1:
        parser.error(f"--crop-size must be a multiple of 4 and >= {2 ** (args.d_layers + 2)} for --d-layers")
    return parser, args


def make_networks(args: argparse.Namespace) -> dict[str, nn.Module]:
    """The official code's networks under its names, initialised from ``--seed`` (on the CPU, not wrapped).

    ``enc_c`` (both domains' content encoders, with their shared block), ``enc_a`` (both attribute encoders), ``gen``
    (both generators), ``disA``/``disB`` (translations with encoded attributes), ``disA2``/``disB2`` (with random
    ones) and ``disContent``.
    """
    torch.manual_seed(args.seed)
    nets = {
        "enc_c": ContentEncoders(args.ngf),
        "enc_a": AttributeEncoders(args.ngf, args.nz, bool(args.concat)),
        "gen": Generators(args.ngf, args.nz, bool(args.concat), args.upsample),
        **{f"dis{k}": MultiScaleDiscriminator(args.ndf, args.d_layers) for k in ("A", "A2", "B", "B2")},
        "disContent": ContentDiscriminator(args.ngf * 4, args.crop_size // 4),
    }
    return {name: init_conv_normal(net) for name, net in nets.items()}


def build_networks(argv: list[str] | None = None) -> dict[str, nn.Module]:
    """The networks ``main(argv)`` would train, as initialised; reads no data (``--data-root`` need not exist).

    Example:
        >>> nets = build_networks(["--dataset", "cat2dog"])
        >>> {name: sum(p.numel() for p in nets[name].parameters()) for name in ("enc_a", "gen", "disContent")}
        {'enc_a': 5529872, 'gen': 17146374, 'disContent': 10683649}
    """
    return make_networks(parse_args(argv, check_data=False)[1])


def wrap_networks(nets: dict[str, nn.Module], runtime: Runtime) -> Networks:
    """Phase 1: the networks of :func:`make_networks`, on the device and wrapped for the runtime."""
    wrapped = {name: runtime.wrap(net) for name, net in nets.items()}
    dis = {k: wrapped[f"dis{k}"] for k in ("A", "A2", "B", "B2")}
    return Networks(wrapped["enc_c"], wrapped["enc_a"], wrapped["gen"], dis, wrapped["disContent"])


def official_keys(argv: list[str] | None = None) -> dict[str, Official]:
    """Where an official DRIT checkpoint keeps each network of ``build_networks(argv)`` and how it names its keys.

    Its ``.pth`` dict holds every network under the name :func:`make_networks` gives it; the key names differ
    (:func:`examples.drit_networks.official_rules`: VAE attribute encoder and concatenating generator with
    ``--concat 1``, the others with ``--concat 0``). Load with
    :func:`examples.common.official_checkpoints.load_official`.
    """
    concat = bool(parse_args(argv, check_data=False)[1].concat)
    return {name: Official(name, rules) for name, rules in official_rules(concat).items()}


def build_training(
    args: argparse.Namespace, runtime: Runtime, nets: Networks, train_size: int
) -> tuple[Parts, dict[str, ModeSeekingHook], StepCounter, ContentSchedule]:
    """Phase 2: optimizers, the official per-epoch LR decay, the mode-seeking hooks (one per direction)."""
    enc_c, enc_a, gen, dis, dis_c = nets
    adam = {"lr": args.lr, "betas": (0.5, 0.999), "weight_decay": 1e-4}
    optimizers = {
        "Ec": torch.optim.Adam(enc_c.parameters(), **adam),
        "Ea": torch.optim.Adam(enc_a.parameters(), **adam),
        "G": torch.optim.Adam(gen.parameters(), **adam),
        **{f"D{k}": torch.optim.Adam(d.parameters(), **adam) for k, d in dis.items()},
        "Dc": torch.optim.Adam(dis_c.parameters(), **{**adam, "lr": args.lr / 2.5}),
    }
    per_epoch = steps_per_epoch(train_size, args.batch_size, runtime.world_size)
    decay = EpochLinearDecay(per_epoch, max(0, args.epochs - args.decay_epochs), args.decay_epochs)
    ms_loss = cli.mode_seeking_criterion(args)
    decoders = unwrap(gen).decoders
    hooks = {d: ModeSeekingHook(decoders[d], latent="z", weight=cli.ms_weight(args), loss=ms_loss) for d in "AB"}
    counter = StepCounter()
    parts = Parts(
        models={"Ec": enc_c, "Ea": enc_a, "G": gen, "Dc": dis_c, "iteration": counter}
        | {f"D{k}": d for k, d in dis.items()},
        optimizers=optimizers,
        hook=hooks["B"],  # A -> B; the progress bar shows its ratio
        extra_hooks={"A": hooks["A"]},
        scaler=runtime.grad_scaler(),
        schedulers={k: torch.optim.lr_scheduler.LambdaLR(o, decay) for k, o in optimizers.items()},
    )
    return parts, hooks, counter, ContentSchedule(per_epoch)


def make_step(
    args: argparse.Namespace,
    runtime: Runtime,
    nets: Networks,
    parts: Parts,
    hooks: dict[str, ModeSeekingHook],
    counter: StepCounter,
    schedule: ContentSchedule,
) -> Callable[[Any, torch.Generator], dict[str, torch.Tensor]]:
    """Phase 3: one training step (DRIT's schedule: the content discriminator alone on 2 of 3 iterations)."""
    enc_c, enc_a, gen, dis, dis_c = nets
    device, vae, nz, optimizers = runtime.device, bool(args.concat), args.nz, parts.optimizers
    scaler, logged = parts.scaler, {}
    second_step = [p for m in (enc_c, gen) for p in m.parameters()]  # what the random-attribute losses update

    def update(name: str, loss: torch.Tensor, clip: float | None = None) -> None:
        optimizers[name].zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip is not None:
            scaler.unscale_(optimizers[name])
            nn.utils.clip_grad_norm_(dis_c.parameters(), clip)
        scaler.step(optimizers[name])

    def attribute(mu: torch.Tensor, logvar: torch.Tensor | None, eps: torch.Tensor) -> torch.Tensor:
        return mu if logvar is None else mu + torch.exp(0.5 * logvar) * eps

    def content_step(a: torch.Tensor, b: torch.Tensor, code_noise: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The iterations that train the content discriminator alone."""
        with torch.no_grad(), runtime.autocast():
            ca, cb = enc_c(a, b, *code_noise[:2])
        with runtime.autocast():
            loss_dc = bce(dis_c(ca), 0.0) + bce(dis_c(cb), 1.0)
        update("Dc", loss_dc, clip=5.0)
        scaler.update()
        logged["Dc"] = loss_dc.detach()
        return dict(logged)

    def generator_updates(loss_eg: torch.Tensor, loss_random: torch.Tensor) -> None:
        """DRIT's two updates of encoders and generators.

        All of them by ``loss_eg``, then the content encoders and generators alone by the random-attribute losses
        (their gradients taken first, averaged over the ranks).
        """
        grads_random = runtime.average(
            torch.autograd.grad(scaler.scale(loss_random), second_step, retain_graph=True, allow_unused=True)
        )
        for name in ("Ec", "Ea", "G"):
            optimizers[name].zero_grad(set_to_none=True)
        scale = scaler.get_scale() if scaler.is_enabled() else 1.0
        scaler.scale(loss_eg).backward()
        for name in ("Ec", "Ea", "G"):
            scaler.step(optimizers[name])
        scaler.update()
        present = [g for g in grads_random if g is not None]
        if not present or bool(torch.stack([torch.isfinite(g).all() for g in present]).all()):  # AMP overflow: skip
            for param, grad in zip(second_step, grads_random, strict=True):
                param.grad = None if grad is None else grad / scale
            optimizers["Ec"].step()
            optimizers["G"].step()

    def step(batch, rng: torch.Generator) -> dict[str, torch.Tensor]:
        a_all, b_all = batch
        n, side = a_all.shape[0] // 2, args.crop_size // 4
        a, b, a_random, b_random = a_all[:n], b_all[:n], a_all[n:], b_all[n:]  # encoded half, D2's real half

        def noise(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=rng).to(device)

        code_noise = [noise(n, args.ngf * 4, side, side) for _ in range(4)]  # DRIT's Gaussian noise on content
        if schedule.content_only(counter()):  # 2 of 3 iterations: the content discriminator alone
            return content_step(a, b, code_noise)
        eps = [noise(n, nz) for _ in range(4)]
        with runtime.autocast():
            ca, cb = enc_c(a, b, *code_noise[:2])
            (mu_a, lv_a), (mu_b, lv_b) = enc_a(a, b)
            za, zb = attribute(mu_a, lv_a, eps[0]), attribute(mu_b, lv_b, eps[1])
            with hooks["A"].ignored(), hooks["B"].ignored():  # translations with encoded attributes: not the pairs
                fake_a, self_a = gen(torch.cat([cb, ca]), torch.cat([za, za]), "A").chunk(2)  # B->A, A->A
                fake_b, self_b = gen(torch.cat([ca, cb]), torch.cat([zb, zb]), "B").chunk(2)
            (cb2,), z_random = paired_inputs((cb,), nz, generator=rng)  # [content; content], [z1; z2]
            rand_a = gen(cb2, z_random, "A")  # two random-attribute translations of the same content
            ms_a = hooks["A"].loss()  # ms_weight x MSGAN's term, B -> A
            rand_b = gen(torch.cat([ca, ca]), z_random, "B")  # the same codes in the other direction
            ms_b = hooks["B"].loss()  # A -> B
            loss_d = {
                "DA": bce(dis["A"](a), 1.0) + bce(dis["A"](fake_a.detach()), 0.0),
                "DB": bce(dis["B"](b), 1.0) + bce(dis["B"](fake_b.detach()), 0.0),
                # 2 real + fake1 + fake2: D has no normalisation, so one call on both fakes is 2 x their mean
                "DA2": 2 * (bce(dis["A2"](a_random), 1.0) + bce(dis["A2"](rand_a.detach()), 0.0)),
                "DB2": 2 * (bce(dis["B2"](b_random), 1.0) + bce(dis["B2"](rand_b.detach()), 0.0)),
            }
            loss_dc = bce(dis_c(ca.detach()), 0.0) + bce(dis_c(cb.detach()), 1.0)
        for name, loss in loss_d.items():
            update(name, loss)
        update("Dc", loss_dc, clip=5.0)
        plain = {k: unwrap(d) for k, d in dis.items()}
        with frozen(*dis.values(), dis_c), runtime.autocast():
            # (b) encoders and generators: translations with encoded attributes
            adv = bce(plain["A"](fake_a), 1.0) + bce(plain["B"](fake_b), 1.0)
            adv_content = bce(unwrap(dis_c)(ca), 0.5) + bce(unwrap(dis_c)(cb), 0.5)
            cb_rec, ca_rec = enc_c(fake_a, fake_b, *code_noise[2:])  # fake_a holds b's content, fake_b a's
            (mu_fa, lv_fa), (mu_fb, lv_fb) = enc_a(fake_a, fake_b)
            with hooks["A"].ignored(), hooks["B"].ignored():
                rec_a = gen(ca_rec, attribute(mu_fa, lv_fa, eps[2]), "A")  # cross-cycle: back to the originals
                rec_b = gen(cb_rec, attribute(mu_fb, lv_fb, eps[3]), "B")
            cycle = F.l1_loss(rec_a.float(), a) + F.l1_loss(rec_b.float(), b)
            self_rec = F.l1_loss(self_a.float(), a) + F.l1_loss(self_b.float(), b)
            if vae:  # the official sum over the code's dimensions (mean over the batch)
                kl_attr = sum(
                    -0.5 * (1 + lv.float() - mu.float() ** 2 - lv.float().exp()).sum(1).mean()
                    for mu, lv in ((mu_a, lv_a), (mu_b, lv_b))
                )
            else:
                kl_attr = za.float().pow(2).mean() + zb.float().pow(2).mean()
            kl_content = ca.float().pow(2).mean() + cb.float().pow(2).mean()
            loss_eg = adv + adv_content + 10 * (cycle + self_rec) + 0.01 * (kl_attr + kl_content)
            # (c) content encoders and generators again: translations with random attributes
            pairs = (("A2", rand_a), ("B2", rand_b))
            adv_random = sum(bce(plain[k](x), 1.0) for k, pair in pairs for x in pair.chunk(2))  # fake1 + fake2
            with frozen(enc_a):  # latent regression trains the generators (and content encoders) only
                (za_rec, _), (zb_rec, _) = unwrap(enc_a)(rand_a[:n], rand_b[:n])
            latent = F.l1_loss(za_rec.float(), z_random[:n]) + F.l1_loss(zb_rec.float(), z_random[:n])
            loss_random = adv_random + 10 * latent
        loss_random = loss_random + (ms_a + ms_b if args.ms_weight else 0.0)  # baseline: the terms are only logged
        generator_updates(loss_eg, loss_random)
        logged.update(D=sum(loss_d.values()).detach(), Dc=loss_dc.detach(), G=(adv + adv_random).detach(),
                      rec=(cycle + self_rec).detach(), ms=(ms_a + ms_b).detach())  # fmt: skip
        return dict(logged)

    return step


def make_evaluation(
    args: argparse.Namespace, runtime: Runtime, nets: Networks, eval_set: Any
) -> tuple[Callable[[Path], None], Callable[[], tuple[dict, dict]]]:
    """Phase 4: the sample grid and the evaluation (both directions), on the unwrapped networks."""
    device, nz = runtime.device, args.nz
    enc_c, gen = nets.enc_c, nets.gen
    builtin = isinstance(eval_set, Seasons)
    count = min(args.eval_inputs, eval_set.scenes if builtin else len(eval_set))
    picks = list(range(count)) if builtin else torch.linspace(0, len(eval_set) - 1, count).long().tolist()

    def inputs(domain: str) -> torch.Tensor:
        if builtin:
            return torch.stack([eval_set.image(domain, s * Seasons.num_modes) for s in picks])
        return torch.stack([eval_set.image(domain, i) for i in picks])

    eval_inputs = {"A": inputs("A"), "B": inputs("B")}
    plain_c, plain_g = unwrap(enc_c), unwrap(gen)

    def translate(source: str, x: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """(N, 3, S, S) images of ``source`` -> (N, samples, 3, S, S) in the other domain, random attributes."""
        target, gen, out = "B" if source == "A" else "A", torch.Generator().manual_seed(seed), []
        with evaluating(plain_c, plain_g):
            for chunk in x.split(max(1, 128 // samples)):
                content = plain_c.encode(chunk.to(device), source).repeat_interleave(samples, 0)
                z = torch.randn(content.shape[0], nz, generator=gen).to(device)
                out.append(plain_g(content, z, target).float().cpu())
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

    return samples, evaluate


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and save; returns the exit status."""
    parser, args = parse_args(argv)
    train_set, eval_set = cli.load_datasets(parser, load_data, args)
    modes = Seasons.num_modes  # built-in: the known appearances of one scene are its condition's samples
    resolve_ceiling(
        parser,
        args,
        lambda: (
            [
                torch.stack([eval_set.image(d, s * modes + m) for m in range(modes)])
                for s in range(min(16, eval_set.scenes))
                for d in "AB"
            ]
            if isinstance(eval_set, Seasons)
            else None
        ),  # real unpaired data: one image per content
    )
    with Runtime.start(args.device, args.amp, timeout=args.ddp_timeout) as runtime:
        nets = wrap_networks(make_networks(args), runtime)
        parts, hooks, counter, schedule = build_training(args, runtime, nets, len(train_set))
        step = make_step(args, runtime, nets, parts, hooks, counter, schedule)
        samples, evaluate = make_evaluation(args, runtime, nets, eval_set)
        return fit(args, runtime, parts, train_set, step, samples, evaluate, task="drit_yosemite")


if __name__ == "__main__":
    sys.exit(run_main(main))
