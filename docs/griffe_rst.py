r"""Griffe extension for the API reference: turn the reST markup inside the package's docstrings into Markdown.

The docstrings use Google sections (parsed by mkdocstrings) with Sphinx inline roles. This rewrites, in the docstring
text only (the package is untouched):

* ``:math:`x``` -> ``\(x\)`` and a ``.. math::`` block -> ``$$ ... $$`` (rendered by ``pymdownx.arithmatex``);
* ``:func:`a.b.c``` (and ``:class:``, ``:meth:``, ``:mod:``, ``:attr:``, ``:data:``, ``:exc:``, ``:obj:``) -> the name
  as inline code; a leading ``~`` keeps the last component, a leading ``.`` is dropped;
* a line ending in ``::`` before an indented literal block -> ``:`` (the block becomes a Markdown code block);
* an ``Example:`` section -> ``Examples:``, which Griffe's Google parser renders as doctest code blocks (it reads the
  singular as an admonition of plain Markdown text).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|attr|data|exc|obj):`([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"(?<=\S)::$", flags=re.M)
_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", flags=re.M)


def _name(match: re.Match[str]) -> str:
    target = match.group(2).strip()
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    target = target.lstrip(".")
    suffix = "()" if match.group(1) in ("func", "meth") else ""
    return f"`{target}{suffix}`"


def _math_blocks(text: str) -> str:
    """Replace each ``.. math::`` directive and its indented body by a ``$$`` display block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not stripped.startswith(".. math::"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        body: list[str] = []
        first = stripped[len(".. math::") :].strip()
        if first:
            body.append(first)
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        out += [indent + "$$", *(indent + b for b in body if b), indent + "$$"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """The Markdown form of a docstring written with Sphinx roles and directives."""
    text = _math_blocks(text)
    text = _MATH.sub(lambda m: f"\\({m.group(1)}\\)", text)
    text = _ROLE.sub(_name, text)
    text = _EXAMPLE.sub(r"\1Examples:", text)
    return _LITERAL.sub(":", text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded docstring with :func:`rst_to_markdown`."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called once per loaded object (module, class, function, attribute)."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
