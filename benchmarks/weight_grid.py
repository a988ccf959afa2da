"""Weight and form of the mode-seeking term against the outcome, on an example trainer's built-in dataset.

Each configuration is a set of the trainer's own options (``--ms-weight``, ``--ms-form clamped --ms-tau data``,
``--ms-warmup``); each runs over several seeds on the built-in data, whose conditions have known modes. The script
reads every run's ``metrics.json`` (the end-of-run evaluation, and the last training-log entry for the ratio, the
collapsed and the overshooting share of pairs), writes the mean +/- sample standard deviation per configuration as
JSON and as a Markdown table, and a plot of quality and NDB per configuration.

    python benchmarks/weight_grid.py --task pix2pix_facades --seeds 0 1 2 --jobs 2

Finished runs are reused and an interrupted one continues (``--resume``), so an interrupted grid resumes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce import machine, mean_std  # noqa: E402

# name -> the trainer options of that configuration
CONFIGS = {
    "baseline (weight 0)": ["--ms-weight", "0"],
    "reciprocal, weight 0.1": ["--ms-weight", "0.1"],
    "reciprocal, weight 1 (paper)": ["--ms-weight", "1"],
    "reciprocal, weight 5": ["--ms-weight", "5"],
    "reciprocal, weight 5, warm-up": ["--ms-weight", "5", "--ms-warmup", "WARMUP"],
    "clamped at the data ceiling, weight 1": ["--ms-weight", "1", "--ms-form", "clamped", "--ms-tau", "data"],
    "clamped at the data ceiling, weight 5": ["--ms-weight", "5", "--ms-form", "clamped", "--ms-tau", "data"],
}
# (key, label, higher is better); evaluation keys first, then the training log's
METRICS = (
    ("modes_classified", "known modes hit per condition", True),
    ("modes_covered", "known modes covered (within radius)", True),
    ("ndb", "NDB", False),
    ("jsd", "JSD", False),
    ("diversity_l1", "diversity (pixel L1)", None),
    ("ms_ratio", "ratio at the end", None),
    ("collapsed", "collapsed pairs", False),
    ("overshoot", "pairs past the ceiling", False),
)


def slug(name: str) -> str:
    """A folder name for a configuration."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def run_one(task: str, name: str, seed: int, out: Path, max_steps: int | None, warmup: int) -> dict:
    """Run (or reuse, or continue) one training; returns its metrics.json."""
    path = out / task / slug(name) / f"seed{seed}"
    metrics = path / "metrics.json"
    done = metrics.is_file() and json.loads(metrics.read_text()).get("stopped_by") in ("epochs", "max_steps")
    if not done:
        path.mkdir(parents=True, exist_ok=True)
        options = [str(warmup) if o == "WARMUP" else o for o in CONFIGS[name]]
        cmd = [sys.executable, str(ROOT / "examples" / f"{task}.py"), *options, "--seed", str(seed)]
        cmd += ["--out", str(path), "--resume"] + (["--max-steps", str(max_steps)] if max_steps else [])
        env = dict(os.environ, OMP_NUM_THREADS="1")
        with open(path / "train.log", "w") as log:
            subprocess.run(cmd, check=True, stdout=log, stderr=log, env=env)
    return json.loads(metrics.read_text())


def summarize(results: dict[str, list[dict]]) -> dict[str, dict[str, list[float]]]:
    """Per configuration and metric: [mean, std, n] over the seeds (metrics a run lacks are left out)."""
    table: dict[str, dict[str, list[float]]] = {}
    for name, runs in results.items():
        row = {}
        for key, _, _ in METRICS:
            values = [
                float(v)
                for r in runs
                if (v := (r.get("evaluation") or {}).get(key, (r.get("last_log") or {}).get(key))) is not None
            ]
            if values:
                row[key] = [*mean_std(values), len(values)]
        table[name] = row
    return table


def markdown(table: dict[str, dict[str, list[float]]]) -> str:
    """The table as Markdown: one row per configuration, mean +/- std."""
    keys = [(k, label) for k, label, _ in METRICS if any(k in row for row in table.values())]
    lines = ["| configuration | " + " | ".join(label for _, label in keys) + " |"]
    lines.append("|---|" + "---|" * len(keys))
    for name, row in table.items():
        cells = [f"{row[k][0]:.3g} +/- {row[k][1]:.2g}" if k in row else "-" for k, _ in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: dict[str, dict[str, list[float]]], path: Path, title: str) -> None:
    """Bars of known modes hit and NDB per configuration, with the seeds' standard deviation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, label in ((axes[0], "modes_classified", "known modes hit (higher is better)"),
                           (axes[1], "ndb", "NDB (lower is better)")):  # fmt: skip
        means = [table[n].get(key, [float("nan")])[0] for n in names]
        stds = [table[n].get(key, [0, 0.0])[1] for n in names]
        colours = ["grey" if "baseline" in n else "tab:orange" if "clamped" in n else "tab:blue" for n in names]
        ax.barh(range(len(names)), means, xerr=stds, color=colours, capsize=3)
        ax.set_yticks(range(len(names)), names if ax is axes[0] else [""] * len(names))
        ax.invert_yaxis()
        ax.set_xlabel(label)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the grid and write ``<results>/<task>.json``, ``.md`` and ``.png``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="pix2pix_facades", help="trainer (default: pix2pix_facades)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS), metavar="NAME")
    parser.add_argument("--max-steps", type=int, help="steps per run (default: the trainer's built-in preset)")
    parser.add_argument("--warmup", type=int, default=500, help="--ms-warmup steps of the warm-up configuration")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "weight_grid", help="run folders")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "weight_guide")
    args = parser.parse_args(argv)
    jobs = [(name, seed) for name in args.configs for seed in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(run_one, args.task, *job, args.runs, args.max_steps, args.warmup) for job in jobs}
        results = {name: [futures[name, s].result() for s in args.seeds] for name in args.configs}
    table = summarize(results)
    seconds = [r["seconds"] for runs in results.values() for r in runs]
    payload = {
        "task": args.task,
        "seeds": args.seeds,
        "steps": results[args.configs[0]][0]["step"],
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/weight_grid.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seconds_per_run": [min(seconds), max(seconds)],
        "configs": {name: CONFIGS[name] for name in args.configs},
        "table": table,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.task}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.results / f"{args.task}.md").write_text(markdown(table))
    plot(table, args.results / f"{args.task}.png", f"{args.task}, built-in data, seeds {args.seeds}")
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
