"""The metrics share one protocol (update/compute/reset/sync), and sync is idempotent across two real ranks."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from torch_modeseek.metrics import FID, NDB, LPIPSDiversity
from torch_modeseek.metrics._accumulator import Accumulator, Result

WORLD = 2


def _l1(a, b):
    return (a - b).abs().flatten(1).mean(1)


def _data(rank: int):
    g = torch.Generator().manual_seed(10 + rank)
    return torch.randn(40, 6, generator=g), torch.rand(3, 4, 3, 4, 4, generator=g)


def _metrics():
    real = torch.randn(200, 6, generator=torch.Generator().manual_seed(0))
    return NDB(num_bins=4, n_init=1).fit(real), FID(), LPIPSDiversity(network=_l1, pairs=5), real


def _update(ndb, fid, lpips, real, rank):
    fake, samples = _data(rank)
    ndb.update(fake)
    fid.update(real[rank::2], real=True)
    fid.update(fake, real=False)
    lpips.update(samples)


def _results(ndb, fid, lpips):
    result = ndb.compute()
    return result.to_dict()["fake_proportions"], result.num_fake, float(fid.compute()), float(lpips.compute())


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        ndb, fid, lpips, real = _metrics()
        _update(ndb, fid, lpips, real, rank)
        for metric in (ndb, fid, lpips):
            metric.sync()
            metric.sync()  # idempotent: nothing counted twice
        torch.save(_results(ndb, fid, lpips), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_every_accumulating_metric_follows_the_protocol():
    for cls in (NDB, FID, LPIPSDiversity):
        assert issubclass(cls, Accumulator)
        for method in ("update", "compute", "reset", "sync"):
            assert getattr(cls, method) is not getattr(object, method, None)


def test_results_share_to_dict():
    from torch_modeseek.metrics import ModeCoverageResult, NDBResult

    assert issubclass(NDBResult, Result)
    assert issubclass(ModeCoverageResult, Result)
    assert "to_dict" not in vars(NDBResult)
    assert "to_dict" not in vars(ModeCoverageResult)


def test_reset_clears_what_was_accumulated():
    ndb, fid, lpips, real = _metrics()
    _update(ndb, fid, lpips, real, 0)
    for metric in (ndb, fid, lpips):
        metric.reset()
    with pytest.raises(ValueError, match="needs generated samples"):
        ndb.compute()
    with pytest.raises(ValueError, match="needs at least 2"):
        fid.compute()
    with pytest.raises(ValueError, match="needs samples"):
        lpips.compute()


def test_two_ranks_synced_twice_equal_one_process_on_all_the_data():
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "init")
        mp.spawn(_worker, args=(init, tmp), nprocs=WORLD, join=True)
        ranks = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(WORLD)]
    ndb, fid, lpips, real = _metrics()
    for rank in range(WORLD):
        _update(ndb, fid, lpips, real, rank)
    want = _results(ndb, fid, lpips)
    for got in ranks:
        assert got[0] == pytest.approx(want[0])
        assert got[1] == want[1] == 80  # 40 fakes per rank, each counted once
        assert got[2] == pytest.approx(want[2], rel=1e-9)
        assert got[3] == pytest.approx(want[3], rel=1e-12)
