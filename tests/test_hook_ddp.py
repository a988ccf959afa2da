"""A real two-process DistributedDataParallel run on CPU (gloo): the hooked generator trains and ranks stay equal."""

from __future__ import annotations

import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from torch_modeseek import ModeSeekingHook, ModeSeekingLoss, paired_inputs

WORLD = 2
STEPS = 4


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(0)  # identical initial weights on every rank
        generator = nn.Sequential(nn.Linear(4 + 3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6))

        class Conditional(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = generator

            def forward(self, cond, z):
                return self.net(torch.cat([cond, z], dim=1))

        model = nn.parallel.DistributedDataParallel(Conditional())
        hook = ModeSeekingHook(model, latent="z")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        data = torch.Generator().manual_seed(100 + rank)  # each rank has its own local batch
        local_terms = []
        for _ in range(STEPS):
            cond = torch.eye(3)[torch.randint(0, 3, (5,), generator=data)]
            cond2, z = paired_inputs(cond, 4, generator=data)
            fake = model(cond2, z=z)
            term = hook.loss()
            x1, x2 = fake.chunk(2)
            z1, z2 = z.chunk(2)
            local = ModeSeekingLoss()(z1, z2, x1, x2)  # the pairs of this rank's local batch
            local_terms.append((term.detach(), local.detach()))
            optimizer.zero_grad()
            (term + 0.01 * fake.pow(2).mean()).backward()
            optimizer.step()
        torch.save(
            {"params": [p.detach().clone() for p in model.parameters()], "terms": local_terms},
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_keep_parameters_identical():
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, "init")
        mp.start_processes(_worker, args=(init_file, tmp), nprocs=WORLD, join=True, start_method="spawn")
        results = [torch.load(os.path.join(tmp, f"rank{r}.pt"), weights_only=True) for r in range(WORLD)]
    for a, b in zip(results[0]["params"], results[1]["params"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.manual_seed(0)
    initial = nn.Sequential(nn.Linear(7, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6))
    assert any(not torch.equal(p, q) for p, q in zip(results[0]["params"], initial.parameters(), strict=True))
    for result in results:
        for term, local in result["terms"]:
            torch.testing.assert_close(term, local)  # the hook paired within the rank's own batch
    assert not torch.equal(results[0]["terms"][0][0], results[1]["terms"][0][0])  # different local batches
