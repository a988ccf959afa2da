"""Writers of tiny real-format trees for the second batch of trainers: StackGAN's CUB birds folder, unpaired folders."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross")


def write_cub(root: Path, per_class: int = 2, size: int = 48, dim: int = 1024, list_embeddings: bool = False) -> dict:
    """A tiny StackGAN ``birds`` folder: CUB_200_2011/{images,images.txt,bounding_boxes.txt}, {train,test}/*.pickle,
    text/. Each image is grey with a red square (the bird) inside its bounding box. Returns the keys per split."""
    cub = root / "CUB_200_2011"
    rng = np.random.default_rng(0)
    keys, lines, boxes = {"train": [], "test": []}, [], []
    number = 0
    for c, name in enumerate(CLASSES):
        (cub / "images" / name).mkdir(parents=True)
        (root / "text" / name).mkdir(parents=True)
        for i in range(2 * per_class):
            number += 1
            key = f"{name}/{name.split('.')[1]}_{i:04d}_{number}"
            img = np.full((size, size + 8, 3), 128, dtype=np.uint8)
            x, y, w, h = 10 + c, 8, 20, 16
            img[y : y + h, x : x + w] = (220, 30, 30)
            Image.fromarray(img).save(cub / "images" / f"{key}.jpg", quality=95)
            lines.append(f"{number} {key}.jpg")
            boxes.append(f"{number} {x}.0 {y}.0 {w}.0 {h}.0")
            captions = [f"caption {j} of a bird of class {c} with red feathers" for j in range(10)]
            (root / "text" / f"{key}.txt").write_text("\n".join(captions) + "\n")
            keys["train" if i < per_class else "test"].append(key)
    (cub / "images.txt").write_text("\n".join(lines) + "\n")
    (cub / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    for split, split_keys in keys.items():
        (root / split).mkdir()
        emb = rng.standard_normal((len(split_keys), 10, dim)).astype(np.float32)
        payload = list(emb) if list_embeddings else emb
        (root / split / "char-CNN-RNN-embeddings.pickle").write_bytes(pickle.dumps(payload, protocol=2))
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(split_keys, protocol=2))
        ids = [int(k.split(".")[0]) for k in split_keys]
        (root / split / "class_info.pickle").write_bytes(pickle.dumps(ids, protocol=2))
    return keys


def write_unpaired(root: Path, count: int = 4, size: int = 40) -> None:
    """A tiny unpaired dataset: {trainA,trainB,testA,testB}/<i>.jpg, A red-ish and B blue-ish."""
    for folder in ("trainA", "trainB", "testA", "testB"):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            img = np.zeros((size, size + 4 * i, 3), dtype=np.uint8)
            img[..., 0 if folder.endswith("A") else 2] = 200 - 10 * i
            Image.fromarray(img).save(root / folder / f"{i}.jpg", quality=95)
