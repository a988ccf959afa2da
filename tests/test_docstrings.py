"""Every public object of the library documents itself with a runnable example (the doctests run under pytest)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import pytest

PUBLIC_MODULES = ("torch_modeseek", "torch_modeseek.metrics", "torch_modeseek.ops")


def _public_objects() -> Iterator[tuple[str, object]]:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module_name}.{name}", obj


def _public_members(cls: type) -> Iterator[tuple[str, object]]:
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, (property, staticmethod, classmethod)):
            yield name, member


PUBLIC = sorted(_public_objects())


def test_the_public_surface_is_found():
    names = {name for name, _ in PUBLIC}
    expected = {"torch_modeseek.ModeSeekingLoss", "torch_modeseek.metrics.NDB", "torch_modeseek.ops.paired_distance"}
    assert expected <= names
    assert len(PUBLIC) >= 30


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_object_has_a_doctest(name: str, obj: object):
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"{name} has no doctest example in its docstring"


@pytest.mark.parametrize(
    ("name", "cls"), [(n, o) for n, o in PUBLIC if inspect.isclass(o)], ids=[n for n, o in PUBLIC if inspect.isclass(o)]
)
def test_public_methods_are_documented(name: str, cls: type):
    undocumented = [member for member, obj in _public_members(cls) if not inspect.getdoc(obj)]
    assert not undocumented, f"{name}: no docstring on {undocumented}"
