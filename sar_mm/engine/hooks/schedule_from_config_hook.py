"""On ``--resume``, continue with the config's parameter schedule, not the checkpoint's."""
import copy
import logging
import warnings
from typing import Any, List

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from sar_mm.registry import HOOKS

__all__ = ['ScheduleFromConfigHook']


#: scheduler state entries that count steps and record values; reported only when no
#: setting differs
_COUNTERS = ('last_step', '_global_step', '_last_value')


def _values(groups: List[dict], names: List[str]) -> str:
    def text(value: Any) -> str:
        return f'{value:.4e}' if isinstance(value, float) else repr(value)

    return ', '.join(f'{name} ' + ' '.join(text(group[name]) for group in groups)
                     for name in names)


@HOOKS.register_module()
class ScheduleFromConfigHook(Hook):
    """Resume with the parameter schedule the config describes.

    MMEngine restores every attribute of each parameter scheduler from the
    checkpoint (``begin``, ``end``, factors, base values, step counters), so a
    run resumed with more epochs and the schedule's ``end`` raised keeps the
    old ``end``: past it the lr stays frozen, without a word. This hook
    replays the config's schedulers, as the Runner built them for this run,
    over the steps the checkpointed run took (``meta['iter']`` iteration steps,
    ``meta['epoch']`` epoch steps, in ``ParamSchedulerHook``'s order), and
    when the result differs from the checkpoint's schedulers it replaces their
    states and the scheduled values of the optimizer's parameter groups (lr,
    ``initial_lr``, ...) before the Runner restores them: the resumed run then
    sets at every iteration the value an uninterrupted run of the config would
    set. Each difference is logged (scheduler, key, old -> new, and the value
    of each scheduled parameter). An unchanged config leaves the checkpoint
    untouched; the base-lr record an ``OptimWrapper`` of several groups
    schedules (``base_param_settings``, logged as ``base_lr``, not saved in
    checkpoints) is set to the replayed value in any case.

    Only resumes (``resume=True``) are changed, not ``load_from``; a run with
    one optimizer (a list of schedulers). Raises ``ValueError`` when the
    checkpoint's optimizer has another number of parameter groups than the
    config's, where the schedule cannot be mapped.
    """

    priority = 'HIGH'  # before the Runner loads the states, after StrictCheckpointHook

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        schedulers = getattr(runner, 'param_schedulers', None)
        saved = checkpoint.get('param_schedulers')
        optimizer_state = checkpoint.get('optimizer')
        built = isinstance(schedulers, list) and schedulers and all(
            isinstance(scheduler, _ParamScheduler) for scheduler in schedulers)
        if not (getattr(runner, '_resume', False) and built and isinstance(saved, list)
                and isinstance(optimizer_state, dict)):
            return
        saved_groups = optimizer_state['param_groups']
        # an OptimWrapper of several groups schedules one more, its base_lr record
        # (``base_param_settings``), which the checkpoint does not hold
        groups = runner.optim_wrapper.param_groups
        real = len(getattr(runner.optim_wrapper, 'optimizer', runner.optim_wrapper).param_groups)
        if len(saved_groups) != real:
            raise ValueError(
                f'resume: the checkpoint has {len(saved_groups)} optimizer parameter groups and '
                f'the config builds {real}; the lr schedule cannot be carried over '
                '(was the optimizer constructor or paramwise_cfg changed?)')
        meta = checkpoint['meta']
        replayed, values = self._replay(schedulers, groups, int(meta['iter']), int(meta['epoch']),
                                        runner)
        names = sorted({scheduler.param_name for scheduler in replayed})
        for group, value in zip(groups[real:], values[real:]):
            for name in names:
                group[name] = value[name]
        changes = self._changes(saved, replayed)
        if not changes:
            return
        old = _values(saved_groups, names)
        checkpoint['param_schedulers'] = [scheduler.state_dict() for scheduler in replayed]
        for saved_group, group in zip(saved_groups, values):
            for name in names:
                saved_group[name] = group[name]
                saved_group[f'initial_{name}'] = group[f'initial_{name}']
        print_log(
            f'resume: the config\'s parameter schedule differs from the checkpoint\'s '
            f'({"; ".join(changes)}); continuing at iteration {meta["iter"]} with the config\'s '
            f'schedule, as an uninterrupted run of it: {_values(values[:real], names)} (the '
            f'checkpoint had {old})',
            logger='current', level=logging.WARNING)

    @staticmethod
    def _replay(schedulers: list, groups: List[dict], iters: int, epochs: int, runner):
        """Copies of ``schedulers`` stepped as the checkpointed run stepped its own.

        Returns:
            tuple: the stepped copies, and the parameter groups (without
            parameters) they set.
        """
        stand_in = torch.optim.SGD(
            [dict({k: copy.deepcopy(v) for k, v in group.items() if k != 'params'},
                  params=[torch.zeros(1)]) for group in groups], lr=0.0)
        replayed = []
        for scheduler in schedulers:
            clone = type(scheduler).__new__(type(scheduler))
            clone.__dict__.update(copy.deepcopy(scheduler.state_dict()))
            clone.optimizer = stand_in
            replayed.append(clone)
        by_epoch = [s for s in replayed if s.by_epoch]
        epoch_length = len(runner.train_dataloader) if by_epoch else 0
        with warnings.catch_warnings():  # the stand-in's step() is never called
            warnings.simplefilter('ignore', UserWarning)
            for iteration in range(1, iters + 1):
                for scheduler in replayed:
                    if not scheduler.by_epoch:
                        scheduler.step()
                if by_epoch and iteration % epoch_length == 0 and \
                        iteration // epoch_length <= epochs:
                    for scheduler in by_epoch:
                        scheduler.step()
        return replayed, [{k: v for k, v in g.items() if k != 'params'}
                          for g in stand_in.param_groups]

    @staticmethod
    def _changes(saved: List[Any], replayed: list) -> List[str]:
        """What differs between the checkpoint's schedulers and the replayed config's:
        ``Scheduler #i: key old -> new``, settings only unless only counters differ."""
        if len(saved) != len(replayed):
            return [f'{len(saved)} schedulers -> {len(replayed)}']
        settings, counters = [], []
        for index, (state, clone) in enumerate(zip(saved, replayed)):
            name = f'{type(clone).__name__} #{index}'
            if not isinstance(state, dict):
                settings.append(f'{name}: no saved state')
                continue
            for key, value in clone.state_dict().items():
                if state.get(key) != value:
                    (counters if key in _COUNTERS else settings).append(
                        f'{name}: {key} {state.get(key)!r} -> {value!r}')
        return settings or counters
