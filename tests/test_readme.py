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
