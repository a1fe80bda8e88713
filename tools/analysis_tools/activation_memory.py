"""Activation memory and time of a training step, with and without ``checkpoint_blocks``.

Usage::

    python tools/analysis_tools/activation_memory.py CONFIG [--batch-size B]
        [--patch-nums 1 2 3 ...] [--dtype fp32|bf16] [--repeats N]

Builds ``model.backbone`` of CONFIG (random weights, train mode) twice, plain
and with ``checkpoint_blocks=True``, and runs one teacher-forcing step of each
on the CPU: forward on random next-scale inputs for ``--patch-nums`` (default:
the config's ``model.test_cfg.patch_nums``), cross-entropy against random
targets, backward, gradients set to ``None`` before each step (as MMEngine's
``zero_grad`` does). It prints, per variant:

* ``peak``: the most bytes allocated at once during the step above what was
  allocated before it (parameters), from the allocation events of
  ``torch.profiler`` with ``profile_memory=True``: activations, gradients and
  temporaries;
* ``kept``: bytes of the activations autograd keeps for backward when the
  forward pass ends (storages of saved tensors, parameters excluded);
* ``time``: wall seconds of the step, the best of ``--repeats`` (outside the
  profiler, after the profiled step has warmed up).

``--dtype bf16`` runs the step under CPU autocast in bfloat16.
"""
import argparse
import time
from contextlib import nullcontext
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch._C._profiler import _EventType
from torch.profiler import ProfilerActivity, profile

from sar_mm.registry import BACKBONES
from sar_mm.utils.setup_env import register_all_modules

DTYPES = {'fp32': None, 'bf16': torch.bfloat16}


def profiled_peak_bytes(step: Callable[[], None]) -> int:
    """Peak of the bytes allocated during ``step`` above those allocated before it.

    The running sum of the profiler's allocation events (frees are negative), in
    time order. (Their ``total_allocated`` field is not used: it goes on counting
    from earlier profiling sessions.)
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events, stack = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        if node.tag == _EventType.Allocation:
            events.append((node.start_time_ns, node.extra_fields.alloc_size))
        stack.extend(node.children)
    peak = allocated = 0
    for _, size in sorted(events, key=lambda event: event[0]):
        allocated += size
        peak = max(peak, allocated)
    return peak


def measure(backbone: torch.nn.Module, patch_nums: Sequence[int], batch_size: int,
            dtype: Optional[torch.dtype], repeats: int) -> Dict[str, float]:
    """``peak`` and ``kept`` bytes and the best ``time`` (s) of one training step."""
    generator = torch.Generator().manual_seed(0)
    L = sum(pn * pn for pn in patch_nums)
    labels = torch.randint(backbone.num_classes, (batch_size,), generator=generator)
    x = torch.randn(batch_size, L - 1, backbone.cvae, generator=generator)
    targets = torch.randint(backbone.vocab_size, (batch_size, L), generator=generator)
    params = {p.untyped_storage().data_ptr() for p in backbone.parameters()}
    kept = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    def step(record_kept: bool = False) -> None:
        cast = nullcontext() if dtype is None else torch.autocast('cpu', dtype=dtype)
        hooks = (torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor)
                 if record_kept else nullcontext())
        with cast, hooks:
            logits = backbone(labels, x, patch_nums)
            loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        loss.backward()

    step(record_kept=True)  # warm-up, and what autograd keeps
    backbone.zero_grad(set_to_none=True)
    peak = profiled_peak_bytes(step)
    times = []
    for _ in range(repeats):
        backbone.zero_grad(set_to_none=True)
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return dict(peak=peak, kept=sum(kept.values()), time=min(times))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--patch-nums', type=int, nargs='+', default=None)
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='fp32')
    parser.add_argument('--repeats', type=int, default=1)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    patch_nums = tuple(args.patch_nums or cfg.model.test_cfg.patch_nums)
    print(f'{cfg.model.backbone.type} depth {cfg.model.backbone.depth}, batch '
          f'{args.batch_size}, patch_nums {list(patch_nums)} '
          f'({sum(pn * pn for pn in patch_nums)} tokens), {args.dtype}, '
          f'{torch.get_num_threads()} threads')
    results = {}
    for checkpoint_blocks in (False, True):
        torch.manual_seed(0)
        backbone = BACKBONES.build(dict(cfg.model.backbone, checkpoint_blocks=checkpoint_blocks))
        result = measure(backbone.train(), patch_nums, args.batch_size, DTYPES[args.dtype],
                         args.repeats)
        results[checkpoint_blocks] = result
        print(f'checkpoint_blocks={checkpoint_blocks!s:5}  peak {result["peak"] / 2**20:9.1f} MiB'
              f'  kept {result["kept"] / 2**20:9.1f} MiB  time {result["time"]:7.2f} s')
        del backbone
    plain, checkpointed = results[False], results[True]
    print(f'saved: peak {(plain["peak"] - checkpointed["peak"]) / 2**20:.1f} MiB '
          f'({1 - checkpointed["peak"] / plain["peak"]:.0%}), kept '
          f'{(plain["kept"] - checkpointed["kept"]) / 2**20:.1f} MiB '
          f'({1 - checkpointed["kept"] / plain["kept"]:.0%}); time x'
          f'{checkpointed["time"] / plain["time"]:.2f}')


if __name__ == '__main__':
    main()
