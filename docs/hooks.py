"""MkDocs hook: render the committed benchmark results (``benchmarks/results/*.csv`` and their ``.png`` plots).

The marker ``<!-- benchmark-results -->`` in ``benchmarks.md`` is replaced at build time by one section per CSV file:
the machine, torch and Triton versions and date read from the file, a table of its rows (the values exactly as written
in the file; columns that are empty in every row are left out) and the plot of the same name when one is committed.
The marker ``<!-- benchmark-status -->`` becomes a warning while no GPU result (a CSV not named ``cpu-*``) is
committed. The plots are added to the site under ``assets/benchmarks/``. Nothing is measured here.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MARKER = "<!-- benchmark-results -->"
STATUS = "<!-- benchmark-status -->"
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
        "| " + " | ".join(f"`{c}`" for c in columns) + " |",
        "|" + "|".join("---" if c in ("case", "variant") else "---:" for c in columns) + "|",
    ]
    lines += ["| " + " | ".join("" if _blank(r[c]) else r[c] for c in columns) + " |" for r in rows]
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


def on_files(files: Files, config: Any) -> Files:
    """Add the committed plots to the site."""
    for png in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"{ASSETS}/{png.name}", abs_src_path=str(png)))
    return files


def render_status() -> str:
    """The no-GPU warning while every committed result is a CPU one, else nothing."""
    gpu = [p for p in _csv_files() if not p.name.startswith("cpu-")]
    return "" if gpu else NO_GPU


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Replace the markers in the benchmarks page by the status and the rendered results."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render_results())
    if STATUS in markdown:
        markdown = markdown.replace(STATUS, render_status())
    return markdown
