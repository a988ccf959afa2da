"""The benchmark page's results, written into its source from the committed CSVs, and checked at build time.

``python docs/hooks.py`` rewrites the part of ``docs/benchmarks.md`` between the markers ``<!-- benchmark-results -->``
and ``<!-- /benchmark-results -->``: a warning while no GPU result (a CSV not named ``cpu-*``) is committed, then one
section per ``benchmarks/results/*.csv`` (the machine, torch and Triton versions and date read from the file, a table
of its rows with the values exactly as written there, columns empty in every row left out) and its plot, copied to
``docs/assets/benchmarks/``, then the k-means fits of ``benchmarks/results/kmeans/*.csv`` (NDB's k-means against
scikit-learn's). The page so reads the same on GitHub as on the site. As an MkDocs hook, this module fails
the build when that part is not what the committed CSVs give (a CSV added or changed without rerunning the script).
Nothing is measured here.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
PAGE = DOCS / "benchmarks.md"
START, END = "<!-- benchmark-results -->", "<!-- /benchmark-results -->"
NO_GPU = """!!! warning "No GPU figure has been measured yet"
    The only committed results are CPU timings of the reference path. The fused Triton kernels, `torch.compile` and
    the GPU memory figures have not been timed on a GPU: no GPU was available to the sessions so far. The predictions
    the GPU run will check are in `benchmarks/NOTES.md`; they are not measurements. See
    [Producing the GPU figures](#producing-the-gpu-figures).
"""
ASSETS = "assets/benchmarks"
_META = ("device", "torch", "triton", "date")
_SKIP = {*_META, "kind", "reduction", "shape", "dtype"}  # all of these are already in the case name or the heading


def _csv_files() -> list[Path]:
    return sorted(RESULTS.glob("*.csv"))


def _blank(value: str) -> bool:
    return value.strip().lower() in ("", "nan")


def _table(rows: list[dict[str, str]], columns: list[str], text: tuple[str, ...]) -> list[str]:
    """A Markdown table of ``columns`` of the CSV ``rows``, values as written (blank for empty or NaN).

    The ``text`` columns are left-aligned, the others right-aligned.
    """
    return [
        "| " + " | ".join(f"`{c}`" for c in columns) + " |",
        "|" + "|".join("---" if c in text else "---:" for c in columns) + "|",
        *("| " + " | ".join("" if _blank(r[c]) else r[c] for c in columns) + " |" for r in rows),
    ]


def render_csv(path: Path, image: str | None) -> str:
    """Markdown for one results file: a heading, the machine, the table and the plot."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return f"### `{path.name}`\n\nThe file holds no rows.\n"
    columns = [c for c in rows[0] if c not in _SKIP and not all(_blank(r[c]) for r in rows)]
    meta = {key: sorted({r.get(key, "") for r in rows} - {""}) for key in _META}
    machine = ", ".join(meta["device"]) or "not recorded"
    triton = ", ".join(meta["triton"]) or "not used"
    lines = [
        f"### `{path.name}`",
        "",
        f"Machine: **{machine}**; torch {', '.join(meta['torch']) or '?'}; Triton {triton}; "
        f"date {', '.join(meta['date']) or '?'}. Source: `benchmarks/results/{path.name}`.",
        "",
        *_table(rows, columns, text=("case", "variant")),
    ]
    if image is not None:
        lines += ["", f"![{path.stem}]({image})"]
    return "\n".join(lines) + "\n"


def render_results() -> str:
    """Markdown for every committed results file, or a line saying there is none."""
    files = _csv_files()
    if not files:
        return "No benchmark results are committed yet.\n"
    parts = []
    for path in files:
        png = path.with_suffix(".png")
        parts.append(render_csv(path, f"{ASSETS}/{png.name}" if png.is_file() else None))
    return "\n".join(parts)


_KMEANS_META = ("cpu", "threads", "torch", "numpy", "sklearn", "date")


def render_kmeans() -> str:
    """Markdown for the k-means benchmark files (``bench_kmeans.py``), or nothing when none is committed."""
    files = sorted((RESULTS / "kmeans").glob("*.csv"))
    if not files:
        return ""
    lines = [
        "### k-means for NDB",
        "",
        "`python benchmarks/bench_kmeans.py`: the k-means fit of `NDB` against scikit-learn's `KMeans` (Lloyd,",
        "k-means++, the same restarts and iterations) on the same pixel-like data, interleaved in one run;",
        "`speedup_vs_sklearn` is scikit-learn's median wall time over ours.",
    ]
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        keys = (*_KMEANS_META, "n_init")
        meta = {key: ", ".join(sorted({r.get(key, "") for r in rows} - {""})) or "?" for key in keys}
        first = ["n", "d", "k", "dtype", "speedup_vs_sklearn"]  # the result before the timings it comes from
        rest = [c for c in (rows[0] if rows else []) if c not in (*_KMEANS_META, "n_init", *first)]
        columns = [c for c in first if rows and c in rows[0]] + rest
        lines += [
            "",
            f"#### `{path.name}`",
            "",
            f"Machine: **{meta['cpu']} ({meta['threads']} threads)**; torch {meta['torch']}; numpy {meta['numpy']}; "
            f"scikit-learn {meta['sklearn']}; {meta['n_init']} restarts; date {meta['date']}. "
            f"Source: `benchmarks/results/kmeans/{path.name}`.",
            "",
            *_table(rows, columns, text=("dtype",)),
        ]
    return "\n".join(lines) + "\n"


def render_status() -> str:
    """The no-GPU warning while every committed result is a CPU one, else nothing."""
    gpu = [p for p in _csv_files() if not p.name.startswith("cpu-")]
    return "" if gpu else NO_GPU


def generated() -> str:
    """The part of the page between the markers, as the committed CSVs give it."""
    status = render_status()
    return "\n".join(part for part in (START, status, render_results(), render_kmeans(), END) if part)


def _current_part(text: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"{PAGE.name} lacks the markers {START} ... {END}")
    return text[text.index(START) : text.index(END) + len(END)]


def write() -> None:
    """Rewrite the results part of the page and copy the plots next to it."""
    assets = DOCS / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    for png in sorted(RESULTS.glob("*.png")):
        shutil.copyfile(png, assets / png.name)
    text = PAGE.read_text(encoding="utf-8")
    PAGE.write_text(text.replace(_current_part(text), generated()), encoding="utf-8")


def stale() -> list[str]:
    """What differs between the page (and its copied plots) and the committed results; empty when current."""
    found = []
    if _current_part(PAGE.read_text(encoding="utf-8")) != generated():
        found.append(f"the results part of docs/{PAGE.name} is not what benchmarks/results/*.csv give")
    for png in sorted(RESULTS.glob("*.png")):
        copy = DOCS / ASSETS / png.name
        if not copy.is_file() or copy.read_bytes() != png.read_bytes():
            found.append(f"docs/{ASSETS}/{png.name} is missing or differs from benchmarks/results/{png.name}")
    return found


def on_pre_build(config: Any) -> None:
    """Fail the build on a results part that the committed CSVs no longer give."""
    problems = stale()
    if problems:
        raise PluginError("; ".join(problems) + ": run `python docs/hooks.py`")


if __name__ == "__main__":
    write()
    print(f"wrote the results part of {PAGE.relative_to(ROOT)} and copied the plots to docs/{ASSETS}")
