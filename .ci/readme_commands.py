"""Print one shell block of the README's "The two commands" section, for CI to run exactly as a user would.

    python .ci/readme_commands.py 1 --example-args="--max-steps 3"   # the first block, a short run
    python .ci/readme_commands.py 2                                  # the second block, verbatim

Only the lines that start an example (``python examples/...``) can get extra arguments, appended at the end of the
line; every other line is printed as written in the README. Standard library only (it runs before any install).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "The two commands"


def blocks(text: str) -> list[str]:
    """The ```bash blocks of the section, in order."""
    match = re.search(rf"^## {re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if match is None:
        raise SystemExit(f"README.md has no '## {SECTION}' section")
    return re.findall(r"^```bash\n(.*?)^```", match.group(1), flags=re.S | re.M)


def main(argv: list[str] | None = None) -> int:
    """Print the block asked for; exit status 0."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("number", type=int, help="which block, from 1")
    parser.add_argument("--example-args", default="", help="appended to every `python examples/...` line")
    args = parser.parse_args(argv)
    found = blocks(README.read_text(encoding="utf-8"))
    if not 1 <= args.number <= len(found):
        raise SystemExit(f"README.md's '{SECTION}' has {len(found)} bash blocks; asked for block {args.number}")
    lines = found[args.number - 1].splitlines()
    if args.example_args:
        lines = [f"{line} {args.example_args}" if line.startswith("python examples/") else line for line in lines]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
