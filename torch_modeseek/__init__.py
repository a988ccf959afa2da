"""torch-modeseek: the Mode Seeking regularizer of MSGAN (Mao et al., CVPR 2019) for conditional GANs.

Examples:
    >>> import torch
    >>> from torch_modeseek import ModeSeekingLoss
    >>> z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    >>> x1, x2 = torch.randn(4, 3, 16, 16, requires_grad=True), torch.randn(4, 3, 16, 16)
    >>> ModeSeekingLoss()(z1, z2, x1, x2).backward()
"""

from torch_modeseek._version import __version__
from torch_modeseek.ceiling import diversity_ceiling, expected_latent_distance, overshoot
from torch_modeseek.distances import sample_distance, upper_pair_distance
from torch_modeseek.functional import mode_seeking_loss, mode_seeking_loss_all_pairs
from torch_modeseek.hooks import ModeSeekingHook
from torch_modeseek.loss import ModeSeekingLoss
from torch_modeseek.pairing import paired_inputs, repeated_inputs, split_samples
from torch_modeseek.schedules import constant, linear_decay, linear_warmup

__all__ = [
    "ModeSeekingHook",
    "ModeSeekingLoss",
    "__version__",
    "constant",
    "diversity_ceiling",
    "expected_latent_distance",
    "linear_decay",
    "linear_warmup",
    "mode_seeking_loss",
    "mode_seeking_loss_all_pairs",
    "overshoot",
    "paired_inputs",
    "repeated_inputs",
    "sample_distance",
    "split_samples",
    "upper_pair_distance",
]
