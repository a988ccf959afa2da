"""Writers of broken data files for the loader tests: truncated images, non-images, a PNG decompression bomb."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut the file at ``path`` to the first ``keep`` of its bytes (an interrupted download)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_noise_image(path: Path, width: int = 64, height: int = 48) -> Path:
    """A noisy image (JPEG or PNG by the suffix), large enough that truncating it cuts into the pixel data."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def write_png_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (PIL refuses it as a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def write_not_an_image(path: Path) -> Path:
    """A text file with an image's name."""
    path.write_text("<html>404 Not Found</html>\n")
    return path
