"""Checkpoint the random state of every rank, so a resumed run continues exactly.

MMEngine's checkpoints restore weights, optimizer, schedulers and the message
hub, but no random state: a resumed run re-seeds Python, NumPy and torch from
the config seed, and the per-rank RNGs that scale-wise AR training owns (the
FlexVAR scale-schedule sampler, docs/method.md §4.1; the rollout's token
sampler, §7.27) start again from their seeds. This hook stores, for every
rank, the Python / NumPy / torch (CPU and CUDA) RNG states and the
``state_dict()`` of the model's RNG-owning components, and restores them
after ``--resume``.

What a checkpoint holds and when it is applied:

- written at the end of an epoch: the state at that point, applied when the
  next epoch starts. Every epoch of the uninterrupted run starts from exactly
  that state too, so whatever runs in between (validation) cannot make a
  resumed run differ.
- written after an iteration (``CheckpointHook`` with ``by_epoch=False``, the
  ``IterBasedTrainLoop`` or an epoch-based one): the state after that
  iteration and the state at the start of its epoch. The epoch-start state is
  applied at the epoch start, before the loop creates the data iterator (the
  DataLoader draws its worker seeds from the torch RNG there) and draws the
  batches already trained again; the iteration state is applied when the next
  iteration starts. The data pipeline must then run in worker processes
  (``num_workers >= 1``): with ``num_workers=0`` the augmentations of the
  redrawn batches consume the main process's RNGs, and the resumed run differs.

Validation (``before_val`` .. ``after_val``) runs on a copy of the RNG state:
the training streams continue after it as if it had not run, in interrupted and
uninterrupted runs alike. States of all ranks are gathered on every rank (only
rank 0 writes checkpoints) whenever a checkpoint is due.
"""
import logging
import random
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sar_mm.registry import HOOKS

__all__ = ['RNGStateHook']

_CHECKPOINT_KEY = 'rng_states'


def _gather(state: Dict) -> List[Dict]:
    """Every rank's ``state`` (collective when distributed)."""
    return all_gather_object(state) if get_world_size() > 1 else [state]


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save and restore per-rank RNG states in checkpoints.

    Args:
        components: attribute names of model children with ``state_dict()`` /
            ``load_state_dict()`` holding RNG state; missing attributes are
            ignored (the model may not have them).
    """

    # After the LOW hooks (sample grids draw there), before CheckpointHook (VERY_LOW = 90):
    # the state captured after an iteration is the one the next iteration starts from.
    priority = 80

    def __init__(self, components: Sequence[str] = ('scale_schedule', 'rollout')) -> None:
        self.components = tuple(components)
        self._epoch_start: Optional[Dict] = None  # this rank's state when the epoch started
        # what the next checkpoint holds (all ranks), gathered at runner.iter == _gathered_iter
        self._gathered: Optional[Dict] = None
        self._gathered_iter = -1
        self._pending_epoch: Optional[Dict] = None  # applied at the next epoch start
        self._pending_iter: Optional[Dict] = None  # applied at the next iteration start
        self._before_val: Optional[Dict] = None

    # --- capture / apply -----------------------------------------------------------------
    def _model(self, runner) -> torch.nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _capture(self, runner) -> Dict:
        model = self._model(runner)
        components = {name: getattr(model, name).state_dict() for name in self.components
                      if hasattr(getattr(model, name, None), 'state_dict')}
        return dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            components=components)

    def _apply(self, runner, state: Dict) -> None:
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if state['cuda'] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        model = self._model(runner)
        for name, component_state in state['components'].items():
            component = getattr(model, name, None)
            if component is None:
                raise KeyError(f'the checkpoint holds RNG state for model.{name}, '
                               'which this model does not have')
            component.load_state_dict(component_state)

    @staticmethod
    def _checkpoint_due(runner) -> bool:
        """Whether an iteration-based ``CheckpointHook`` saves after this iteration."""
        for hook in getattr(runner, 'hooks', ()):
            if isinstance(hook, CheckpointHook) and not hook.by_epoch and (
                    hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
                    or (hook.save_last and hook.is_last_train_iter(runner))):
                return True
        return False

    # --- training events -----------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Start the epoch from the pending state; remember the epoch-start state."""
        if runner.iter == 0:
            # a fresh run (``load_from``): keep the run's own seeds
            self._pending_epoch = self._pending_iter = None
        if self._pending_epoch is not None:
            self._apply(runner, self._pending_epoch)
            self._pending_epoch = None
        self._epoch_start = self._capture(runner)
        self._gathered = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """After a resume inside an epoch: continue from the checkpointed iteration."""
        self._gathered = None
        if self._pending_iter is None:
            return
        dataloader = getattr(runner, 'train_dataloader', None)
        if getattr(dataloader, 'num_workers', None) == 0:
            print_log('RNGStateHook: resumed inside an epoch with num_workers=0; the data '
                      'pipeline drew random numbers from the main process while the trained '
                      'batches were skipped, so this run does not repeat the uninterrupted one '
                      'exactly (use num_workers >= 1)', logger='current', level=logging.WARNING)
        self._apply(runner, self._pending_iter)
        self._pending_iter = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Gather every rank's state when a checkpoint follows this iteration."""
        if not self._checkpoint_due(runner):
            return
        states = _gather(dict(iteration=self._capture(runner), epoch_start=self._epoch_start))
        self._gathered = dict(states=[s['iteration'] for s in states],
                              epoch_start_states=[s['epoch_start'] for s in states])
        self._gathered_iter = runner.iter

    def after_train_epoch(self, runner) -> None:
        """Capture every rank's state (collective: all ranks call it)."""
        if self._pending_iter is not None:
            # resumed after the last batch of an epoch: no iteration ran in between
            self._apply(runner, self._pending_iter)
            self._pending_iter = None
        own = self._capture(runner)
        self._gathered = dict(states=_gather(own))
        self._gathered_iter = runner.iter
        self._pending_epoch = own

    # --- validation ----------------------------------------------------------------------
    def before_val(self, runner) -> None:
        self._before_val = self._capture(runner)

    def after_val(self, runner) -> None:
        """Continue training with the state validation started from."""
        if self._before_val is not None:
            self._apply(runner, self._before_val)
            self._before_val = None

    # --- checkpoints ---------------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the gathered states (rank 0 only writes checkpoints)."""
        world_size = get_world_size()
        saved = dict(world_size=world_size)
        if self._gathered is not None and self._gathered_iter == runner.iter:
            saved.update(self._gathered)
        elif world_size == 1:
            saved.update(states=[self._capture(runner)])
            if self._epoch_start is not None:
                saved.update(epoch_start_states=[self._epoch_start])
        else:
            print_log('RNGStateHook: checkpoint written at a point no CheckpointHook announced; '
                      'the RNG states of the ranks are not saved, a resumed run will not repeat '
                      'the uninterrupted one exactly', logger='current', level=logging.WARNING)
            return
        checkpoint[_CHECKPOINT_KEY] = saved

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this rank's saved states; they are applied when training continues.

        ``load_from`` checkpoints pass through here as well; their states are
        dropped at the first epoch start, since a fresh run starts at iteration 0.
        """
        self._pending_epoch = self._pending_iter = None
        saved = checkpoint.get(_CHECKPOINT_KEY)
        if saved is None:
            return
        if saved['world_size'] != get_world_size():
            print_log(f'RNGStateHook: the checkpoint was written by {saved["world_size"]} '
                      f'ranks and this run has {get_world_size()}; RNG states are not '
                      'restored', logger='current', level=logging.WARNING)
            return
        rank = get_rank()
        if saved.get('epoch_start_states') is not None:
            self._pending_epoch = saved['epoch_start_states'][rank]
            self._pending_iter = saved['states'][rank]
        else:
            self._pending_epoch = saved['states'][rank]
