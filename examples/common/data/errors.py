"""The data layer's errors: a missing file shows the expected layout; a bad file is named in one line."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """Missing or malformed data; the message shows the expected layout."""

    def __init__(self, problem: str, layout: str) -> None:
        super().__init__(f"{problem}\nExpected layout:\n{layout}")


class DataFileError(DatasetError):
    """A data file that is there but cannot be used: corrupt, truncated, hostile, or holding wrong values.

    The message is one line, ``'<path>': <problem>``; the expected layout is left out, since the file is where it
    belongs. Being a :class:`DatasetError`, it is reported wherever a missing file is (a usage error of the trainers).

    Args:
        path: the file at fault.
        problem: what is wrong with it (line breaks are folded into spaces).

    Attributes:
        path: the file at fault.
        problem: the one-line problem.

    Example:
        >>> print(DataFileError("data/train/7.jpg", "cannot read image: image file is truncated"))
        'data/train/7.jpg': cannot read image: image file is truncated
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = " ".join(str(problem).split())
        ValueError.__init__(self, f"{str(path)!r}: {self.problem}")

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:
        return type(self), (self.path, self.problem)


def require_dir(path: str | Path, layout: str, what: str = "data root") -> Path:
    """Return ``path`` as a ``Path`` when it is a directory; raise :class:`DatasetError` otherwise.

    Args:
        path: the directory to check.
        layout: the expected layout, shown in the error.
        what: how the message names the directory.

    Raises:
        DatasetError: ``path`` does not exist or is not a directory.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"{what} {str(p)!r} does not exist.", layout)
    if not p.is_dir():
        raise DatasetError(f"{what} {str(p)!r} is not a directory.", layout)
    return p
