"""The documentation site: it builds with ``mkdocs build --strict``, and every Python example on its pages runs.

Each page's ```python blocks run in order in one namespace per page. A block preceded by a line ``<!-- skip -->``
(optionally ``<!-- skip: reason -->``) is not run; use that only for code that cannot run here (a process group, a
GPU, a multi-second compilation).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^(?P<skip><!-- skip(?::[^\n]*)? -->\n)?```python\n(?P<code>.*?)^```", flags=re.M | re.S)


def python_blocks(page: Path) -> list[tuple[int, str, bool]]:
    """(first line number, code, skipped) of every ```python block of a page."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append((line, match.group("code"), match.group("skip") is not None))
    return blocks


def test_the_pages_exist():
    names = {page.name for page in PAGES}
    expected = {"index.md", "getting-started.md", "concepts.md", "hook.md", "backends.md", "metrics.md"}
    expected |= {"examples.md", "benchmarks.md", "api.md", "changelog.md"}
    assert expected <= names


def test_skip_markers_precede_python_blocks():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        markers = len(re.findall(r"^<!-- skip(?::[^\n]*)? -->$", text, flags=re.M))
        assert markers == sum(skipped for _, _, skipped in python_blocks(page)), page.name


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(page: Path, capsys: pytest.CaptureFixture[str]):
    environ = dict(os.environ)
    namespace: dict = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    torch.manual_seed(0)
    try:
        for line, code, skipped in python_blocks(page):
            if not skipped:
                # Leading newlines keep the page's line numbers in tracebacks.
                exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    capsys.readouterr()


def test_site_builds_strict(tmp_path: Path):
    missing = [m for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python") if not _importable(m)]
    if missing:
        pytest.skip(f"the docs extra is not installed (missing {', '.join(missing)}): pip install -e '.[docs]'")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "NO_MKDOCS_2_WARNING": "1"}  # the package from this checkout
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").is_file()
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("torch_modeseek.loss.ModeSeekingLoss", "torch_modeseek.hooks.ModeSeekingHook", "torch_modeseek.ops"):
        assert f'id="{name}"' in api, name
    _check_api_page(api)
    benchmarks = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    for csv_file in sorted((ROOT / "benchmarks" / "results").glob("*.csv")):
        assert csv_file.name in benchmarks


def _check_api_page(api: str) -> None:
    """Every name of every ``__all__`` documented; no protocol method listed; one TOC entry per module; no raw
    doctest prompt or LaTeX in the text (examples are code blocks, formulas MathML)."""
    import re

    import torch_modeseek
    from torch_modeseek import ceiling, distances, functional, hooks, kinds, loss, pairing, schedules

    anchors = set(re.findall(r'id="(torch_modeseek[^"]*)"', api))
    for module in (ceiling, distances, functional, hooks, kinds, loss, pairing, schedules):
        for name in module.__all__:
            assert f"{module.__name__}.{name}" in anchors, f"{module.__name__}.{name} is not on the API page"
    for name in torch_modeseek.__all__:
        assert any(a.endswith(f".{name}") for a in anchors), f"torch_modeseek.{name} is not on the API page"
    dunders = sorted(a for a in anchors if re.search(r"\.__(?!version__)\w+__$", a))
    assert not dunders, dunders
    assert not any(a.endswith(".extra_repr") for a in anchors)
    nav = api[api.find("md-nav--secondary") :]
    toc = re.findall(r'href="#(torch_modeseek[^"]*)"', nav[: nav.find("</nav>")])
    assert toc.count("torch_modeseek") <= 1, toc
    assert not any(re.fullmatch(r"torch_modeseek_\d+", t) for t in toc), toc
    text = re.sub(r"<[^>]+>", "", re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", api, flags=re.S))
    assert "&gt;&gt;&gt;" not in text, "a doctest rendered as text, not as a code block"
    assert "\\(" not in text, "a formula left as LaTeX"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False
