"""An example started without a package it needs says which one and how to install it, in one line, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.common.dependencies import EXAMPLE_PACKAGES, INSTALL_COMMAND
from tests.examples.conftest import REPO, trainer_env

# The runnable scripts: the networks' modules (``*_networks.py``) are imported by them, not run.
EXAMPLES = sorted(
    p.name for p in (REPO / "examples").glob("*.py") if p.name != "__init__.py" and not p.stem.endswith("_networks")
)


def run_hiding(script: str, hidden: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``examples/<script> --help`` in a Python where the ``hidden`` modules cannot be imported."""
    site = tmp_path / "site"
    site.mkdir()
    # sys.modules[name] = None makes `import name` fail and importlib.util.find_spec(name) return None
    (site / "sitecustomize.py").write_text(f"import sys\nfor _name in {hidden!r}:\n    sys.modules[_name] = None\n")
    env = trainer_env()
    env["PYTHONPATH"] = f"{site}:{env['PYTHONPATH']}"
    cmd = [sys.executable, str(REPO / "examples" / script), "--help"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=REPO)


def test_every_trainer_is_checked():
    assert EXAMPLES == [
        "dcgan_cifar10.py",
        "drit_yosemite.py",
        "pix2pix_facades.py",
        "stackgan_birds.py",
        "toy_mixture.py",
    ]
    for script in EXAMPLES:
        text = (REPO / "examples" / script).read_text(encoding="utf-8")
        assert text.index("require_packages(__file__") < text.index("\nimport torch")


@pytest.mark.parametrize("script", [s for s in EXAMPLES if s != "toy_mixture.py"])
@pytest.mark.parametrize(("hidden", "named"), [(["PIL"], "pillow (import PIL)"), (["tqdm", "matplotlib"], "tqdm")])
def test_missing_optional_package_is_one_line_and_exit_1(script, hidden, named, tmp_path):
    proc = run_hiding(script, hidden, tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"{script} needs ")
    assert named in lines[0]
    assert lines[0].endswith(INSTALL_COMMAND)


@pytest.mark.parametrize("script", EXAMPLES)
def test_missing_torch_is_named_too(script, tmp_path):
    proc = run_hiding(script, ["torch"], tmp_path)
    assert proc.returncode == 1
    assert re.fullmatch(rf"{re.escape(script)} needs the package torch \(import torch\), .*\n", proc.stderr)


def test_the_examples_extra_brings_every_package_checked():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^examples = \[(.*?)\]", pyproject, flags=re.M)
    assert extra is not None
    brought = {re.split(r"[<>=!~ ]", item.strip().strip('"'))[0] for item in extra.group(1).split(",")}
    brought |= {"torch", "numpy"}  # the package's own dependencies
    assert set(EXAMPLE_PACKAGES.values()) <= brought


def test_with_everything_installed_the_help_runs(tmp_path):
    proc = run_hiding("stackgan_birds.py", [], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--ms-form" in proc.stdout
