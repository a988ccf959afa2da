"""Datasets of the example trainers: the real formats as distributed, and deterministic built-in datasets."""

from __future__ import annotations

from examples.common.data.errors import DataFileError, DatasetError

__all__ = ["DataFileError", "DatasetError"]
