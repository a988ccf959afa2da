from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from examples.common.data.builtin_facades import BlockFacades
from examples.common.data.builtin_shapes import ShapesDataset
from torch_modeseek.metrics import mode_coverage


def test_shapes_items_sit_on_their_known_mode():
    data = ShapesDataset("test", per_mode=2)
    assert len(data) == 160
    assert data.num_modes == 8
    images = torch.stack([data[i][0] for i in range(len(data))])
    assert torch.equal(images[5], ShapesDataset("test", per_mode=2)[5][0])  # deterministic
    for label in range(10):
        idx = [i for i in range(len(data)) if data[i][1] == label]
        pooled = (F.avg_pool2d(x, data.coverage_pool) for x in (images[idx], data.prototypes(label)))
        res = mode_coverage(*pooled, data.coverage_radius)
        assert res.modes_hit == 8
        assert res.high_quality_fraction == 1.0
        assert res.counts.tolist() == [2] * 8  # each item counts for its own mode


@pytest.mark.parametrize("split", ["train", "val"])
def test_facades_items_sit_on_their_known_appearance(split):
    data = BlockFacades(split, layouts=6)
    assert len(data) == 48
    for layout in range(6):
        pairs = [data[layout * 8 + m] for m in range(8)]
        assert all(torch.equal(a, pairs[0][0]) for a, _ in pairs)  # one input, 8 targets
        targets = torch.stack([b for _, b in pairs])
        pooled = (F.avg_pool2d(x, data.coverage_pool) for x in (targets, data.prototypes(layout)))
        res = mode_coverage(*pooled, data.coverage_radius)
        assert res.counts.tolist() == [1] * 8


def test_facades_splits_have_different_layouts():
    assert not torch.equal(BlockFacades("train", layouts=1).label_map(0), BlockFacades("val", layouts=1).label_map(0))
