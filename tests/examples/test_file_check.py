"""check_files: every image file a run will read is decoded before the first step, through the loaders' load_rgb."""

from __future__ import annotations

import pickle

import pytest
from PIL import Image

from examples.common.data import DataFileError, image_ops
from examples.common.data.aligned import AlignedPairs
from examples.common.data.builtin_birds import BirdCaptions
from examples.common.data.cifar10 import CIFAR10
from examples.common.data.cub import CUBBirds
from examples.common.data.file_check import ImageFileSource, check_files, image_files
from examples.common.data.unpaired import UnpairedFolders

from . import badfiles
from .conftest import write_aligned, write_cifar
from .realformat import write_cub, write_unpaired


@pytest.fixture
def datasets(tmp_path) -> dict:
    write_aligned(tmp_path / "facades")
    write_unpaired(tmp_path / "unpaired")
    write_cub(tmp_path / "cub")
    return {
        "aligned": AlignedPairs(tmp_path / "facades", "train", load_size=36, crop_size=32),
        "aligned val": AlignedPairs(tmp_path / "facades", "val", load_size=36, crop_size=32),
        "unpaired": UnpairedFolders(tmp_path / "unpaired", "train", load_size=36, crop_size=32),
        "unpaired test": UnpairedFolders(tmp_path / "unpaired", "test", load_size=36, crop_size=32),
        "cub": CUBBirds(tmp_path / "cub", "train", size=32),
        "cub test": CUBBirds(tmp_path / "cub", "test", size=32),
    }


def test_image_files_lists_exactly_the_files_the_items_read(datasets, monkeypatch):
    opened = []
    real_open = Image.open

    def recording_open(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", recording_open)
    for name, data in datasets.items():
        assert isinstance(data, ImageFileSource), name
        opened.clear()
        for index in range(len(data)):
            data[index]
            data[(index, 7 + index)]
        assert set(opened) == set(data.image_files()), name


def test_good_datasets_pass_and_datasets_without_files_have_nothing_to_check(datasets, tmp_path):
    write_cifar(tmp_path / "cifar")
    in_memory = [CIFAR10(tmp_path / "cifar", "test"), BirdCaptions("test", size=8, per_mode=1)]
    assert image_files(*in_memory) == []
    check_files(*datasets.values(), *in_memory)
    files = image_files(*datasets.values())
    assert len(files) == len(set(files)) == 8 + 16 + 12  # facades train+val, unpaired 4 folders, CUB 3 classes x 4


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda p: badfiles.truncate(p, 0.5), r"cannot read image: OSError: .*[Tt]runcated"),
        (lambda p: badfiles.write_png_bomb(p), "cannot read image: a decompression bomb"),
        (badfiles.write_not_an_image, "cannot read image: not an image file PIL can read"),
        (lambda p: p.unlink(), "cannot read image: no such file"),
    ],
)
def test_a_bad_file_fails_the_check_with_the_error_training_would_raise(datasets, broken, message):
    cub = datasets["cub"]
    path = cub.image_path(3)
    broken(path)
    with pytest.raises(DataFileError, match=message) as checked:
        check_files(datasets["aligned"], cub)
    with pytest.raises(DataFileError) as trained:
        cub[(3, 11)]
    assert str(checked.value) == str(trained.value)  # one code path: load_rgb
    assert str(checked.value).startswith(f"{str(path)!r}: ")
    assert "\n" not in str(checked.value)


def test_several_bad_files_are_counted_and_the_first_few_named(datasets):
    files = datasets["unpaired"].image_files()
    for path in files[:6]:
        badfiles.write_not_an_image(path)
    with pytest.raises(DataFileError) as error:
        check_files(datasets["unpaired"], datasets["aligned"], workers=2)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{str(files[0])!r}: cannot read image: not an image file PIL can read (6 of 12 image")
    assert all(str(p) in message for p in files[:4])
    assert str(files[4]) not in message
    assert message.endswith("; and 2 more)")
    assert error.value.path == files[0]


def test_check_files_uses_load_rgb(datasets, monkeypatch):
    seen = []
    monkeypatch.setattr(image_ops, "load_rgb", seen.append)
    check_files(datasets["aligned"], workers=1)
    assert seen == datasets["aligned"].image_files()


def test_progress_bar(datasets, capsys):
    check_files(datasets["aligned"], progress=True)
    assert "checking image files" in capsys.readouterr().err


def test_data_file_error_survives_pickling():
    """DataLoader workers and spawn-based processes pickle exceptions."""
    error = pickle.loads(pickle.dumps(DataFileError("a/b.jpg", "cannot read image:\n truncated")))
    assert str(error) == "'a/b.jpg': cannot read image: truncated"
    assert error.problem == "cannot read image: truncated"
