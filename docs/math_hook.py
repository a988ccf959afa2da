r"""MkDocs hook: render every formula to MathML at build time, so the site shows math offline with no script.

``pymdownx.arithmatex`` (generic mode) wraps the LaTeX of the pages and of the docstrings (whose ``:math:`` roles
``griffe_rst.py`` turns into ``\(...\)``) in ``<span class="arithmatex">\(...\)</span>`` and
``<div class="arithmatex">\[...\]</div>``. This hook replaces each by the MathML that ``latex2mathml`` makes of it.

Why MathML at build time: every current browser renders MathML Core natively (Chromium since 109, Firefox, Safari),
so the site needs no JavaScript, no font files and no CDN, and a formula shows as soon as the page does. A bundled
MathJax or KaTeX would add about 1 MB of scripts and fonts to the site and render only after they ran. A formula
that ``latex2mathml`` cannot convert fails the build, naming the page and the LaTeX.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])\s*</(?P=tag)>',
    flags=re.S,
)


_UNKNOWN = re.compile(r">(\\[A-Za-z]+)<")  # latex2mathml writes a command it does not know as text


def to_mathml(latex: str, *, display: bool) -> str:
    """MathML for one formula; ``display`` for a block (centred, full-size fractions).

    Raises:
        ValueError: a command ``latex2mathml`` does not know (it would show as text), or malformed LaTeX.
    """
    mathml = convert(latex.strip(), display="block" if display else "inline")
    unknown = _UNKNOWN.search(mathml)
    if unknown:
        raise ValueError(f"unknown command {unknown.group(1)}")
    return mathml


def render_math(page_html: str, where: str = "a page") -> str:
    """Replace every arithmatex formula in ``page_html`` by its MathML."""

    def replace(match: re.Match[str]) -> str:
        block = match.group("block") is not None
        latex = html.unescape(match.group("block") if block else match.group("inline"))
        try:
            mathml = to_mathml(latex, display=block)
        except Exception as exc:  # the build fails, naming the formula
            raise ValueError(f"{where}: cannot render the formula {latex!r} to MathML: {exc}") from exc
        return f'<div class="math-block">{mathml}</div>' if block else mathml

    return _MATH.sub(replace, page_html)


def on_page_content(page_html: str, page: Any, config: Any, files: Any) -> str:
    """Render the page's formulas."""
    return render_math(page_html, where=page.file.src_uri)
