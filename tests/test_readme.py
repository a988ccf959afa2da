"""The README's quick start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks_after(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_quick_start_runs_and_is_at_most_10_lines():
    (block,) = python_blocks_after("Quick start")
    assert len(block.strip().splitlines()) <= 10
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    loss = namespace["loss_g"]
    assert loss.dim() == 0
    assert all(p.grad is not None for p in namespace["generator"].parameters())


def test_readme_names_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "python examples/stackgan_birds.py" in text
    assert 'pip install -e ".[test]"' in text
    assert "\npytest\n" in text


def test_training_hook_snippet_runs():
    (block,) = python_blocks_after("Training hook")
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    hook = namespace["hook"]
    assert hook.step == 1
    assert hook.last_ratio is not None
    assert all(p.grad is not None for p in namespace["generator"].parameters())


def test_badges_point_at_what_exists():
    text = README.read_text(encoding="utf-8")
    root = README.parent
    workflow = root / ".github" / "workflows" / "ci.yml"
    assert "actions/workflows/ci.yml/badge.svg" in text
    assert "bash .ci/run" in workflow.read_text(encoding="utf-8")
    assert "license-MIT" in text
    assert "MIT License" in (root / "LICENSE").read_text(encoding="utf-8")
    requires = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (root / "pyproject.toml").read_text(encoding="utf-8"))
    assert requires is not None
    assert f"python-{requires[1]}.{requires[2]}%2B" in text
    assert "https://arxiv.org/abs/1903.05628" in text


def _report_cells() -> dict[tuple[str, str], tuple[str, str, str]]:
    """(task, metric label) -> (ms 0 cell, ms 1 cell, verdict) from the committed reproduction report."""
    cells, task = {}, None
    for line in (README.parent / "docs" / "reproduction.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            task = line[3:].strip()
        elif task and line.startswith("| ") and "+/-" in line:
            label, ms0, ms1, verdict = (c.strip() for c in line.strip("|").split("|")[:4])
            cells[(task, label.split(" (higher")[0].split(" (lower")[0])] = (ms0, ms1, verdict)
    return cells


def test_results_table_copies_the_reproduction_report():
    section = README.read_text(encoding="utf-8").split("## Results\n", 1)[1].split("\n## ", 1)[0]
    report = _report_cells()
    rows = [r for r in section.splitlines() if r.startswith("| `") and "+/-" in r]
    assert len(rows) >= 12  # four trainers, several metrics each
    for row in rows:
        task, metric, ms0, ms1, verdict = (c.strip() for c in row.strip("|").split("|")[:5])
        task = task.strip("`")
        matches = [cells for (t, label), cells in report.items() if t == task and label.startswith(metric)]
        assert len(matches) == 1, f"README row {task} / {metric} names no single metric of the report"
        assert (ms0, ms1, verdict) == matches[0], f"README {task} / {metric}: {(ms0, ms1, verdict)} != {matches[0]}"
