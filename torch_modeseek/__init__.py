"""torch-modeseek: the Mode Seeking regularizer of MSGAN (Mao et al., CVPR 2019) for conditional GANs."""

from torch_modeseek._version import __version__

__all__ = ["__version__"]
