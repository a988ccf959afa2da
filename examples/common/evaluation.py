"""End-of-run evaluation with :mod:`torch_modeseek.metrics`: NDB/JSD, diversity, known-mode coverage, LPIPS, FID.

Every function takes images in the generators' range [-1, 1] and returns plain Python values for ``metrics.json``.
Results are grouped by name (a class, an input, or ``"all"``), and the summary averages over groups.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from torch_modeseek.metrics import FID, NDB, LPIPSDiversity, NDBResult, diversity, images_to_unit_range, mode_coverage

__all__ = [
    "attach_coverage",
    "class_accuracy",
    "coverage_groups",
    "diversity_groups",
    "ndb_groups",
    "plot_ndb",
    "report",
    "weighted_metrics",
]


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values))


def ndb_groups(
    groups: Mapping[str, tuple[torch.Tensor, torch.Tensor]], bins: int, seed: int = 0
) -> tuple[dict[str, Any], dict[str, NDBResult]]:
    """NDB/JSD per group of ``(real (N, ...), fake (M, ...))``; bins are fitted on the group's real images.

    Returns:
        ``(summary, results)``: the mean NDB, NDB/K and JSD over groups with the per-group values, and the
        :class:`~torch_modeseek.metrics.NDBResult` of each group (for :func:`plot_ndb`).
    """
    results = {}
    for name, (real, fake) in groups.items():
        ndb = NDB(num_bins=min(bins, real.shape[0]), seed=seed).fit(images_to_unit_range(real.float()))
        ndb.update(images_to_unit_range(fake.float()))
        results[name] = ndb.compute()
    summary = {
        "ndb": _mean([r.ndb for r in results.values()]),
        "ndb_k": _mean([r.ndb_fraction for r in results.values()]),
        "jsd": _mean([r.jsd for r in results.values()]),
        "ndb_bins": bins,
        "per_group": {name: {"ndb": r.ndb, "jsd": r.jsd} for name, r in results.items()},
    }
    return summary, results


def diversity_groups(groups: Mapping[str, torch.Tensor], pairs: int = 50) -> dict[str, Any]:
    """Mean pixel-L1 distance (pixels in [0, 1]) of random same-condition pairs, per group of (C, S, ...) samples.

    The paper's diversity protocol (random pairs per condition) with the weight-free pixel distance.
    """
    per_group = {
        name: float(diversity(images_to_unit_range(fake.float()), distance="l1", pairs=pairs))
        for name, fake in groups.items()
    }
    return {"diversity_l1": _mean(list(per_group.values())), "per_group": per_group}


def coverage_groups(
    groups: Mapping[str, tuple[torch.Tensor, torch.Tensor]], radius: float, pool: int = 1
) -> dict[str, Any]:
    """Known modes reached, per group of ``(fake (N, C, H, W), prototypes (M, C, H, W))``.

    Samples and prototypes are compared after ``pool`` x ``pool`` average pooling (pixel noise averages out, the
    modes' colours, textures and places stay apart). A sample counts for the mode whose prototype is nearest when
    within ``radius`` (L2 of the pooled [-1, 1] images); a mode is covered when it holds at least a quarter of its
    fair share of the group's samples, ``max(1, N // (4 M))``.

    ``modes_classified`` counts modes the way Stacked-MNIST-style evaluations do with a classifier: every sample is
    labelled with its nearest prototype whatever its distance, and a mode is hit when it gets at least that same
    quarter share. It shows collapse (one label for all samples) even while samples are too blurry to fall within
    ``radius``; the in-mode fraction says how many samples are close to a mode at all.

    Returns:
        Mean modes covered per group (within the radius), mean modes classified, the number of modes M, the covered
        fraction, the share of samples within the radius, and the per-group counts.
    """
    per_group, fractions, classified = {}, [], []
    for name, (fake, prototypes) in groups.items():
        min_count = max(1, fake.shape[0] // (4 * prototypes.shape[0]))
        fake, prototypes = (F.avg_pool2d(x.float(), pool) for x in (fake, prototypes))
        res = mode_coverage(fake, prototypes, radius, min_count=min_count)
        labels = torch.cdist(fake.flatten(1), prototypes.flatten(1)).argmin(1)
        votes = torch.bincount(labels, minlength=prototypes.shape[0])
        classified.append(int((votes >= min_count).sum()))
        per_group[name] = {"modes": res.modes_hit, "counts": res.counts.tolist(), "nearest": votes.tolist()}
        fractions.append(res.high_quality_fraction)
    modes = [g["modes"] for g in per_group.values()]
    num_modes = next(iter(groups.values()))[1].shape[0]
    return {
        "modes_covered": _mean(modes),
        "modes_classified": _mean(classified),
        "num_modes": num_modes,
        "coverage": _mean(modes) / num_modes,
        "in_mode_fraction": _mean(fractions),
        "radius": radius,
        "pool": pool,
        "per_group": per_group,
    }


def attach_coverage(
    summary: dict[str, Any], groups: Mapping[str, tuple[torch.Tensor, torch.Tensor]], radius: float, pool: int = 1
) -> None:
    """Add :func:`coverage_groups` to an evaluation summary, with its two headline counts at the top level."""
    summary["modes"] = coverage_groups(groups, radius, pool)
    summary["modes_covered"] = summary["modes"]["modes_covered"]
    summary["modes_classified"] = summary["modes"]["modes_classified"]


def class_accuracy(fake: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, pool: int = 1) -> dict[str, Any]:
    """How often a sample looks like its own condition: the nearest of ALL classes' mode prototypes is of its class.

    The known-mode counts only compare a sample with the modes of its own condition, so a generator that ignores its
    condition (a red bird for a yellow-bird caption) can still hit them; this is the check of the condition itself,
    like a classifier's accuracy on generated samples.

    Args:
        fake: (C, S, 3, H, W) samples, S for each of C conditions.
        labels: (C,) the class of each condition.
        prototypes: (K, M, 3, H, W) the M mode prototypes of each of the K classes.
        pool: average pooling before the comparison, as :func:`coverage_groups`.

    Returns:
        ``{"class_accuracy": share of samples nearest to a prototype of their class, "per_group": per condition}``.

    Example:
        >>> protos = torch.stack([torch.full((2, 3, 4, 4), -1.0), torch.full((2, 3, 4, 4), 1.0)])  # 2 classes
        >>> fake = torch.stack([torch.full((3, 3, 4, 4), -0.9), torch.full((3, 3, 4, 4), -0.8)])  # both look like 0
        >>> class_accuracy(fake, torch.tensor([0, 1]), protos)["class_accuracy"]
        0.5
    """
    flat = F.avg_pool2d(prototypes.flatten(0, 1).float(), pool).flatten(1)
    owners = torch.arange(prototypes.shape[0]).repeat_interleave(prototypes.shape[1])
    per_group = []
    for samples, label in zip(fake, labels.tolist(), strict=True):
        nearest = torch.cdist(F.avg_pool2d(samples.float(), pool).flatten(1), flat).argmin(1)
        per_group.append(float((owners[nearest] == label).float().mean()))
    return {"class_accuracy": _mean(per_group), "per_group": per_group}


def weighted_metrics(args: argparse.Namespace, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """LPIPS diversity and FID when their weights were given on the command line (else nothing).

    Args:
        args: the parsed options (``lpips_linear``, ``lpips_backbone``, ``fid_weights``).
        real: (N, 3, H, W) real images in [-1, 1].
        fake: (C, S, 3, H, W) generated samples in [-1, 1].

    Raises:
        torch_modeseek.metrics.MissingWeightsError: only one of the two LPIPS files was given.
    """
    out: dict[str, float] = {}
    if args.lpips_linear or args.lpips_backbone:
        metric = LPIPSDiversity(linear_weights=args.lpips_linear, backbone_weights=args.lpips_backbone)
        out["lpips"] = float(metric(fake.float()))
    if args.fid_weights:
        fid = FID(weights=args.fid_weights)
        fid.update(images_to_unit_range(real.float()), real=True)
        fid.update(images_to_unit_range(fake.flatten(0, 1).float()), real=False)
        out["fid"] = float(fid.compute())
    return out


def report(
    args: argparse.Namespace,
    real: torch.Tensor,
    fake: torch.Tensor,
    ndb: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    same_condition: Mapping[str, torch.Tensor],
    modes: tuple[Mapping[str, tuple[torch.Tensor, torch.Tensor]], float, int] | None = None,
) -> tuple[dict[str, Any], dict[str, NDBResult]]:
    """The whole evaluation of a trainer: NDB/JSD, LPIPS/FID when weighted, diversity, known-mode coverage.

    Args:
        args: the parsed options (``ndb_bins``, ``eval_samples`` and the weight files).
        real: (N, 3, H, W) real images for FID.
        fake: (C, S, 3, H, W) samples, S per evaluation condition, for LPIPS/FID.
        ndb: groups for :func:`ndb_groups`.
        same_condition: groups of (C, S, ...) samples for :func:`diversity_groups` (skipped when S < 2).
        modes: ``(groups, radius, pool)`` for :func:`coverage_groups` (built-in data), or ``None``.

    Returns:
        ``(summary, ndb_results)``; the headline numbers (``ndb``, ``jsd``, ``diversity_l1``, ``modes_covered``,
        ``lpips``, ``fid``) sit at the summary's top level, details under ``per_group``/``diversity``/``modes``.
    """
    summary, ndb_results = ndb_groups(ndb, args.ndb_bins)
    summary.update(weighted_metrics(args, real, fake))
    if args.eval_samples > 1:
        summary["diversity"] = diversity_groups(same_condition)
        summary["diversity_l1"] = summary["diversity"]["diversity_l1"]
    if modes is not None:
        attach_coverage(summary, *modes)
    return summary, ndb_results


def plot_ndb(results: Mapping[str, NDBResult], path: str | Path, title: str) -> Path:
    """Bar plot of the NDB bin proportions, real vs generated, one panel per group (the paper's figure style).

    Bins are sorted by real-sample count; significantly different bins are marked with a star.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    cols = min(5, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        res = results[name]
        k = torch.arange(len(res.real_proportions))
        ax.bar(k - 0.2, res.real_proportions, width=0.4, label="real", color="tab:blue")
        ax.bar(k + 0.2, res.fake_proportions, width=0.4, label="generated", color="tab:orange")
        top = float(torch.maximum(res.real_proportions, res.fake_proportions).max())
        for i in torch.nonzero(res.different_bins).flatten().tolist():
            ax.text(i, top * 1.02, "*", ha="center", fontsize=9)
        ax.set_title(f"{name}: NDB {res.ndb}, JSD {res.jsd:.3f}", fontsize=8)
        ax.set_xlabel("bin (sorted by real count)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
