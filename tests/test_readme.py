"""The README's quick start runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
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


def readme_block(number: int, *extra: str) -> list[str]:
    """Block ``number`` of "The two commands", as CI's extractor prints it."""
    cmd = [sys.executable, str(README.parent / ".ci" / "readme_commands.py"), str(number), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


def test_the_two_commands_install_what_they_run():
    assert readme_block(1) == ['pip install -e ".[examples]"', "python examples/stackgan_birds.py"]
    assert readme_block(2) == ['pip install -e ".[test]"', "pytest"]
    assert readme_block(1, "--example-args=--max-steps 3")[1] == "python examples/stackgan_birds.py --max-steps 3"


def test_ci_runs_each_block_in_a_fresh_venv():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    first = next(i for i, line in enumerate(lines) if "readme_commands.py 1 --example-args=" in line)
    second = next(i for i, line in enumerate(lines) if "readme_commands.py 2)" in line)
    assert "--max-steps" in lines[first]
    assert lines[first - 1] == "fresh_venv"
    assert lines[second - 1] == "fresh_venv"
    assert first < second
    # the blocks run as printed, and nothing before them installs the package or its extras
    assert 'bash -euo pipefail -c "$first"' in lines
    assert 'bash -euo pipefail -c "$second"' in lines
    assert not [line for line in lines[:second] if line.startswith("pip install") and "-e" in line]


def test_stated_time_of_the_main_example_is_the_measured_one():
    section = README.read_text(encoding="utf-8").split("## The two commands\n", 1)[1].split("\n## ", 1)[0]
    minutes = re.search(r"about (\d+) minutes on a 2-core CPU", section)
    assert minutes is not None
    script = (README.parent / "examples" / "stackgan_birds.py").read_text(encoding="utf-8")
    assert f"about {minutes[1]} minutes on a 2-core CPU" in script


def test_training_hook_snippet_runs():
    (block,) = python_blocks_after("Training hook")
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    hook = namespace["hook"]
    assert hook.step == 1
    assert hook.last_ratio is not None
    assert all(p.grad is not None for p in namespace["generator"].parameters())


def test_porting_snippet_runs_with_the_data_ceiling():
    (block,) = python_blocks_after("Adding the term to your GAN")
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    hook, tau = namespace["hook"], namespace["tau"]
    assert hook.criterion.options.form == "clamped"
    assert hook.criterion.options.tau == tau > 0
    assert hook.step == 1
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
