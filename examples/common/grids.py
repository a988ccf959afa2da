"""Sample grids as PNG files (PIL; no torchvision)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw

__all__ = ["save_grid"]


def save_grid(
    images: torch.Tensor,
    path: str | Path,
    *,
    scale: int = 1,
    pad: int = 2,
    labels: Sequence[str] | None = None,
    label_width: int = 220,
) -> Path:
    """Save a (rows, cols, 3, H, W) tensor of images in [-1, 1] as one PNG grid, atomically.

    Args:
        images: the grid, row-major (e.g. one condition per row, its samples along the row).
        path: the PNG file to write (folders are created).
        scale: nearest-neighbour upscaling factor (small images stay readable).
        pad: white pixels between cells.
        labels: one text per row (e.g. its caption), written in a column left of the row.
        label_width: width of that column in pixels.

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
    if labels is not None:
        img = _with_labels(img, labels, rows, label_width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".png", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        img.save(f, format="PNG")
    os.replace(tmp, path)
    return path


def _with_labels(img: Image.Image, labels: Sequence[str], rows: int, width: int) -> Image.Image:
    """``img`` with a white column on its left holding one wrapped text per row."""
    if len(labels) != rows:
        raise ValueError(f"labels must hold one text per row ({rows}), got {len(labels)}")
    out = Image.new("RGB", (img.width + width, img.height), "white")
    out.paste(img, (width, 0))
    draw, row_h = ImageDraw.Draw(out), img.height / rows
    for r, text in enumerate(labels):
        lines = textwrap.wrap(text, width=max(8, width // 7))[: max(1, int(row_h // 12))]
        top = r * row_h + max(2.0, (row_h - 12 * len(lines)) / 2)
        for k, line in enumerate(lines):
            draw.text((4, top + 12 * k), line, fill="black")
    return out
