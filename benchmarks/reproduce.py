"""Reproduce the paper's effect on the example trainers: each task with ``--ms-weight 0`` and ``1`` over several seeds.

Every run is the trainer's own command line (``python examples/<task>.py --ms-weight W --seed S --out DIR``) on its
built-in dataset, whose conditions have known modes. The script reads each run's ``metrics.json``, aggregates the
end-of-run evaluation over the seeds (mean +/- sample standard deviation) and writes a Markdown report with the tables,
the machine, the exact command, and the seed-0 sample grids side by side. The numbers are whatever the runs give; the
report states for each metric whether the term helped.

    python benchmarks/reproduce.py                                 # all tasks, seeds 0 1 2, default run lengths
    python benchmarks/reproduce.py --tasks dcgan_cifar10 --seeds 0 1 2 --max-steps 1000 --jobs 2

Finished runs (a ``metrics.json`` whose step reached the budget) are reused, and an interrupted run continues from its
last checkpoint (``--resume``), so an interrupted reproduction resumes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from examples.common.trainers import TASKS  # noqa: E402 - the one list of trainers, from the checkout

WEIGHTS = (0.0, 1.0)
# (key in metrics.json "evaluation", label, True when higher is better)
METRICS = (
    ("diversity_l1", "diversity (pixel L1 between samples of one condition)", True),
    ("modes_classified", "known modes hit per condition (nearest-prototype labels)", True),
    ("modes_covered", "known modes covered per condition (samples within the mode radius)", True),
    ("class_accuracy", "samples that show their own condition (nearest prototype of all classes)", True),
    ("ndb", "NDB (statistically different bins)", False),
    ("jsd", "JSD of the bin proportions (nats)", False),
)


def run_dir(out: Path, task: str, weight: float, seed: int) -> Path:
    """Folder of one run."""
    return out / task / f"ms{weight:g}_seed{seed}"


def command(task: str, weight: float, seed: int, out: Path, max_steps: int | None) -> list[str]:
    """The trainer's command line for one run."""
    cmd = [sys.executable, str(ROOT / "examples" / f"{task}.py"), "--ms-weight", f"{weight:g}", "--seed", str(seed)]
    cmd += ["--out", str(run_dir(out, task, weight, seed)), "--resume"]  # an interrupted run continues
    if max_steps is not None:
        cmd += ["--max-steps", str(max_steps)]
    return cmd


def finished(path: Path, max_steps: int | None) -> bool:
    """True when ``path`` holds the metrics of a completed run of this budget."""
    metrics = path / "metrics.json"
    if not metrics.is_file():
        return False
    data = json.loads(metrics.read_text())
    if "evaluation" not in data:
        return False
    if max_steps is not None:
        return data.get("step") == max_steps
    return data.get("stopped_by") == "epochs"


def run_one(task: str, weight: float, seed: int, out: Path, max_steps: int | None) -> dict:
    """Run (or reuse) one training and return its metrics.json."""
    path = run_dir(out, task, weight, seed)
    if not finished(path, max_steps):
        path.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        with open(path / "train.log", "w") as log:
            subprocess.run(command(task, weight, seed, out, max_steps), check=True, stdout=log, stderr=log, env=env)
    return json.loads((path / "metrics.json").read_text())


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def compare(m0: float, s0: float, m1: float, s1: float, higher: bool) -> str:
    """Verdict on the term: a difference within one standard deviation of each side is reported as such."""
    if m0 == m1 == 0:
        return "0 in both runs: no sample came within the mode radius; see the modes hit"
    if m0 == m1:
        return "no change"
    better = (m1 > m0) == higher
    if abs(m1 - m0) <= s0 + s1:
        return f"{'better' if better else 'worse'}, within the seed spread"
    return "helped" if better else "did not help"


def _label_font(width: int):
    """A scalable font for the captions: about 1/40 of the picture's width, at least 20 px (Pillow >= 10.1)."""
    from PIL import ImageFont

    size = max(20, width // 40)
    try:
        return ImageFont.load_default(size=size), size
    except TypeError:  # an older Pillow has only the fixed bitmap font
        return ImageFont.load_default(), 11


def captioned(grids: list, labels: list[str], gap: int = 16):
    """The grids pasted next to each other under a caption strip whose labels read at the page's width."""
    from PIL import Image, ImageDraw

    width = sum(im.width for im in grids) + gap * (len(grids) - 1)
    font, size = _label_font(width)
    strip = int(size * 1.8)
    canvas = Image.new("RGB", (width, max(im.height for im in grids) + strip), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for im, label in zip(grids, labels, strict=True):
        draw.text((x + 4, (strip - size) // 2), label, fill="black", font=font)
        canvas.paste(im, (x, strip))
        x += im.width + gap
    return canvas


def side_by_side(images: list[Path], target: Path, labels: list[str]) -> bool:
    """Paste the grids next to each other with a caption strip; False when Pillow or an image is missing."""
    try:
        from PIL import Image
    except ImportError:
        return False
    if not all(p.is_file() for p in images):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    captioned([Image.open(p).convert("RGB") for p in images], labels).save(target)
    return True


def last_grid(path: Path) -> Path:
    """The sample grid of the last step of a run."""
    grids = sorted((path / "samples").glob("*.png"))
    return grids[-1] if grids else path / "samples" / "missing.png"


def machine() -> str:
    """CPU model, cores, Python and torch versions."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import torch

    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


HEADER = [
    "# Reproduction: the mode-seeking term on the example trainers",
    "",
    "Each task trained on its built-in dataset (known modes per condition) with `--ms-weight 0` (the baseline) and "
    "`--ms-weight 1`; values are mean +/- sample standard deviation over the seeds of the end-of-run evaluation in "
    'each run\'s `metrics.json`. "Helped" means the means differ by more than the two standard deviations together; '
    '"within the seed spread" means they do not. Each section says how, where and when its runs were made: a '
    "command with `--tasks` rewrites only the sections of those tasks.",
    "",
]


def task_section(task: str, runs: dict, args: argparse.Namespace, assets: Path, report_path: Path, argv: list[str]):
    """The Markdown section of one task: provenance, the table of metrics, run lengths, the seed-0 grids."""
    lines = [
        f"## {task}",
        "",
        f"- Command: `python benchmarks/reproduce.py {shlex.join(argv)}`; seeds {', '.join(map(str, args.seeds))}",
        f"- Machine: {machine()}",
        f"- Date: {datetime.date.today().isoformat()}",
        "",
        "| metric | ms 0 | ms 1 | the term |",
        "|---|---|---|---|",
    ]
    for key, label, higher in METRICS:
        columns = []
        for weight in WEIGHTS:
            values = [r["evaluation"][key] for r in runs[weight] if key in r.get("evaluation", {})]
            columns.append(mean_std(values) if values else None)
        if None in columns:
            continue
        (m0, s0), (m1, s1) = columns
        verdict = compare(m0, s0, m1, s1, higher)
        lines.append(
            f"| {label} ({'higher' if higher else 'lower'} is better) | {m0:.4g} +/- {s0:.2g} | "
            f"{m1:.4g} +/- {s1:.2g} | {verdict} |"
        )
    present = [(key, label) for key, label, _ in METRICS if all(key in r.get("evaluation", {}) for w in WEIGHTS
                                                               for r in runs[w])]  # fmt: skip
    lines += [
        "",
        "Per seed, ms 0 -> ms 1:",
        "",
        "| seed | " + " | ".join(label.split(" (")[0] for _, label in present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for i, seed in enumerate(args.seeds):
        cells = [f"{runs[0.0][i]['evaluation'][k]:.3g} -> {runs[1.0][i]['evaluation'][k]:.3g}" for k, _ in present]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    steps = {r.get("step") for weight in WEIGHTS for r in runs[weight]}
    seconds = [r.get("seconds", float("nan")) for weight in WEIGHTS for r in runs[weight]]
    lines += [
        "",
        f"Steps per run: {', '.join(map(str, sorted(steps)))}; wall time per run "
        f"{min(seconds):.0f}-{max(seconds):.0f} s ({args.jobs} run(s) at a time).",
        "",
    ]
    for seed in args.seeds:
        grids = [last_grid(run_dir(args.out, task, w, seed)) for w in WEIGHTS]
        picture = assets / (f"{task}.png" if seed == args.seeds[0] else f"{task}_seed{seed}.png")
        labels = [f"without the term (ms 0), seed {seed}", f"with the term (ms 1), seed {seed}"]
        if side_by_side(grids, picture, labels):
            rel = os.path.relpath(picture, report_path.parent)
            lines += [
                f"Samples of seed {seed}, without the term (left) and with it (right):",
                "",
                f"![{task}, seed {seed}: samples without (left) and with (right) the term]({rel})",
                "",
            ]
    return lines


def sections(text: str) -> dict[str, str]:
    """The task sections of an existing report, by task name."""
    found: dict[str, str] = {}
    for part in text.split("\n## ")[1:]:
        name = part.split("\n", 1)[0].strip()
        if name in TASKS:
            found[name] = "## " + part.rstrip("\n") + "\n"
    return found


def report(
    results: dict, args: argparse.Namespace, assets: Path, report_path: Path, argv: list[str], previous: str = ""
) -> str:
    """The Markdown report: this command's task sections, and the other tasks' sections of ``previous`` kept."""
    kept = sections(previous)
    for task, runs in results.items():
        kept[task] = "\n".join(task_section(task, runs, args, assets, report_path, argv))
    missing = [t for t in TASKS if t not in kept]
    lines = list(HEADER)
    if missing:
        lines += [f"Not in this report yet: {', '.join(missing)}.", ""]
    body = [kept[t].rstrip("\n") + "\n" for t in TASKS if t in kept]
    return "\n".join(lines) + "\n" + "\n".join(body)


def main(argv: list[str] | None = None) -> None:
    """Run the trainings and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, help="trainers to run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--max-steps", type=int, default=None, help="cap every run at N steps (default: full runs)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "reproduce", help="folder of the runs")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "reproduction.md", help="the Markdown report")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if len(args.seeds) < 1:
        parser.error("give at least one seed")
    missing = [t for t in args.tasks if not (ROOT / "examples" / f"{t}.py").is_file()]
    if missing:
        parser.error(f"no trainer for {', '.join(missing)} in examples/")
    jobs = [(task, w, s) for task in args.tasks for w in WEIGHTS for s in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda j: run_one(*j, args.out, args.max_steps), jobs))
    results: dict = {task: {w: [] for w in WEIGHTS} for task in args.tasks}
    for (task, weight, _), metrics in zip(jobs, done, strict=True):
        results[task][weight].append(metrics)
    assets = args.report.parent / "reproduction"
    args.report.parent.mkdir(parents=True, exist_ok=True)
    previous = args.report.read_text() if args.report.is_file() else ""
    args.report.write_text(report(results, args, assets, args.report, argv, previous))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
