"""The trainers' user-facing failure: one line that names the file or option at fault, never a traceback.

A :class:`RunError` is raised where a run cannot go on for a reason the user can fix (a corrupt checkpoint, a full
disk, a read-only folder, a resume with options that change what is trained, a diverged run, a rank that stopped
answering). :func:`run_main` calls a trainer's ``main`` and prints such errors as ``error: <message>`` on stderr, with
exit status 1; a data file found bad during the run (a
:class:`~examples.common.data.errors.DatasetError`, e.g. with ``--skip-data-check``) is printed the same way with
exit status 2, as when the check before step 1 finds it. Anything else is a bug and keeps its traceback.

Example:
    >>> def main() -> int:
    ...     raise RunError("checkpoint runs/x/checkpoints/step_00000004.pt is truncated")
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = run_main(main)
    >>> status, err.getvalue().strip()
    (1, 'error: checkpoint runs/x/checkpoints/step_00000004.pt is truncated')
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from examples.common.data.errors import DatasetError

__all__ = ["RunError", "run_main"]


class RunError(RuntimeError):
    """A failure the user can fix; its message is one line naming the file or option at fault."""


def run_main(main: Callable[[], int]) -> int:
    """``main()``, with a :class:`RunError` (status 1) or a ``DatasetError`` (status 2) printed on stderr."""
    try:
        return main()
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
