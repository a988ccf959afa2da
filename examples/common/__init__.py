"""Shared toolkit of the example trainers: data, CLI, runtime, checkpoints, the training loop, grids and evaluation.

Each trainer (``examples/<task>.py``) builds its networks and its step from these pieces; the mode-seeking term
itself always comes from the public API of :mod:`torch_modeseek` (``ModeSeekingHook`` / ``ModeSeekingLoss``).
"""
