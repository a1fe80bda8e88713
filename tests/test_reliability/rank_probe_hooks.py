"""Test-only hooks of the 2-process runs: a NaN on one rank, and every rank's state per step.

Imported by ``tests/data/configs/tiny_flexvar_sar_2rank*.py`` through
``custom_imports`` (``tests/test_reliability`` on ``PYTHONPATH``, as
``distributed_runs.start_ranks`` sets it); importing registers both hooks in
sar_mm's registry. Nothing of the library refers to them.
"""
import hashlib
import json
from pathlib import Path

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sar_mm.registry import HOOKS


def _model(runner) -> torch.nn.Module:
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def tensor_digest(tensors) -> str:
    """sha256 of the tensors' bytes, in order (a bitwise checksum)."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class NaNLossOnRank(Hook):
    """Makes ``loss_tf`` NaN on one rank in one iteration, its gradients finite.

    A forward hook on the model's ``loss_module`` adds a NaN constant to
    ``loss_tf``: the loss is NaN, d(loss)/d(params) is unchanged, so DDP's
    gradient all-reduce carries no NaN to the other rank. Only the skip
    decision of the optim wrapper can tell the other rank.

    Args:
        rank (int): the rank that sees the NaN.
        iteration (int): the 0-based iteration.
    """

    priority = 'LOWEST'

    def __init__(self, rank: int, iteration: int) -> None:
        self.rank = rank
        self.iteration = iteration
        self.handle = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.iteration and get_rank() == self.rank:
            self.handle = _model(runner).loss_module.register_forward_hook(
                lambda module, args, out: {**out, 'loss_tf': out['loss_tf'] + float('nan')})

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


@HOOKS.register_module()
class RecordRankState(Hook):
    """Each rank appends one JSON line per trained iteration to ``<work_dir>/rank<r>.jsonl``.

    A line holds ``iter`` (1-based), ``batch`` (checksum of the batch's images
    and labels: the data position and the augmentation), ``outputs`` (this
    rank's logged values), ``skipped`` (the optim wrapper skipped the update)
    and ``params`` (checksum of this rank's parameters after the step).
    """

    # before RNGStateHook (80) gathers the ranks for the checkpoint: once a checkpoint
    # exists, every rank has recorded the iteration it holds
    priority = 75

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        skip = runner.optim_wrapper.last_skip
        row = dict(
            iter=runner.iter + 1,
            batch=tensor_digest([data_batch['inputs'], data_batch['data_samples']['labels']]),
            outputs={key: float(value) for key, value in (outputs or {}).items()},
            skipped=skip is not None and skip['iter'] == runner.iter,
            params=tensor_digest(p for _, p in _model(runner).named_parameters()))
        with open(Path(runner.work_dir) / f'rank{get_rank()}.jsonl', 'a') as out:
            out.write(json.dumps(row) + '\n')
