"""The global batch as the unit of a training config, and the launch summary.

The official VAR / FlexVAR / SAR trainers take the *global* batch (``--bs 768``)
and divide it by the number of processes, so a run on 8 GPUs trains like one on
32 (more samples per GPU). sar_mm configs do the same:
``train_dataloader.global_batch_size`` (768 for the SAR recipes) is divided by
``world size x optim_wrapper.accumulative_counts`` to give the per-GPU batch
that MMEngine's ``DataLoader`` receives; a global batch that does not divide is
refused. A config that gives a per-GPU ``train_dataloader.batch_size`` instead
still works, and its resulting global batch is reported.

``--auto-scale-lr`` scales ``optim_wrapper.optimizer.lr`` by
``global batch / auto_scale_lr.base_batch_size`` here, counting gradient
accumulation (MMEngine's own ``Runner.scale_lr`` ignores it), and switches
MMEngine's scaling off so that it is applied once.
"""
from dataclasses import dataclass
from typing import Optional

from mmengine.config import Config

__all__ = ['BatchPlan', 'plan_train_batch', 'apply_batch_plan', 'launch_summary', 'launch_line']


@dataclass(frozen=True)
class BatchPlan:
    """How one training launch splits its batch.

    Attributes:
        world_size (int): processes in all (one per GPU).
        nnodes (int): nodes; ``world_size / nnodes`` processes per node.
        per_gpu_batch (int): samples one process loads per iteration.
        accumulative_counts (int): iterations whose gradients make one update.
        global_batch (int): samples per optimizer update,
            ``per_gpu_batch x world_size x accumulative_counts``.
        from_global (bool): the config gave ``global_batch_size`` (else a
            per-GPU ``batch_size``).
        lr (float | None): ``optim_wrapper.optimizer.lr`` after auto-scaling
            (the base lr that the param schedulers scale).
        lr_scale (float): the auto-scaling factor (1.0 when off).
        auto_scaled (bool): ``--auto-scale-lr`` / ``auto_scale_lr.enable`` was on.
    """
    world_size: int
    nnodes: int
    per_gpu_batch: int
    accumulative_counts: int
    global_batch: int
    from_global: bool
    lr: Optional[float]
    lr_scale: float
    auto_scaled: bool

    @property
    def procs_per_node(self) -> int:
        return self.world_size // self.nnodes


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive integer, got {value!r}')
    return value


def plan_train_batch(cfg: Config, world_size: int, nnodes: int = 1,
                     auto_scale_lr: Optional[bool] = None) -> BatchPlan:
    """Work out the per-GPU batch, global batch and lr of ``cfg`` on ``world_size`` ranks.

    Args:
        cfg (Config): a training config (not modified).
        world_size (int): number of processes.
        nnodes (int): number of nodes (only reported; must divide ``world_size``).
        auto_scale_lr (bool, optional): scale the lr; ``None`` takes
            ``cfg.auto_scale_lr.enable``.

    Returns:
        BatchPlan

    Raises:
        ValueError: both or neither of ``global_batch_size`` / ``batch_size``;
            a global batch not divisible by ``world_size x accumulative_counts``;
            ``auto_scale_lr`` without ``base_batch_size``.
    """
    _check_positive('world size', world_size)
    _check_positive('nnodes', nnodes)
    if world_size % nnodes:
        raise ValueError(f'world size {world_size} is not divisible by {nnodes} nodes')
    loader = cfg.get('train_dataloader') or {}
    accum = _check_positive('optim_wrapper.accumulative_counts',
                            (cfg.get('optim_wrapper') or {}).get('accumulative_counts', 1))
    global_batch = loader.get('global_batch_size')
    per_gpu = loader.get('batch_size')
    if global_batch is not None and per_gpu is not None:
        raise ValueError(
            f'train_dataloader gives both global_batch_size={global_batch} and a per-GPU '
            f'batch_size={per_gpu}; keep one (e.g. --cfg-options '
            f'train_dataloader.global_batch_size=None train_dataloader.batch_size={per_gpu})')
    if global_batch is not None:
        _check_positive('train_dataloader.global_batch_size', global_batch)
        shards = world_size * accum
        if global_batch % shards:
            raise ValueError(
                f'global batch {global_batch} cannot be split over world size {world_size} x '
                f'accumulative_counts {accum} = {shards}; choose a global batch divisible by '
                f'{shards}, or another GPU count (divisors of {global_batch}) or '
                'optim_wrapper.accumulative_counts')
        per_gpu = global_batch // shards
    elif per_gpu is not None:
        _check_positive('train_dataloader.batch_size', per_gpu)
        global_batch = per_gpu * world_size * accum
    else:
        raise ValueError('train_dataloader needs global_batch_size (samples per optimizer '
                         'update over all GPUs) or a per-GPU batch_size')

    scaling = cfg.get('auto_scale_lr') or {}
    if auto_scale_lr is None:
        auto_scale_lr = bool(scaling.get('enable', False))
    lr = ((cfg.get('optim_wrapper') or {}).get('optimizer') or {}).get('lr')
    lr_scale = 1.0
    if auto_scale_lr:
        if 'base_batch_size' not in scaling:
            raise ValueError('auto-scaling the lr needs auto_scale_lr.base_batch_size')
        lr_scale = global_batch / scaling['base_batch_size']
        lr = None if lr is None else lr * lr_scale
    return BatchPlan(world_size=world_size, nnodes=nnodes, per_gpu_batch=per_gpu,
                     accumulative_counts=accum, global_batch=global_batch,
                     from_global=loader.get('global_batch_size') is not None, lr=lr,
                     lr_scale=lr_scale, auto_scaled=bool(auto_scale_lr))


def apply_batch_plan(cfg: Config, world_size: int, nnodes: int = 1,
                     auto_scale_lr: Optional[bool] = None) -> BatchPlan:
    """:func:`plan_train_batch`, then write the plan into ``cfg`` for the Runner.

    ``train_dataloader.global_batch_size`` becomes the per-GPU ``batch_size``,
    the scaled lr goes into ``optim_wrapper.optimizer.lr`` and
    ``auto_scale_lr.enable`` is switched off (the scaling is done). Call it
    before building a Runner from a config that gives a global batch.
    """
    plan = plan_train_batch(cfg, world_size, nnodes, auto_scale_lr)
    loader = cfg.train_dataloader
    loader.pop('global_batch_size', None)
    loader.batch_size = plan.per_gpu_batch
    if plan.lr_scale != 1.0 and plan.lr is not None:
        cfg.optim_wrapper.optimizer.lr = plan.lr
    if cfg.get('auto_scale_lr'):
        cfg.auto_scale_lr.enable = False
    return plan


def launch_line(world_size: int, nnodes: int, details: str) -> str:
    """``launch: K node(s) x P processes per node = world size N, <details>``."""
    if world_size % nnodes:
        raise ValueError(f'world size {world_size} is not divisible by {nnodes} nodes')
    return (f'launch: {nnodes} node(s) x {world_size // nnodes} processes per node = '
            f'world size {world_size}, {details}')


def launch_summary(plan: BatchPlan) -> str:
    """One line: ``nodes x processes per node = world size, per-GPU batch, global batch``."""
    accum = (f' x accumulative_counts {plan.accumulative_counts}'
             if plan.accumulative_counts > 1 else '')
    lr = '' if plan.lr is None else f', base lr {plan.lr:.6g}'
    if plan.auto_scaled:
        lr += f' (auto-scaled x{plan.lr_scale:.6g})'
    return launch_line(plan.world_size, plan.nnodes,
                       f'per-GPU batch {plan.per_gpu_batch}{accum}, '
                       f'global batch {plan.global_batch}{lr}')
