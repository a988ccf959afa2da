"""The command line shared by every trainer, with per-dataset presets, and the run's ``config.json``.

Options whose best value depends on the data (network width, batch size, epochs, evaluation size, ...) default to
``None`` in the parser and are filled from the trainer's preset for the chosen dataset after parsing, so ``--help``
shows both presets and any explicit flag wins.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from examples.common.data.errors import DatasetError
from examples.common.data.file_check import check_files
from examples.common.runtime import DEFAULT_DDP_TIMEOUT
from examples.common.training import INIT_SCHEMES
from torch_modeseek import ModeSeekingLoss, linear_warmup
from torch_modeseek._checks import DISTANCES, FORMS, REDUCTIONS
from torch_modeseek.schedules import LinearWarmup

__all__ = [
    "add_init_option",
    "add_preset_options",
    "apply_preset",
    "base_parser",
    "load_datasets",
    "mode_seeking_criterion",
    "ms_weight",
    "number",
    "parse",
    "write_json",
    "write_text",
]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def number(
    *, above: float | None = None, at_least: float | None = None, below: float | None = None
) -> Callable[[str], float]:
    """An argparse ``type`` for a finite float within bounds (NaN and infinities are refused with a message).

    Example:
        >>> number(above=0)("2e-4")
        0.0002
        >>> number(above=0)("nan")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a finite number > 0, got nan
    """
    bounds = {">": above, ">=": at_least, "<": below}
    wanted = " and ".join(["a finite number", *(f"{op} {v:g}" for op, v in bounds.items() if v is not None)])
    wanted = wanted.replace("number and ", "number ", 1)

    def parse_number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}") from None
        if (
            not math.isfinite(value)
            or (above is not None and not value > above)
            or (at_least is not None and not value >= at_least)
            or (below is not None and not value < below)
        ):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    return parse_number


def _number_or(parse_number: Callable[[str], float], *words: str) -> Callable[[str], float | str]:
    """An argparse ``type``: one of ``words`` as given, else ``parse_number(text)``."""

    def parse(text: str) -> float | str:
        return text if text in words else parse_number(text)

    return parse


def _preset_help(presets: Mapping[str, Mapping[str, Any]], key: str) -> str:
    return ", ".join(
        f"{value} on {'real data' if name == 'real' else name}"
        for name, preset in presets.items()
        if (value := preset.get(key)) is not None
    )


def base_parser(
    description: str, datasets: Sequence[str], presets: Mapping[str, Mapping[str, Any]], default_out: str
) -> argparse.ArgumentParser:
    """The common options; a trainer adds its own to the returned parser.

    Args:
        description: the trainer's description (shown by ``--help``).
        datasets: the accepted ``--dataset`` names; the first is the built-in one.
        presets: per dataset name (or ``"real"`` for every real dataset), default values of preset options.
        default_out: default output folder.

    Returns:
        An ``argparse.ArgumentParser``.
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)

    def preset(key: str) -> str:
        return f" (default: {_preset_help(presets, key)})"

    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=list(datasets),
        help=f"which data to train on (default: {datasets[1]} when --data-root is given, else {datasets[0]}, "
        "the deterministic built-in dataset that needs no download)",
    )
    data.add_argument(
        "--data-root", metavar="DIR", help="folder of the real dataset, in the layout it is distributed in"
    )
    data.add_argument(
        "--num-workers", type=_non_negative, default=0, metavar="N", help="DataLoader worker processes (default: 0)"
    )

    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="DIR", default=default_out, help=f"output folder (default: {default_out})")
    run.add_argument(
        "--max-steps",
        type=_positive,
        metavar="N",
        help="stop when the global step reaches N; a resumed run continues to N (default: the end of --epochs)",
    )
    run.add_argument("--epochs", type=_positive, metavar="N", help="passes over the training data" + preset("epochs"))
    run.add_argument(
        "--batch-size", type=_positive, metavar="N", help="batch per process (conditions)" + preset("batch_size")
    )
    run.add_argument("--lr", type=number(above=0), metavar="LR", help="Adam learning rate" + preset("lr"))
    run.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and latents (default: 0)")
    run.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train (default: auto = CUDA if any)"
    )
    run.add_argument(
        "--amp", action="store_true", help="mixed precision: float16 + grad scaling on CUDA, bfloat16 on the CPU"
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue from the latest checkpoint in OUT/checkpoints (starts afresh when there is none)",
    )
    run.add_argument(
        "--save-every",
        type=_non_negative,
        metavar="N",
        help="checkpoint every N steps; 0 = only at the end" + preset("save_every"),
    )
    run.add_argument(
        "--log-every", type=_positive, default=10, metavar="N", help="progress-bar update period (default: 10)"
    )
    run.add_argument(
        "--ddp-timeout",
        type=number(above=0),
        default=DEFAULT_DDP_TIMEOUT,
        metavar="S",
        help="under torchrun: seconds a collective waits for the other ranks before the run fails with a message "
        f"(a stopped or hung rank; default: {DEFAULT_DDP_TIMEOUT:g}; torch's own default is 1800)",
    )
    data.add_argument(
        "--skip-data-check",
        action="store_true",
        help="do not decode every data file before step 1 (by default a bad file fails the run at once, named)",
    )

    ms = parser.add_argument_group("mode seeking")
    ms.add_argument(
        "--ms-weight",
        type=number(at_least=0),
        default=1.0,
        metavar="W",
        help="weight of the mode-seeking term (MSGAN: 1); 0 trains the baseline (the ratio is still logged)",
    )
    ms.add_argument(
        "--ms-warmup",
        type=_non_negative,
        default=0,
        metavar="N",
        help="grow the weight linearly from 0 to --ms-weight over the first N steps (default: 0, the full weight "
        "from step 1, as MSGAN)",
    )
    ms.add_argument(
        "--ms-distance", choices=DISTANCES, default="l1", help="image distance of the term (default: l1, as MSGAN)"
    )
    ms.add_argument(
        "--ms-form",
        choices=FORMS,
        default="reciprocal",
        help="reciprocal 1/(r+eps) (default, MSGAN), negative -r, clamped -min(r, tau) (needs --ms-tau), "
        "inverse d_z/(d_x+eps)",
    )
    ms.add_argument(
        "--ms-reduction",
        choices=REDUCTIONS[:2],
        default="batch",
        help="batch: ratio of the batch means (default, MSGAN); sample: mean of the per-pair terms",
    )
    ms.add_argument(
        "--ms-tau",
        type=_number_or(number(above=0), "data"),
        metavar="TAU",
        help="ceiling of the ratio for --ms-form clamped (required there); 'data': the ceiling estimated from the "
        "real samples of each condition (torch_modeseek.diversity_ceiling)",
    )
    ms.add_argument(
        "--ms-ceiling",
        type=_number_or(number(above=0), "data", "none"),
        default="data",
        metavar="R",
        help="the data's ratio ceiling, for the training log's overshoot (share of pairs whose ratio is past it): a "
        "number, 'none', or 'data' (default: estimated from the real samples of each condition where the data has "
        "several; not logged otherwise)",
    )
    ms.add_argument(
        "--collapse-threshold",
        type=number(at_least=0),
        default=0.05,
        metavar="R",
        help="a pair whose output/latent distance ratio is below R counts as collapsed in the training log "
        "(default: 0.05; a collapsed built-in StackGAN++ baseline sits at 0.02-0.04, its per-sample augmentation "
        "noise and pixel noise keep it above 0)",
    )

    ev = parser.add_argument_group("evaluation")
    ev.add_argument(
        "--eval-every",
        type=_non_negative,
        metavar="N",
        help="evaluate every N steps; 0 = only at the end" + preset("eval_every"),
    )
    ev.add_argument("--eval-inputs", type=_positive, metavar="N", help="evaluation conditions" + preset("eval_inputs"))
    ev.add_argument(
        "--eval-samples", type=_positive, metavar="S", help="samples per evaluation condition" + preset("eval_samples")
    )
    ev.add_argument("--ndb-bins", type=_positive, metavar="K", help="NDB k-means bins" + preset("ndb_bins"))
    ev.add_argument(
        "--lpips-linear", metavar="FILE", help="LPIPS v0.1 linear weights (alex.pth); with --lpips-backbone"
    )
    ev.add_argument("--lpips-backbone", metavar="FILE", help="torchvision AlexNet state_dict for LPIPS")
    ev.add_argument(
        "--fid-weights", metavar="FILE", help="TorchScript Inception file for FID (inception-2015-12-05.pt)"
    )
    return parser


def add_preset_options(
    group: argparse._ArgumentGroup, presets: Mapping[str, Mapping[str, Any]], options: Mapping[str, str]
) -> None:
    """Add integer options whose defaults come from the presets (``{"ngf": "G width", ...}``; ``_`` becomes ``-``)."""
    for key, text in options.items():
        group.add_argument(
            "--" + key.replace("_", "-"), type=_positive, help=f"{text} (default: {_preset_help(presets, key)})"
        )


def add_init_option(group: argparse._ArgumentGroup, defaults: str) -> None:
    """Add ``--init`` (a scheme of :func:`examples.common.training.init_weights`); its default comes from the preset.

    ``defaults`` says which scheme each preset uses, e.g. ``"normal on builtin, xavier on real data"``.
    """
    group.add_argument(
        "--init",
        choices=INIT_SCHEMES,
        help="weight initialisation: N(0, 0.02) (conv_normal: on conv weights only, MSGAN's own), BicycleGAN's "
        f"Xavier-normal with gain 0.02, StackGAN++'s orthogonal, or PyTorch's default (default: {defaults})",
    )


def apply_preset(args: argparse.Namespace, presets: Mapping[str, Mapping[str, Any]], datasets: Sequence[str]) -> None:
    """Resolve ``--dataset`` and fill every unset preset option from the chosen dataset's preset (in place)."""
    if args.dataset is None:
        args.dataset = datasets[1] if args.data_root else datasets[0]
    preset = presets.get(args.dataset) or presets["real"]
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)


def parse(
    parser: argparse.ArgumentParser,
    presets: Mapping[str, Mapping[str, Any]],
    datasets: Sequence[str],
    argv: Sequence[str] | None = None,
    *,
    check_data: bool = True,
) -> argparse.Namespace:
    """Parse ``argv``, apply the preset and check the options (errors exit with status 2 and a message).

    With ``check_data=False`` (a trainer's ``build_networks``: no data is read), a real ``--dataset`` needs no
    ``--data-root`` and the folder need not exist.
    """
    args = parser.parse_args(argv)
    apply_preset(args, presets, datasets)
    if check_data:
        _check_data_options(parser, args, datasets)
    try:
        checked = argparse.Namespace(**vars(args))
        checked.ms_tau = 1.0 if args.ms_tau == "data" else args.ms_tau  # estimated once the data is loaded
        mode_seeking_criterion(checked)
    except (TypeError, ValueError) as error:
        parser.error(f"--ms-form/--ms-tau: {error}")
    return args


def _check_data_options(parser: argparse.ArgumentParser, args: argparse.Namespace, datasets: Sequence[str]) -> None:
    if args.dataset != datasets[0] and not args.data_root:
        parser.error(f"--dataset {args.dataset} needs --data-root DIR (the folder the dataset was extracted to)")
    if args.dataset == datasets[0] and args.data_root:
        parser.error(f"--data-root is for a real dataset; pass --dataset {'|'.join(datasets[1:])} with it")
    if args.data_root and not Path(args.data_root).expanduser().is_dir():
        parser.error(f"--data-root {args.data_root!r} does not exist or is not a directory")


def mode_seeking_criterion(args: argparse.Namespace) -> ModeSeekingLoss:
    """The :class:`~torch_modeseek.ModeSeekingLoss` that ``--ms-distance/-form/-reduction/-tau`` ask for.

    Raises:
        ValueError: ``--ms-form clamped`` without ``--ms-tau``, or ``--ms-tau`` with another form.
    """
    return ModeSeekingLoss(distance=args.ms_distance, form=args.ms_form, reduction=args.ms_reduction, tau=args.ms_tau)


def ms_weight(args: argparse.Namespace) -> float | LinearWarmup:
    """The hook's weight: ``--ms-weight``, grown linearly over the first ``--ms-warmup`` steps when that is > 0."""
    return linear_warmup(args.ms_weight, args.ms_warmup) if args.ms_warmup else args.ms_weight


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file + rename): readers see the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=path.suffix, dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON atomically (temp file + rename)."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def load_datasets(parser: argparse.ArgumentParser, load: Any, args: argparse.Namespace) -> Any:
    """``load(args)``, then every file the datasets will read decoded once (unless ``--skip-data-check``).

    A :class:`DatasetError` (a missing file, a truncated image, a hostile pickle, ...; it names the file) becomes a
    usage error (exit 2) before the first step, so a bad test image cannot end a run after its training.
    """
    try:
        datasets = load(args)
        if not args.skip_data_check:
            check_files(*datasets)
    except DatasetError as error:
        parser.error(str(error))
    return datasets
