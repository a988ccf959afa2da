"""Loaders of the second batch of trainers on real-format fixtures (StackGAN's CUB birds, unpaired folders), and the
built-in birds, seasons and text encoder."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from examples.common.data import DataFileError, DatasetError
from examples.common.data.builtin_birds import BirdCaptions
from examples.common.data.builtin_seasons import Seasons
from examples.common.data.cub import CUBBirds
from examples.common.data.text_encoder import HashingTextEncoder
from examples.common.data.unpaired import UnpairedFolders
from torch_modeseek.metrics import mode_coverage

from . import badfiles
from . import pickle_asm as asm
from .conftest import REPO, trainer_env
from .realformat import write_cub, write_unpaired


@pytest.mark.parametrize("list_embeddings", [False, True])
def test_cub_reads_the_stackgan_layout(tmp_path, list_embeddings):
    keys = write_cub(tmp_path, list_embeddings=list_embeddings)
    data = CUBBirds(tmp_path, "train", size=32)
    assert data.keys == keys["train"]
    assert len(data) == 6
    assert data.embeddings.shape == (6, 10, 1024)
    assert data.class_ids.tolist() == [1, 1, 2, 2, 3, 3]
    image, wrong, embedding = data[(2, 123)]
    assert image.shape == wrong.shape == (3, 32, 32)
    assert embedding.shape == (1024,)
    assert any(torch.equal(embedding, torch.from_numpy(data.embeddings[2, j])) for j in range(10))
    assert data.class_ids[data.wrong_index(2, np.random.default_rng(0))] != data.class_ids[2]
    plain = data.image(0, None)  # evaluation path: the bounding-box crop, resized; the red bird fills the middle
    assert plain[0, 16, 16] > 0.5
    assert plain[1, 16, 16] < -0.5
    assert data.captions(0)[0].startswith("caption 0 of a bird of class 0")
    assert len(CUBBirds(tmp_path, "test", size=32)) == 6


def test_cub_class_ids_fall_back_to_the_key_prefix(tmp_path):
    write_cub(tmp_path)
    (tmp_path / "train" / "class_info.pickle").unlink()
    assert CUBBirds(tmp_path, "train", size=32).class_ids.tolist() == [1, 1, 2, 2, 3, 3]


def test_cub_missing_or_malformed_data_shows_the_layout(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist[\s\S]*char-CNN-RNN-embeddings.pickle"):
        CUBBirds(tmp_path / "nowhere")
    write_cub(tmp_path)
    (tmp_path / "test" / "filenames.pickle").unlink()
    with pytest.raises(DatasetError, match=r"missing file .*test/filenames.pickle[\s\S]*Expected layout"):
        CUBBirds(tmp_path, "test")
    bad = np.zeros((5, 10, 1024), dtype=np.float32)  # 6 keys, 5 rows
    (tmp_path / "train" / "char-CNN-RNN-embeddings.pickle").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(DatasetError, match=r"embeddings must be \(N=6"):
        CUBBirds(tmp_path, "train")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cub_crafted_pickle_runs_nothing(tmp_path, monkeypatch):
    write_cub(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train" / "filenames.pickle").write_bytes(pickle.dumps([_Exploit()], protocol=2))
    with pytest.raises(DatasetError, match="refusing global"):
        CUBBirds(tmp_path, "train")
    assert not (tmp_path / "pwned").exists()


def test_unpaired_folders(tmp_path):
    write_unpaired(tmp_path)
    data = UnpairedFolders(tmp_path, "train", load_size=36, crop_size=32)
    assert len(data) == 4
    a, b = data[(1, 7)]
    assert a.shape == b.shape == (3, 32, 32)
    assert a[0].mean() > b[0].mean()  # A is red, B is blue
    a0, _ = data[0]
    assert torch.equal(a0, data.image("A", 0))
    (tmp_path / "testB").rename(tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match=r"missing folder .*testB[\s\S]*trainA/\*.jpg"):
        UnpairedFolders(tmp_path, "test")


def test_unpaired_folders_resize_to_a_bicubic_square_as_drit(tmp_path):
    """DRIT's dataset_unpair: Resize((load, load), BICUBIC), then CenterCrop for test images (RandomCrop to train)."""
    from PIL import Image

    (tmp_path / "testA").mkdir()
    (tmp_path / "testB").mkdir()
    gradient = np.tile(np.linspace(0, 255, 60, dtype=np.uint8)[None, :, None], (30, 1, 3))  # 30 x 60, not square
    gradient[:, :, 1] = np.linspace(255, 0, 30, dtype=np.uint8)[:, None]
    Image.fromarray(gradient).save(tmp_path / "testA" / "0.png")
    Image.fromarray(gradient).save(tmp_path / "testB" / "0.png")
    data = UnpairedFolders(tmp_path, "test", load_size=40, crop_size=32)
    expected = Image.fromarray(gradient).resize((40, 40), Image.BICUBIC).crop((4, 4, 36, 36))
    want = torch.from_numpy(np.asarray(expected).copy()).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.equal(data.image("A", 0), want)
    whole = UnpairedFolders(tmp_path, "test", load_size=40, crop_size=40)
    squashed = Image.fromarray(gradient).resize((40, 40), Image.BICUBIC)  # the whole image, aspect not kept
    assert torch.equal(whole.image("B", 0), torch.from_numpy(np.asarray(squashed).copy()).permute(2, 0, 1) / 127.5 - 1)


def test_text_encoder_is_deterministic_and_ignores_function_words():
    enc = HashingTextEncoder()
    a = enc.encode(["a red bird with black wings", "a black bird with red wings", "a red bird with black wings"])
    assert a.shape == (3, 1024)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a[0], a[2])
    np.testing.assert_array_equal(a[0], HashingTextEncoder().encode(["A red bird, with black wings!"])[0])
    np.testing.assert_allclose(a[0], enc.encode(["the red bird has black wings"])[0], rtol=1e-5, atol=1e-6)
    assert np.abs(a[0] - enc.encode(["a red bird with brown wings"])[0]).max() > 0.1


def test_text_encoder_window_makes_it_order_aware():
    words, pairs = HashingTextEncoder(), HashingTextEncoder(window=1)
    captions = ["a red bird with black wings", "a black bird with red wings"]
    np.testing.assert_allclose(*words.encode(captions), rtol=1e-5, atol=1e-6)  # the same bag of content words
    assert np.abs(np.subtract(*pairs.encode(captions))).max() > 0.1


def test_builtin_caption_embeddings_are_mostly_class():
    """The property that the conditioning path needs (see the text encoder's docstring): between-class variance of
    the embeddings above the within-class variance, as for the trained char-CNN-RNN embeddings."""
    data = BirdCaptions("train", size=8, per_mode=2)
    emb = data.embeddings.reshape(-1, data.embeddings.shape[-1]).astype(np.float64)
    labels = np.repeat(data.class_ids, data.embeddings.shape[1])
    centres = np.stack([emb[labels == c].mean(0) for c in range(data.num_classes)])
    within = np.mean([((emb[labels == c] - centres[c]) ** 2).sum(1).mean() for c in range(data.num_classes)])
    between = ((centres - emb.mean(0)) ** 2).sum(1).mean()
    assert 1.3 < between / within < 1.7  # 1.46 measured; every word and word pair as features gave 0.28


def test_builtin_birds_items_sit_on_their_known_modes():
    data = BirdCaptions("test", size=32, per_mode=1)
    assert len(data) == 128
    assert data.embeddings.shape == (128, 10, 1024)  # the shape of the char-CNN-RNN embeddings
    images = torch.stack([data.image(i, None) for i in range(len(data))])
    for label in range(data.num_classes):
        body, wing = data.colours(label)
        assert all(body in c and wing in c for c in data.captions(label))
        idx = [i for i in range(len(data)) if data.class_ids[i] == label]
        pooled = (F.avg_pool2d(x, data.coverage_pool) for x in (images[idx], data.prototypes(label)))
        res = mode_coverage(*pooled, data.coverage_radius)
        assert res.counts.tolist() == [1] * 8
    image, wrong, _ = data[(3, 99)]
    assert data.class_ids[3] == 3
    assert not torch.equal(image, wrong)


def test_builtin_seasons_translations_have_known_modes():
    data = Seasons("test", size=32, scenes=4)
    assert len(data) == 32
    for domain in "AB":
        for scene in range(4):
            images = torch.stack([data.image(domain, scene * 8 + m) for m in range(8)])
            pooled = (F.avg_pool2d(x, data.coverage_pool) for x in (images, data.prototypes(domain, scene)))
            assert mode_coverage(*pooled, data.coverage_radius).counts.tolist() == [1] * 8
    a, b = data[(5, 1234)]
    assert torch.equal(a, data.image("A", 5))
    assert b.shape == (3, 32, 32)


_LOAD_CUB = """
import sys
from examples.common.data import DataFileError, DatasetError
from examples.common.data.cub import CUBBirds
try:
    CUBBirds(sys.argv[1], "train", size=32)
except DatasetError as error:
    print(error)
"""


def test_cub_object_array_embeddings_are_refused_not_a_crash(tmp_path):
    """The reported crash: ndarray((1,), 'O', b'A' * 8) in char-CNN-RNN-embeddings.pickle made an object array of
    forged pointers, and reading it killed stackgan_birds.py with SIGSEGV (rc 139). Run in a child process, so that a
    regression fails this test instead of killing pytest."""
    write_cub(tmp_path)
    path = tmp_path / "train" / "char-CNN-RNN-embeddings.pickle"
    forged = asm.call(asm.NDARRAY, asm.tup(asm.integer(1)), asm.text("O"), asm.binbytes(b"A" * 8))
    path.write_bytes(asm.stream(asm.EMPTY_LIST + asm.MARK + forged * 6 + b"e"))
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_CUB, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=trainer_env(),
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"{str(path)!r}: cannot read this pickle: refusing to call numpy.ndarray")


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("class_info.pickle", [1, 1, 2, 2, 3.7, 3], r"class ids must hold integers, item 4 is 3\.7 \(float\)"),
        ("class_info.pickle", [1, 1, 2, 2, 3, -3], r"class ids must hold labels in >= 0, item 5 is -3"),
        ("class_info.pickle", [1, 1, 2], r"class ids must hold 6 labels \(one per item\), got 3"),
        ("class_info.pickle", np.array([1.0] * 6), r"class ids must be a 1-D integer array, got float64"),
        ("filenames.pickle", {"a": 1}, "must hold a list of keys"),
        ("char-CNN-RNN-embeddings.pickle", np.full((6, 10, 4), np.nan, np.float32), "hold NaN or infinite values"),
        ("char-CNN-RNN-embeddings.pickle", [np.zeros((10, 4), np.float32)] * 5 + [1], "item 5 of its list is a int"),
        ("char-CNN-RNN-embeddings.pickle", [np.zeros((10, 4), np.float32)] * 5 + [np.zeros(3)], "not one numeric"),
        ("char-CNN-RNN-embeddings.pickle", "truncated", "cannot read this pickle: the pickle data ends early"),
        ("filenames.pickle", "hostile", r"refusing global (os|posix)\.system"),
    ],
)
def test_cub_bad_pickles_are_named_in_one_line(tmp_path, monkeypatch, name, payload, message):
    write_cub(tmp_path)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train" / name
    if isinstance(payload, str) and payload == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif isinstance(payload, str):
        path.write_bytes(pickle.dumps([_Exploit()], protocol=2))
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataFileError, match=message) as error:
        CUBBirds(tmp_path, "train")
    assert str(error.value).startswith(f"{str(path)!r}: ")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("protocol", [0, 2])
def test_cub_python2_pickles_load(tmp_path, protocol):
    keys = write_cub(tmp_path)["train"]
    emb = np.random.default_rng(2).standard_normal((6, 10, 8)).astype(np.float32)
    for name, value in {"filenames.pickle": [k.encode() for k in keys], "class_info.pickle": [1, 1, 2, 2, 3, 3],
                        "char-CNN-RNN-embeddings.pickle": list(emb)}.items():  # fmt: skip
        (tmp_path / "train" / name).write_bytes(asm.py2_dumps(value, protocol))
    data = CUBBirds(tmp_path, "train", size=32)
    assert data.keys == keys
    np.testing.assert_array_equal(data.embeddings, emb)
    assert data.class_ids.tolist() == [1, 1, 2, 2, 3, 3]


def test_cub_and_unpaired_bad_images_are_named_in_one_line(tmp_path):
    keys = write_cub(tmp_path / "cub")["train"]
    birds = CUBBirds(tmp_path / "cub", "train", size=32)
    jpg = tmp_path / "cub" / "CUB_200_2011" / "images" / f"{keys[1]}.jpg"
    badfiles.truncate(jpg, 0.3)
    with pytest.raises(DataFileError, match=r"cannot read image: OSError: .*[Tt]runcated") as error:
        birds.image(1, None)
    assert str(error.value).startswith(f"{str(jpg)!r}: ")
    jpg.unlink()
    with pytest.raises(DataFileError, match=r"cannot read image: no such file"):
        birds[(1, 5)]
    write_unpaired(tmp_path / "unpaired")
    data = UnpairedFolders(tmp_path / "unpaired", "train", load_size=36, crop_size=32)
    bomb = badfiles.write_png_bomb(data.files["A"][2])
    with pytest.raises(DataFileError, match="cannot read image: a decompression bomb") as error:
        data[2]
    assert str(error.value).startswith(f"{str(bomb)!r}: ")
    assert "\n" not in str(error.value)
