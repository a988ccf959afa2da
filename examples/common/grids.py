"""Sample grids as PNG files (PIL; no torchvision)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from PIL import Image

__all__ = ["save_grid"]


def save_grid(images: torch.Tensor, path: str | Path, *, scale: int = 1, pad: int = 2) -> Path:
    """Save a (rows, cols, 3, H, W) tensor of images in [-1, 1] as one PNG grid, atomically.

    Args:
        images: the grid, row-major (e.g. one condition per row, its samples along the row).
        path: the PNG file to write (folders are created).
        scale: nearest-neighbour upscaling factor (small images stay readable).
        pad: white pixels between cells.

    Returns:
        The path written.
    """
    if images.dim() != 5 or images.shape[2] != 3:
        raise ValueError(f"images must be (rows, cols, 3, H, W), got {tuple(images.shape)}")
    rows, cols, _, h, w = images.shape
    pixels = images.detach().float().cpu().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    canvas = torch.full((3, rows * (h + pad) + pad, cols * (w + pad) + pad), 255, dtype=torch.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            canvas[:, y : y + h, x : x + w] = pixels[r, c]
    img = Image.fromarray(canvas.permute(1, 2, 0).numpy())
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".png", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        img.save(f, format="PNG")
    os.replace(tmp, path)
    return path
