"""Griffe extension for the API reference: leave Python's protocol methods out of the class listings.

The ``public`` filter of mkdocstrings keeps special methods (``__call__``, ``__getstate__``, ...) and ``nn.Module``'s
hooks that a class overrides (``extra_repr``); they are how Python and PyTorch call into a class, not API that a user
calls, so the class docstrings describe their effect instead (a schedule is called with the step, a hook deep-copies
without its capture). ``__init__`` is merged into its class by the ``merge_init_into_class`` option and stays.
"""

from __future__ import annotations

from typing import Any

import griffe

HIDDEN = {"extra_repr"}


def _hidden(name: str) -> bool:
    return name in HIDDEN or (name.startswith("__") and name.endswith("__") and name != "__init__")


class NoProtocolMethods(griffe.Extension):
    """Delete the special methods and ``extra_repr`` of every class of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Called once the package is loaded: walk it and prune its classes."""
        self._prune(pkg)

    def _prune(self, obj: griffe.Object) -> None:
        for name, member in list(obj.members.items()):
            if member.is_alias:
                continue
            if obj.is_class and _hidden(name):
                del obj.members[name]
                continue
            if member.is_module or member.is_class:
                self._prune(member)
