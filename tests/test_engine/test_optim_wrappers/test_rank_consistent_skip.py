"""Both skip wrappers decide together across 2 gloo processes (issue 22, item 1).

Rank 1's loss is NaN, its gradients finite (a NaN constant added to the loss),
so DDP's gradient all-reduce carries nothing to rank 0: only the wrapper's
reduced decision makes rank 0 skip too. Each rank saves what it saw; the test
compares the ranks.
"""
import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from sar_mm.engine import SkipNonFiniteAmpOptimWrapper, SkipNonFiniteOptimWrapper

WRAPPERS = {
    'SkipNonFiniteOptimWrapper': lambda params: SkipNonFiniteOptimWrapper(
        torch.optim.AdamW(params, lr=0.1)),
    # float16 with a loss scale (small enough not to overflow): only the loss is checked
    'SkipNonFiniteAmpOptimWrapper': lambda params: SkipNonFiniteAmpOptimWrapper(
        torch.optim.AdamW(params, lr=0.1), dtype='float16', device_type='cpu',
        loss_scale=16.0),
}


def _rank(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    seen = {}
    for name, build in WRAPPERS.items():
        torch.manual_seed(0)
        model = nn.parallel.DistributedDataParallel(nn.Linear(3, 1))
        wrapper = build(model.parameters())
        steps = []
        for step in range(2):  # step 0: NaN on rank 1; step 1: finite everywhere
            with wrapper.optim_context(model):
                loss = model(torch.full((2, 3), rank + 1.0)).float().sum()
            if step == 0 and rank == 1:
                loss = loss + float('nan')
            wrapper.update_params(loss)
            steps.append(dict(skips=wrapper.nonfinite_skips, last_skip=wrapper.last_skip,
                              params=[p.detach().clone() for p in model.parameters()]))
        seen[name] = steps
    torch.save(seen, Path(out_dir) / f'rank{rank}.pt')
    dist.destroy_process_group()


def test_nan_loss_on_one_rank_makes_every_rank_skip(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    mp.spawn(_rank, args=(port, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'rank{rank}.pt', weights_only=False) for rank in range(2)]
    torch.manual_seed(0)
    initial = list(nn.Linear(3, 1).parameters())
    for name in WRAPPERS:
        skipped, stepped = ranks[0][name][0], ranks[0][name][1]
        for rank in range(2):
            assert ranks[rank][name][0]['skips'] == 1, (name, rank)
            assert ranks[rank][name][0]['last_skip']['ranks'] == [1]
            assert ranks[rank][name][1]['skips'] == 1  # the finite step was applied
            for a, b in zip(ranks[rank][name][0]['params'], initial):
                assert torch.equal(a, b), name  # the NaN step changed nothing
        for step in (skipped, stepped):  # identical replicas after every step
            for a, b in zip(step['params'], ranks[1][name][step is stepped]['params']):
                assert torch.equal(a, b), name
        assert not torch.equal(stepped['params'][0], skipped['params'][0])
