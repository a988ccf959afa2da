"""Choosing the weight and the form: the mode-seeking term added to a generic class-conditional MLP GAN.

The GAN is the small, standard one of the popular PyTorch cGAN tutorials (the widely copied ``cgan.py`` of the
PyTorch-GAN collection), written here for the guide (``docs/choosing-the-weight.md``) with its widths cut for 8x8
images and a CPU budget: an embedding of the label concatenated with the noise, an MLP generator with BatchNorm and a
tanh output, ``forward(noise, labels)``; an MLP discriminator on the image concatenated with a label embedding, with
dropout; BCE adversarial losses as means over the batch (the usual third-party convention, not the paper's sums over
the two samples); Adam (2e-4, betas 0.5/0.999), batch 64. It trains on scikit-learn's real handwritten digits
(``sklearn.datasets.load_digits``: 1,797 8x8 images, 10 classes, shipped with scikit-learn), scaled to [-1, 1].

The term is added the way the README says: ``ModeSeekingHook(generator, latent="noise", weight=..., loss=...)``, one
forward of the doubled batch from ``paired_inputs``, ``loss_g = adv_loss + hook.loss()``. Every run holds a hook (the
baseline with weight 0), so the ratio is logged for every configuration.

Configurations (``CONFIGS``): the baseline; the official reciprocal form at weights 0.02 to 5; reciprocal 0.5 with a
linear warm-up over the first ``--warmup-fraction`` of the steps; the clamped form with ``tau`` = the data's ceiling
(``diversity_ceiling`` of the real digits, L1 over L1, ``--latent-dim``) at weights 0.5 to 10. For every run, at
the end (generator in eval mode, ``--eval-per-class`` samples per class):

* ``diversity``: the library's ``torch_modeseek.metrics.diversity``, pixel L1 between two samples of one class, on
  pixels in [0, 1] (the paper's convention), ``--pairs`` random pairs per class; the real digits' value for reference;
* ``ndb``: ``torch_modeseek.metrics.NDB`` per class (K = ``--bins`` k-means bins fitted on that class's ~180 real
  digits, no whitening, alpha 0.05), summed over the 10 classes (0..10 K); ``jsd``: the mean over classes;
* ``accuracy``: the share of generated samples that a digit classifier (scikit-learn ``SVC``, RBF kernel, trained on
  70% of the real digits; its held-out accuracy on the other 30% is recorded) assigns to their condition;
* ``ratio_init`` (the hook's batch ratio at the first step, before any update), ``ratio_end`` and ``overshoot_end``
  (means over the last ``--tail`` steps of ``hook.last_ratio`` and of ``overshoot(hook.last_ratios, ceiling)``),
  ``adv_init`` and ``term_init`` (the generator's adversarial loss and the unweighted term at the first step); once
  per grid, the real digits' own share of pairs past the ceiling (``real_overshoot``, fresh latents for the latent
  distances) and the ratio at initialisation of the tutorial's full-width generator (``tutorial_width_init``).

Outputs in ``--out`` (default ``benchmarks/results/weight_guide``): ``weight_guide.json`` (machine, versions, date,
settings, every run, mean/std per configuration), ``runs.csv`` (one row per run), ``summary.csv`` (one row per
configuration), ``weight_guide.png`` (accuracy, NDB, diversity and the final ratio against the weight, mean and std
over seeds) and ``samples.png`` (the first seed of every configuration, a row per class); ``--docs-assets DIR``
copies the two PNGs there too (``docs/choosing-the-weight`` for the guide).

    python benchmarks/weight_guide.py --jobs 2 --docs-assets docs/choosing-the-weight   # 39 runs: 693 s, 2-core CPU
    python benchmarks/weight_guide.py --configs baseline clamped-0.5 --seeds 0 --steps 200 --out /tmp/wg
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch_modeseek
from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, diversity_ceiling, linear_warmup, overshoot, paired_inputs
from torch_modeseek.metrics import NDB, diversity, images_to_unit_range

ROOT = Path(__file__).resolve().parents[1]
CLASSES = 10
PIXELS = 64
TUTORIAL_WIDTHS = (128, 256, 512, 1024)  # the tutorial generator's hidden widths (for the ratio at initialisation)


@dataclass(frozen=True)
class Config:
    """One configuration of the term: its form, its weight and whether the weight warms up linearly."""

    name: str
    form: str
    weight: float
    warmup: bool = False


CONFIGS: dict[str, Config] = {
    c.name: c
    for c in (
        Config("baseline", "reciprocal", 0.0),
        Config("reciprocal-0.02", "reciprocal", 0.02),
        Config("reciprocal-0.1", "reciprocal", 0.1),
        Config("reciprocal-0.5", "reciprocal", 0.5),
        Config("reciprocal-1", "reciprocal", 1.0),
        Config("reciprocal-2", "reciprocal", 2.0),
        Config("reciprocal-5", "reciprocal", 5.0),
        Config("reciprocal-0.5-warmup", "reciprocal", 0.5, warmup=True),
        Config("clamped-0.5", "clamped", 0.5),
        Config("clamped-1", "clamped", 1.0),
        Config("clamped-2", "clamped", 2.0),
        Config("clamped-5", "clamped", 5.0),
        Config("clamped-10", "clamped", 10.0),
    )
}
RUN_COLUMNS = [
    "config", "form", "weight", "warmup", "seed", "accuracy", "ndb", "jsd", "diversity", "ratio_init", "ratio_end",
    "overshoot_end", "adv_init", "term_init", "train_s",
]  # fmt: skip
METRICS = ("accuracy", "ndb", "jsd", "diversity", "ratio_init", "ratio_end", "overshoot_end", "adv_init", "term_init")


# -- the GAN (a standard tutorial-style cGAN, unchanged by the term) ------------------------------------------------
class Generator(nn.Module):
    """MLP generator: label embedding concatenated with the noise, BatchNorm blocks, tanh output in [-1, 1].

    The tutorial's generator (``block(in, out)`` = Linear, ``BatchNorm1d(out, 0.8)``, LeakyReLU 0.2) with its widths
    cut from (128, 256, 512, 1024) to ``widths`` = (128, 256) for 8x8 images and a CPU budget. The tutorial's
    ``BatchNorm1d(out, 0.8)`` passes 0.8 as ``eps`` (not the momentum); the code copied from it keeps that, and so
    does this one: it damps the hidden activations, so that at initialisation the two samples of a pair are nearly
    equal (a small ratio, a large reciprocal term; the more such blocks, the smaller).
    """

    def __init__(
        self, latent_dim: int = 100, classes: int = CLASSES, pixels: int = PIXELS, widths: Sequence[int] = (128, 256)
    ) -> None:
        super().__init__()
        self.label_emb = nn.Embedding(classes, classes)

        def block(n_in: int, n_out: int, normalize: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
            if normalize:
                layers.append(nn.BatchNorm1d(n_out, 0.8))  # as in the tutorial: eps=0.8
            layers.append(nn.LeakyReLU(0.2))
            return layers

        layers = block(latent_dim + classes, widths[0], normalize=False)
        for n_in, n_out in itertools.pairwise(widths):
            layers += block(n_in, n_out)
        self.model = nn.Sequential(*layers, nn.Linear(widths[-1], pixels), nn.Tanh())

    def forward(self, noise: Tensor, labels: Tensor) -> Tensor:
        """Images (B, 64) for noise (B, latent_dim) and integer labels (B,)."""
        return self.model(torch.cat([self.label_emb(labels), noise], dim=1))


class Discriminator(nn.Module):
    """MLP discriminator on the image concatenated with a label embedding, with dropout; returns logits (B, 1).

    The tutorial's discriminator with its width cut from 512 to 256 and one hidden layer fewer; logits, for
    ``BCEWithLogitsLoss`` (a sigmoid and ``BCELoss`` in the tutorial's BCE variants).
    """

    def __init__(self, classes: int = CLASSES, pixels: int = PIXELS) -> None:
        super().__init__()
        self.label_emb = nn.Embedding(classes, classes)
        self.model = nn.Sequential(
            nn.Linear(pixels + classes, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 256),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        """Logits (B, 1)."""
        return self.model(torch.cat([images.flatten(1), self.label_emb(labels)], dim=1))


# -- data, classifier, bins -----------------------------------------------------------------------------------------
def load_digits() -> tuple[Tensor, Tensor]:
    """The real digits as (1797, 64) float32 in [-1, 1] and their (1797,) int64 labels."""
    from sklearn.datasets import load_digits as sk_load_digits

    data = sk_load_digits()
    images = torch.tensor(data.data, dtype=torch.float32) / 8.0 - 1.0  # pixels 0..16 -> [-1, 1]
    return images, torch.tensor(data.target, dtype=torch.int64)


def fit_classifier(images: Tensor, labels: Tensor) -> tuple[Any, float]:
    """An RBF SVC trained on a stratified 70% of the real digits, and its accuracy on the other 30%."""
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    x_train, x_test, y_train, y_test = train_test_split(
        images.numpy(), labels.numpy(), test_size=0.3, stratify=labels.numpy(), random_state=0
    )
    classifier = SVC().fit(x_train, y_train)
    return classifier, float(classifier.score(x_test, y_test))


def fit_bins(images: Tensor, labels: Tensor, bins: int, restarts: int = 10) -> list[NDB]:
    """One NDB per class, its ``bins`` k-means bins (``restarts`` k-means++ runs) fitted on that class's real digits."""
    return [NDB(num_bins=bins, seed=0, n_init=restarts).fit(images[labels == c]) for c in range(CLASSES)]


def by_class(images: Tensor, labels: Tensor) -> Tensor:
    """(10, S, 64): the first S digits of every class, S the smallest class's count."""
    count = min(int((labels == c).sum()) for c in range(CLASSES))
    return torch.stack([images[labels == c][:count] for c in range(CLASSES)])


def real_overshoot(images: Tensor, labels: Tensor, latent_dim: int, ceiling: float, pairs: int = 4096) -> float:
    """The share of real within-class pairs whose ratio exceeds the ceiling, with fresh latents for the denominators.

    The ceiling is a mean, so even the real data has pairs above it: this is the overshoot of a generator that
    matches the data's spread exactly, the reference for ``overshoot_end``.
    """
    gen = torch.Generator().manual_seed(0)
    ratios = []
    for c in range(CLASSES):
        group = images[labels == c]
        i, j = torch.triu_indices(group.shape[0], group.shape[0], offset=1)
        pick = torch.randperm(i.numel(), generator=gen)[:pairs]
        d_x = (group[i[pick]] - group[j[pick]]).abs().mean(1)
        z1, z2 = (torch.randn(pick.numel(), latent_dim, generator=gen) for _ in range(2))
        ratios.append(d_x / (z1 - z2).abs().mean(1))
    return overshoot(torch.cat(ratios), ceiling)


def init_ratios(latent_dim: int, widths: Sequence[int], seeds: Sequence[int], batch_size: int) -> list[float]:
    """The batch ratio of a freshly initialised generator of these widths on its first (training-mode) forward."""
    ratios = []
    for seed in seeds:
        torch.manual_seed(seed)
        generator = Generator(latent_dim, widths=widths)
        with ModeSeekingHook(generator, latent="noise") as hook:
            labels2, noise = paired_inputs(torch.randint(0, CLASSES, (batch_size,)), latent_dim)
            generator(noise, labels2)
            hook.loss()
            ratios.append(float(hook.last_ratio))
    return ratios


# -- one training run -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """Everything one run needs (picklable, for the worker processes)."""

    config: Config
    seed: int
    steps: int
    batch_size: int
    latent_dim: int
    ceiling: float
    warmup_steps: int
    tail: int
    eval_per_class: int


def train(job: Job, images: Tensor, labels: Tensor) -> dict[str, Any]:
    """Train one GAN and return its samples (10, eval_per_class, 64) and the ratio log (plain Python values)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(job, images, labels)
    finally:
        torch.set_num_threads(threads)


def _train(job: Job, images: Tensor, labels: Tensor) -> dict[str, Any]:
    torch.manual_seed(job.seed)
    generator, discriminator = Generator(job.latent_dim), Discriminator()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()  # mean over the batch
    cfg = job.config
    loss = ModeSeekingLoss() if cfg.form == "reciprocal" else ModeSeekingLoss(form=cfg.form, tau=job.ceiling)
    weight = linear_warmup(cfg.weight, job.warmup_steps) if cfg.warmup else cfg.weight
    hook = ModeSeekingHook(generator, latent="noise", weight=weight, loss=loss)
    unweighted = ModeSeekingLoss(**({} if cfg.form == "reciprocal" else {"form": cfg.form, "tau": job.ceiling}))
    log: dict[str, Any] = {"ratios": [], "overshoot": []}
    n = images.shape[0]
    order = torch.randperm(n)
    cursor = 0
    start = time.perf_counter()
    for step in range(job.steps):
        if cursor + job.batch_size > n:
            order, cursor = torch.randperm(n), 0
        rows = order[cursor : cursor + job.batch_size]
        cursor += job.batch_size
        real, real_labels = images[rows], labels[rows]

        # generator: one forward of the doubled batch [labels; labels] with [z1; z2]
        gen_labels = torch.randint(0, CLASSES, (job.batch_size,))
        labels2, noise = paired_inputs(gen_labels, job.latent_dim)
        fake = generator(noise, labels2)
        adv = bce(discriminator(fake, labels2), torch.ones(fake.shape[0], 1))
        term = hook.loss()
        opt_g.zero_grad(set_to_none=True)
        (adv + term).backward()
        opt_g.step()
        if step == 0:
            z1, z2 = noise.chunk(2)
            x1, x2 = fake.detach().chunk(2)
            log["adv_init"] = float(adv.detach())
            log["term_init"] = float(unweighted(z1, z2, x1, x2))
            log["ratio_init"] = float(hook.last_ratio)
        if step >= job.steps - job.tail:
            log["ratios"].append(float(hook.last_ratio))
            log["overshoot"].append(overshoot(hook.last_ratios, job.ceiling))

        # discriminator: real batch against the generator's (detached) doubled batch
        d_real = bce(discriminator(real, real_labels), torch.ones(real.shape[0], 1))
        d_fake = bce(discriminator(fake.detach(), labels2), torch.zeros(fake.shape[0], 1))
        opt_d.zero_grad(set_to_none=True)
        ((d_real + d_fake) / 2).backward()
        opt_d.step()
    train_s = time.perf_counter() - start
    hook.remove()

    generator.eval()
    eval_gen = torch.Generator().manual_seed(10_000 + job.seed)
    with torch.no_grad():
        classes = torch.arange(CLASSES).repeat_interleave(job.eval_per_class)
        noise = torch.randn(classes.shape[0], job.latent_dim, generator=eval_gen)
        samples = generator(noise, classes).view(CLASSES, job.eval_per_class, PIXELS)
    return {
        "config": cfg.name,
        "seed": job.seed,
        "samples": samples.numpy(),
        "ratio_init": log["ratio_init"],
        "ratio_end": statistics.fmean(log["ratios"]),
        "overshoot_end": statistics.fmean(log["overshoot"]),
        "adv_init": log["adv_init"],
        "term_init": log["term_init"],
        "train_s": train_s,
    }


# -- evaluation -----------------------------------------------------------------------------------------------------
def evaluate(samples: Tensor, classifier: Any, bins: list[NDB], pairs: int) -> dict[str, float]:
    """Accuracy, summed NDB, mean JSD and L1 diversity of generated samples (10, S, 64) in [-1, 1]."""
    predicted = classifier.predict(samples.reshape(-1, PIXELS).numpy())
    wanted = np.repeat(np.arange(CLASSES), samples.shape[1])
    ndb, jsd = 0, []
    for c, ndb_c in enumerate(bins):
        ndb_c.reset()
        ndb_c.update(samples[c])
        result = ndb_c.compute()
        ndb += result.ndb
        jsd.append(result.jsd)
    div = diversity(images_to_unit_range(samples), pairs=pairs, generator=torch.Generator().manual_seed(0))
    return {
        "accuracy": float((predicted == wanted).mean()),
        "ndb": float(ndb),
        "jsd": statistics.fmean(jsd),
        "diversity": float(div),
    }


def summarise(runs: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and sample std over seeds of every metric, one row per configuration (in ``names`` order)."""
    rows = []
    for name in names:
        mine = [r for r in runs if r["config"] == name]
        cfg = CONFIGS[name]
        row: dict[str, Any] = {"config": name, "form": cfg.form, "weight": cfg.weight, "warmup": cfg.warmup}
        row["seeds"] = len(mine)
        for key in METRICS:
            values = [r[key] for r in mine]
            row[f"{key}_mean"] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def machine() -> str:
    """The CPU model and the core count."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()}"


def versions() -> dict[str, str]:
    """Versions of what the numbers depend on."""
    import matplotlib
    import sklearn

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_modeseek": torch_modeseek.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }


# -- outputs --------------------------------------------------------------------------------------------------------
def plot_summary(summary: list[dict[str, Any]], references: dict[str, float], path: Path) -> None:
    """Accuracy, NDB, diversity and the final ratio against the weight: reciprocal vs clamped, baseline and warm-up.

    ``references`` may hold ``"accuracy"`` (the classifier on held-out real digits), ``"diversity"`` (the real
    digits') and ``"ratio_end"`` (the ceiling), drawn as dotted lines.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("accuracy", "classifier: share of samples shown as their class", "classifier on held-out real digits"),
        ("ndb", "NDB, summed over 10 classes x 5 bins (lower is better)", ""),
        ("diversity", "diversity: pixel L1 within a class, pixels in [0, 1]", "real digits"),
        ("ratio_end", "ratio at the end (hook.last_ratio, last steps)", "data ceiling (tau)"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    base = next((r for r in summary if r["weight"] == 0), None)
    for ax, (key, title, reference) in zip(axes.flat, panels, strict=True):
        for form, colour, marker in (("reciprocal", "tab:red", "o"), ("clamped", "tab:blue", "s")):
            rows = sorted((r for r in summary if r["form"] == form and r["weight"] > 0 and not r["warmup"]),
                          key=lambda r: r["weight"])  # fmt: skip
            if rows:
                label = "reciprocal (official)" if form == "reciprocal" else "clamped, tau = data ceiling"
                ax.errorbar([r["weight"] for r in rows], [r[f"{key}_mean"] for r in rows],
                            yerr=[r[f"{key}_std"] for r in rows], color=colour, marker=marker, capsize=3,
                            label=label)  # fmt: skip
        for r in summary:
            if r["warmup"]:
                label = f"reciprocal {r['weight']:g} + warm-up"
                ax.errorbar([r["weight"]], [r[f"{key}_mean"]], yerr=[r[f"{key}_std"]], color="tab:orange",
                            marker="^", capsize=3, linestyle="none", label=label)  # fmt: skip
        if base is not None:
            mean, std = base[f"{key}_mean"], base[f"{key}_std"]
            ax.axhline(mean, color="gray", linestyle="--", label="baseline (weight 0)")
            ax.axhspan(mean - std, mean + std, color="gray", alpha=0.15)
        if key in references:
            ax.axhline(references[key], color="black", linestyle=":", label=reference)
        ax.set_xscale("log")
        ax.set_xlabel("weight")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("The mode-seeking term in a tutorial cGAN on scikit-learn's digits: mean and std over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_samples(grids: dict[str, np.ndarray], runs: list[dict[str, Any]], path: Path, columns: int = 8) -> None:
    """One seed of every configuration: a row per class (0 to 9), ``columns`` samples per row, its own numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(grids)
    cols = min(5, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 4.8 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        samples = grids[name][:, :columns].reshape(CLASSES, -1, 8, 8)  # (10, columns, 8, 8)
        picture = np.full((CLASSES * 9 - 1, samples.shape[1] * 9 - 1), -0.6)  # light grey gaps
        for c in range(CLASSES):
            for k in range(samples.shape[1]):
                picture[c * 9 : c * 9 + 8, k * 9 : k * 9 + 8] = samples[c, k]
        ax.imshow(picture, cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
        run = next(r for r in runs if r["config"] == name)
        ax.set_title(f"{name}\nseed {run['seed']}: accuracy {run['accuracy']:.3f}, NDB {run['ndb']:.0f}", fontsize=9)
    fig.suptitle("A row per class (0 to 9), the first seed of every configuration", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / (4.8 * rows + 0.4)))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows as CSV with the given columns (floats with 6 significant digits)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


# -- command line ---------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS), metavar="NAME",
                        help=f"configurations to run (default all: {', '.join(CONFIGS)})")  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=5000, help="training steps (generator + discriminator) per run")
    parser.add_argument("--batch-size", type=int, default=64, help="conditions per step (the generator runs on 2x)")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--warmup-fraction", type=float, default=0.5, help="warm-up length as a share of --steps")
    parser.add_argument("--tail", type=int, default=200, help="last steps over which ratio and overshoot are averaged")
    parser.add_argument("--eval-per-class", type=int, default=180, help="generated samples per class (real: 174-183)")
    parser.add_argument("--bins", type=int, default=5, help="NDB bins per class")
    parser.add_argument("--ndb-restarts", type=int, default=10, help="k-means++ restarts of the NDB bins")
    parser.add_argument("--pairs", type=int, default=1000, help="diversity pairs per class")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "weight_guide")
    parser.add_argument("--docs-assets", type=Path, default=None, help="also copy the two PNGs into this folder")
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the grid and write the results; returns the JSON file's path."""
    args = parse_args(argv)
    wall = time.perf_counter()
    images, labels = load_digits()
    ceiling = diversity_ceiling(images, labels, latent_dim=args.latent_dim)
    classifier, held_out = fit_classifier(images, labels)
    bins = fit_bins(images, labels, args.bins, args.ndb_restarts)
    real_over = real_overshoot(images, labels, args.latent_dim, ceiling)
    tutorial_init = init_ratios(args.latent_dim, TUTORIAL_WIDTHS, args.seeds, args.batch_size)
    real_div = float(diversity(images_to_unit_range(by_class(images, labels)), pairs=args.pairs,
                               generator=torch.Generator().manual_seed(0)))  # fmt: skip
    warmup_steps = max(1, round(args.warmup_fraction * args.steps))
    tail = max(1, min(args.tail, args.steps))
    shared = (args.steps, args.batch_size, args.latent_dim, ceiling, warmup_steps, tail, args.eval_per_class)
    jobs = [Job(CONFIGS[name], seed, *shared) for name in args.configs for seed in args.seeds]
    print(f"{len(jobs)} runs, {args.steps} steps each, ceiling {ceiling:.4f}, real diversity {real_div:.4f}, "
          f"real overshoot {real_over:.3f}, classifier held-out accuracy {held_out:.4f}, tutorial-width ratio at "
          f"init {', '.join(f'{r:.4f}' for r in tutorial_init)}", flush=True)  # fmt: skip
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(train, job, images, labels) for job in jobs]
            trained = [f.result() for f in futures]
    else:
        trained = [train(job, images, labels) for job in jobs]

    runs, grids = [], {}
    for job, result in zip(jobs, trained, strict=True):
        samples = torch.from_numpy(result.pop("samples"))
        if job.seed == args.seeds[0]:
            grids[job.config.name] = samples.numpy()
        cfg = job.config
        run = {"config": cfg.name, "form": cfg.form, "weight": cfg.weight, "warmup": cfg.warmup, "seed": job.seed}
        run.update(evaluate(samples, classifier, bins, args.pairs))
        run.update({k: v for k, v in result.items() if k not in ("config", "seed")})
        runs.append(run)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in run.items()), flush=True)
    summary = summarise(runs, args.configs)
    wall_s = time.perf_counter() - wall

    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "docs_assets")}
    report = {
        "date": args.date,
        "machine": machine(),
        "versions": versions(),
        "command": "python benchmarks/weight_guide.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "settings": {**settings, "warmup_steps": warmup_steps, "tail": tail},
        "wall_s": wall_s,
        "ceiling": ceiling,
        "real_diversity": real_div,
        "real_overshoot": real_over,
        "tutorial_width_init": {
            "widths": list(TUTORIAL_WIDTHS),
            "ratio_init": tutorial_init,
            "term_init": [1.0 / (r + 1e-5) for r in tutorial_init],
        },
        "classifier": {"model": "sklearn SVC (RBF), 70/30 stratified split", "held_out_accuracy": held_out},
        "configs": {name: asdict(CONFIGS[name]) for name in args.configs},
        "summary": summary,
        "runs": runs,
    }
    json_path = args.out / "weight_guide.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_csv(args.out / "runs.csv", runs, RUN_COLUMNS)
    summary_columns = ["config", "form", "weight", "warmup", "seeds"]
    summary_columns += [f"{k}_{s}" for k in METRICS for s in ("mean", "std")]
    write_csv(args.out / "summary.csv", summary, summary_columns)
    references = {"accuracy": held_out, "diversity": real_div, "ratio_end": ceiling}
    plot_summary(summary, references, args.out / "weight_guide.png")
    plot_samples(grids, [r for r in runs if r["seed"] == args.seeds[0]], args.out / "samples.png")
    if args.docs_assets is not None:
        args.docs_assets.mkdir(parents=True, exist_ok=True)
        for name in ("weight_guide.png", "samples.png"):
            (args.docs_assets / name).write_bytes((args.out / name).read_bytes())
    print(f"wall {wall_s:.1f} s; wrote {json_path}", flush=True)
    return json_path


if __name__ == "__main__":
    main()
