r"""The packages the example trainers need, checked before anything imports them.

The library needs only ``torch`` and ``numpy``; the trainers also draw progress bars (tqdm), read and write images
(Pillow) and plot (matplotlib), which the ``examples`` extra installs. A trainer started without one of them stops with
one line that names the package and the command that installs it, instead of a traceback from deep in an import.
This module imports nothing but the standard library, so it can run first.

Example:
    >>> missing_packages({"sys": "sys", "no_such_module_xyz": "no-such-package"})
    [('no_such_module_xyz', 'no-such-package')]
    >>> print(missing_message("dcgan_cifar10.py", [("PIL", "pillow")]).replace("; ", ";\n"))
    dcgan_cifar10.py needs the package pillow (import PIL), which is not installed;
    install it with: pip install -e ".[examples]"
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

__all__ = ["EXAMPLE_PACKAGES", "INSTALL_COMMAND", "missing_message", "missing_packages", "require_packages"]

#: import name -> distribution name of everything a trainer imports outside the standard library
EXAMPLE_PACKAGES = {"torch": "torch", "numpy": "numpy", "tqdm": "tqdm", "PIL": "pillow", "matplotlib": "matplotlib"}
#: run from the repository root; installs the package with the ``examples`` extra
INSTALL_COMMAND = 'pip install -e ".[examples]"'


def missing_packages(packages: Mapping[str, str] = EXAMPLE_PACKAGES) -> list[tuple[str, str]]:
    """The ``(import name, distribution name)`` pairs of ``packages`` that cannot be imported, in order."""
    return [(module, dist) for module, dist in packages.items() if importlib.util.find_spec(module) is None]


def missing_message(script: str, missing: list[tuple[str, str]]) -> str:
    """One line naming the missing packages and the command that installs them."""
    names = ", ".join(f"{dist} (import {module})" for module, dist in missing)
    noun = "the package" if len(missing) == 1 else "the packages"
    verb, pronoun = ("which is", "it") if len(missing) == 1 else ("which are", "them")
    return f"{script} needs {noun} {names}, {verb} not installed; install {pronoun} with: {INSTALL_COMMAND}"


def require_packages(script: str, packages: Mapping[str, str] = EXAMPLE_PACKAGES) -> None:
    """Stop the program with :func:`missing_message` (exit status 1, no traceback) when a package is missing.

    Args:
        script: the trainer's path or name (its file name is shown).
        packages: import name -> distribution name; default every package a trainer may import.

    Raises:
        SystemExit: with the one-line message, when any package is missing.
    """
    missing = missing_packages(packages)
    if missing:
        raise SystemExit(missing_message(Path(script).name, missing))
