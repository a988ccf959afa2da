"""The example trainers, listed once: the tests, ``benchmarks/reproduce.py`` and the docs' checks read this.

A fifth trainer is a script ``examples/<task>.py`` built on :mod:`examples.common` plus one entry here (its short
name for the tests' tiny presets, and its task name, the script's stem).
"""

from __future__ import annotations

from pathlib import Path

#: Short name -> task (the script's stem, the name of its runs and results), in the paper's order.
TRAINERS: dict[str, str] = {
    "dcgan": "dcgan_cifar10",
    "pix2pix": "pix2pix_facades",
    "drit": "drit_yosemite",
    "stackgan": "stackgan_birds",
}
#: The tasks' names, in the same order.
TASKS: tuple[str, ...] = tuple(TRAINERS.values())
EXAMPLES = Path(__file__).resolve().parents[1]


def script(task: str) -> Path:
    """The trainer's script, from its short name or its task name."""
    return EXAMPLES / f"{TRAINERS.get(task, task)}.py"
