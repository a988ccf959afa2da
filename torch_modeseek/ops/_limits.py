"""What the fused Triton kernels accept, in one Triton-free place: the dispatcher and the launchers both read it."""

from __future__ import annotations

import torch

#: Input dtypes of the kernels (they accumulate in float32, or float64 for float64 inputs).
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Largest S of the all-pairs kernels: their (S, S, BK) register tile must stay small.
MAX_SAMPLES = 64
