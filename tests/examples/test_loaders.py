from __future__ import annotations

import numpy as np
import pytest
import torch

from examples.common.data import DatasetError
from examples.common.data.aligned import AlignedPairs
from examples.common.data.cifar10 import CIFAR10, load_cifar10

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
