from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from examples.common.data import DataFileError, DatasetError
from examples.common.data.aligned import AlignedPairs
from examples.common.data.cifar10 import CIFAR10, load_cifar10

from . import badfiles as bad
from . import pickle_asm as asm
from .conftest import write_cifar


def test_cifar10_reads_the_distributed_format(tmp_path):
    data, labels = write_cifar(tmp_path)
    images, got_labels, names = load_cifar10(tmp_path, "train")
    assert images.shape == (100, 3, 32, 32)
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images[:20].reshape(20, 3072), data)  # rows: R plane, G plane, B plane
    assert got_labels[:20].tolist() == labels
    assert names == list("abcdefghij")
    test = CIFAR10(tmp_path / "cifar-10-batches-py", "test")  # the batch folder itself also works
    image, label = test[(3, 12345)]
    assert image.shape == (3, 32, 32)
    assert image.min() >= -1.0
    assert image.max() <= 1.0
    assert isinstance(label, int)
    assert torch.equal(image, torch.from_numpy(test.images[3].numpy()).float() / 127.5 - 1.0)


def test_cifar10_missing_or_malformed_data_shows_the_layout(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist[\s\S]*data_batch_1 \.\.\. data_batch_5"):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no CIFAR-10 python batches"):
        load_cifar10(tmp_path)
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match=r"missing CIFAR-10 batch file.*data_batch_3"):
        load_cifar10(tmp_path, "train")
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="cannot read"):
        load_cifar10(tmp_path, "test")


def test_aligned_pairs_split_halves_and_direction(aligned_root):
    atob = AlignedPairs(aligned_root, "train", "AtoB", load_size=36, crop_size=32)
    a, b = atob[1]
    assert a.shape == b.shape == (3, 32, 32)
    assert a[0].mean() > 0.4
    assert a[2].mean() < -0.8
    assert b[2].mean() > 0.4
    assert b[0].mean() < -0.8
    a2, b2 = AlignedPairs(aligned_root, "val", "BtoA", load_size=36, crop_size=32)[1]
    assert torch.allclose(a2, b, atol=0.05)
    assert torch.allclose(b2, a, atol=0.05)
    first, second = atob[(0, 7)], atob[(0, 7)]
    assert all(torch.equal(x, y) for x, y in zip(first, second, strict=True))  # the seed fixes crop and flip


def test_aligned_pairs_errors_show_the_layout(tmp_path, aligned_root):
    with pytest.raises(DatasetError, match=r"does not exist[\s\S]*A on the left half"):
        AlignedPairs(tmp_path / "nowhere")
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"no \.jpg/\.png images"):
        AlignedPairs(tmp_path / "empty")
    with pytest.raises(DatasetError, match="missing split folder"):
        AlignedPairs(tmp_path / "empty", "val")
    (aligned_root / "train" / "0.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="cannot read image"):
        AlignedPairs(aligned_root)[0]


def _rewrite_batch(root, name, changes):
    path = root / "cifar-10-batches-py" / name
    batch = pickle.loads(path.read_bytes())
    batch.update(changes)
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


def _one_line(error: pytest.ExceptionInfo, path) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    return message


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([3.7] + [1] * 19, r"b'labels' must hold integers, item 0 is 3\.7 \(float\)"),
        ([1] * 5 + [2.0] + [1] * 14, r"item 5 is 2\.0 \(float\)"),
        ([1] * 19 + [True], r"item 19 is True \(bool\)"),
        ([1] * 19 + [b"3"], r"item 19 is b'3' \(bytes\)"),
        ([10] + [1] * 19, r"b'labels' must hold labels in 0\.\.9, item 0 is 10"),
        ([-1] + [1] * 19, r"item 0 is -1"),
        ([1] * 19, r"must hold 20 labels \(one per item\), got 19"),
        (np.ones(20, dtype=np.float64), r"must be a 1-D integer array, got float64 \(20,\)"),
        ("0123", "must be a list of 20 integers, got str"),
    ],
)
def test_cifar10_labels_must_be_integers_in_range(tmp_path, labels, message):
    write_cifar(tmp_path)
    path = _rewrite_batch(tmp_path, "data_batch_2", {b"labels": labels})
    with pytest.raises(DataFileError, match=message) as error:
        load_cifar10(tmp_path, "train")
    _one_line(error, path)


def test_cifar10_integer_label_arrays_and_numpy_ints_load(tmp_path):
    write_cifar(tmp_path)
    _rewrite_batch(tmp_path, "test_batch", {b"labels": np.arange(20, dtype=np.uint8) % 10})
    assert load_cifar10(tmp_path, "test")[1].tolist() == [i % 10 for i in range(20)]
    _rewrite_batch(tmp_path, "test_batch", {b"labels": [np.int64(i % 10) for i in range(20)]})
    assert load_cifar10(tmp_path, "test")[1].tolist() == [i % 10 for i in range(20)]


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data_batch_1", "truncated", "cannot read this CIFAR-10 pickle: the pickle data ends early"),
        ("data_batch_4", "hostile", r"refusing global (os|posix)\.system"),
        ("test_batch", "object data", "object dtypes"),
        ("test_batch", "list", "holds a list, not a CIFAR-10 batch dict"),
        ("test_batch", "float data", r"b'data' must be a uint8 array \(N, 3072\), got float32 \(20, 3072\)"),
        ("batches.meta", "hostile", r"refusing global (os|posix)\.system"),
        ("batches.meta", "list", "must be a dict whose b'label_names' is a list of 10 names"),
    ],
)
def test_cifar10_corrupt_or_hostile_files_are_named_in_one_line(tmp_path, monkeypatch, name, content, message):
    write_cifar(tmp_path)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / name
    if content == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif content == "hostile":
        path.write_bytes(pickle.dumps({b"data": _Exploit()}, protocol=2))
    elif content == "object data":
        _rewrite_batch(tmp_path, name, {b"data": np.array([[1, "a"]] * 20, dtype=object)})
    elif content == "float data":
        _rewrite_batch(tmp_path, name, {b"data": np.zeros((20, 3072), dtype=np.float32)})
    else:
        path.write_bytes(pickle.dumps([1, 2], protocol=2))
    split = "test" if name in ("test_batch", "batches.meta") else "train"
    with pytest.raises(DataFileError, match=message) as error:
        load_cifar10(tmp_path, split)
    _one_line(error, path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("protocol", [0, 2])
def test_cifar10_python2_batches_load(tmp_path, protocol):
    """The distributed batches were pickled by Python 2 with numpy 1.x: str keys, numpy.core, dtype('u1', 0, 1)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(10, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": list(range(10)), b"data": data,
             b"filenames": [b"x.png"] * 10}  # fmt: skip
    (folder / "test_batch").write_bytes(asm.py2_dumps(batch, protocol))
    (folder / "batches.meta").write_bytes(asm.py2_dumps({b"label_names": [b"plane"] * 10}, protocol))
    images, labels, names = load_cifar10(tmp_path, "test")
    np.testing.assert_array_equal(images.reshape(10, 3072), data)
    assert labels.tolist() == list(range(10))
    assert names == ["plane"] * 10


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda p: bad.truncate(bad.write_noise_image(p)), r"cannot read image: OSError: image file is truncated"),
        (lambda p: bad.truncate(bad.write_noise_image(p.with_suffix(".png"))), "image file is truncated"),
        (lambda p: bad.write_png_bomb(p.with_suffix(".png")), "cannot read image: a decompression bomb"),
        (bad.write_not_an_image, "cannot read image: not an image file PIL can read"),
        (lambda p: bad.write_noise_image(p, width=41), r"the image is 41x48: not two side-by-side halves"),
    ],
)
def test_aligned_pairs_bad_images_are_named_in_one_line(aligned_root, broken, message):
    (aligned_root / "train" / "2.jpg").unlink()
    path = broken(aligned_root / "train" / "2.jpg")
    data = AlignedPairs(aligned_root, "train", load_size=36, crop_size=32)
    index = data.files.index(path)
    with pytest.raises(DataFileError, match=message) as error:
        data[(index, 3)]
    _one_line(error, path)
