"""The few image operations the loaders need (PIL + numpy; no torchvision): load, resize, crop, flip, to tensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from examples.common.data.errors import DataFileError

__all__ = ["load_rgb", "random_crop_flip", "resize_crop_flip", "to_tensor"]


def load_rgb(path: str | Path) -> Image.Image:
    """Open an image file and convert it to RGB (decoded in full now, so the file handle is closed).

    The one way the loaders, and :func:`examples.common.data.file_check.check_files`, read an image.

    Args:
        path: the image file.

    Returns:
        The RGB image.

    Raises:
        DataFileError: the file is missing, not an image, truncated, corrupt, or declares more pixels than PIL's
            decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS`` x 2); one line naming the file.
    """
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise DataFileError(path, "cannot read image: no such file") from None
    except UnidentifiedImageError:
        raise DataFileError(path, "cannot read image: not an image file PIL can read") from None
    except Image.DecompressionBombError as error:
        raise DataFileError(path, f"cannot read image: a decompression bomb: {error}") from None
    except Exception as error:  # PIL reports a broken file with OSError, SyntaxError, ValueError, struct.error, ...
        raise DataFileError(path, f"cannot read image: {type(error).__name__}: {error}") from error


def to_tensor(img: Image.Image | np.ndarray) -> torch.Tensor:
    """An RGB image (PIL, or uint8 array (H, W, 3)) as a float32 (3, H, W) tensor in [-1, 1] (Normalize(0.5, 0.5))."""
    array = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def random_crop_flip(
    img: Image.Image, load_size: int, crop_size: int, rng: np.random.Generator | None, flip: bool = True
) -> Image.Image:
    """pix2pix ``resize_and_crop``: resize to ``load_size``^2, random ``crop_size``^2 crop, random horizontal flip.

    Without ``rng`` (evaluation) the image is resized straight to ``crop_size`` and neither cropped nor flipped.

    Args:
        img: the input image.
        load_size: side after resizing (training).
        crop_size: side of the crop (the network's input size).
        rng: numpy generator for the crop offset and the flip, or ``None`` for the deterministic evaluation path.
        flip: allow the horizontal flip.

    Returns:
        The transformed image.
    """
    if rng is None:
        return img.resize((crop_size, crop_size), Image.BICUBIC)
    img = img.resize((load_size, load_size), Image.BICUBIC)
    if load_size > crop_size:
        x, y = (int(v) for v in rng.integers(0, load_size - crop_size + 1, size=2))
        img = img.crop((x, y, x + crop_size, y + crop_size))
    if flip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


def resize_crop_flip(
    img: Image.Image,
    load_size: int,
    crop_size: int,
    rng: np.random.Generator | None,
    flip: bool = True,
    *,
    square: bool = False,
) -> Image.Image:
    """Torchvision's ``Resize``, ``RandomCrop(crop_size)``, ``RandomHorizontalFlip`` (StackGAN++, DRIT).

    By default (StackGAN++'s ``Resize(load_size)``) the shorter side is resized to ``load_size`` with the aspect
    ratio kept (bilinear); with ``square`` (DRIT's ``Resize((load_size, load_size), BICUBIC)``) the image is
    resized to a ``load_size`` square with bicubic interpolation. Then a random square crop is taken. Without
    ``rng`` (evaluation) the crop is centred and there is no flip (DRIT's test ``CenterCrop``).

    Args:
        img: the input image.
        load_size: the shorter side (or the side of the square) after resizing.
        crop_size: side of the square crop (at most ``load_size``).
        rng: numpy generator for the crop offset and the flip, or ``None`` for the centred evaluation crop.
        flip: allow the horizontal flip.
        square: resize to a square, bicubic, as DRIT.

    Returns:
        The transformed ``crop_size`` x ``crop_size`` image.

    Example:
        >>> out = resize_crop_flip(Image.new("RGB", (200, 100)), 64, 48, None)
        >>> out.size
        (48, 48)
    """
    if square:
        size = (load_size, load_size)
        img = img.resize(size, Image.BICUBIC)
    else:
        scale = load_size / min(img.width, img.height)
        size = (max(load_size, round(img.width * scale)), max(load_size, round(img.height * scale)))
        img = img.resize(size, Image.BILINEAR)
    if rng is None:
        x, y = (size[0] - crop_size) // 2, (size[1] - crop_size) // 2
    else:
        x, y = int(rng.integers(0, size[0] - crop_size + 1)), int(rng.integers(0, size[1] - crop_size + 1))
    img = img.crop((x, y, x + crop_size, y + crop_size))
    if rng is not None and flip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img
