"""The one error type of the data layer: it always says what was expected on disk."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """Missing or malformed data; the message shows the expected layout."""

    def __init__(self, problem: str, layout: str) -> None:
        super().__init__(f"{problem}\nExpected layout:\n{layout}")


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
