"""Evaluation metrics of the MSGAN paper: NDB/JSD (mode coverage), diversity, mode coverage, FID and LPIPS adapters.

This subpackage depends only on torch (and the standard library); nothing here downloads weights. Images follow the
paper's convention of pixels in [0, 1]; :func:`images_to_unit_range` converts tanh outputs from [-1, 1].
"""

from __future__ import annotations

from torch_modeseek.metrics._checks import MissingWeightsError, NotFittedError
from torch_modeseek.metrics._kmeans import KMeansResult, kmeans
from torch_modeseek.metrics.coverage import ModeCoverageResult, mode_coverage
from torch_modeseek.metrics.diversity import PairDistance, diversity, pair_distance, sample_pairs
from torch_modeseek.metrics.fid import FID, frechet_distance
from torch_modeseek.metrics.images import images_to_unit_range
from torch_modeseek.metrics.lpips import LPIPSDiversity, LPIPSNetwork
from torch_modeseek.metrics.ndb import (
    NDB,
    NDBResult,
    jensen_shannon_divergence,
    two_proportion_z_test,
    two_sided_critical_value,
)

__all__ = [
    "FID",
    "NDB",
    "KMeansResult",
    "LPIPSDiversity",
    "LPIPSNetwork",
    "MissingWeightsError",
    "ModeCoverageResult",
    "NDBResult",
    "NotFittedError",
    "PairDistance",
    "diversity",
    "frechet_distance",
    "images_to_unit_range",
    "jensen_shannon_divergence",
    "kmeans",
    "mode_coverage",
    "pair_distance",
    "sample_pairs",
    "two_proportion_z_test",
    "two_sided_critical_value",
]
