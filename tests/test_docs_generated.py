"""The build-time pieces of the docs: formulas to MathML, and the benchmark page's results written from the CSVs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_formulas_become_mathml():
    pytest.importorskip("latex2mathml", reason="in the docs extra")
    math = _load("math_hook")
    page = (
        '<p>ratio <span class="arithmatex">\\(r = \\dfrac{d_x}{d_z}\\)</span> and</p>'
        '<div class="arithmatex">\\[\\mathcal{L} = \\frac{1}{r + \\epsilon}\\]</div>'
    )
    out = math.render_math(page)
    assert "arithmatex" not in out
    assert out.count("<math") == 2
    assert 'display="inline"' in out
    assert '<div class="math-block"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in out
    assert "\\(" not in out
    assert "\\[" not in out


def test_a_formula_that_cannot_render_fails_the_build_naming_it():
    pytest.importorskip("latex2mathml", reason="in the docs extra")
    math = _load("math_hook")
    with pytest.raises(ValueError, match=r"concepts.md: cannot render the formula 'a\^'"):
        math.render_math('<span class="arithmatex">\\(a^\\)</span>', where="concepts.md")
    with pytest.raises(ValueError, match=r"unknown command \\notacommand"):
        math.render_math('<span class="arithmatex">\\(\\notacommand x\\)</span>', where="concepts.md")


def test_the_benchmark_page_holds_the_committed_results():
    """docs/benchmarks.md carries the tables of benchmarks/results/*.csv (GitHub shows it unbuilt): up to date."""
    pytest.importorskip("mkdocs", reason="in the docs extra")
    hooks = _load("hooks")
    assert hooks.stale() == [], "run `python docs/hooks.py`"
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for csv_file in sorted((ROOT / "benchmarks" / "results").glob("*.csv")):
        assert csv_file.name in page
    for csv_file in sorted((ROOT / "benchmarks" / "results" / "kmeans").glob("*.csv")):
        assert f"#### `{csv_file.name}`" in page  # NDB's k-means against scikit-learn, under its own heading
        rows = csv_file.read_text(encoding="utf-8").splitlines()[1:]
        assert all(f"| {row.split(',')[7]} |" in page for row in rows)  # each speedup, as written in the file
