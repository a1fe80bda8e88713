"""Checkpoint the random state of every rank, so a resumed run continues exactly.

MMEngine's checkpoints restore weights, optimizer, schedulers and the message
hub, but no random state: a resumed run re-seeds Python, NumPy and torch from
the config seed, and the per-rank RNGs that scale-wise AR training owns (the
FlexVAR scale-schedule sampler, spec 4.1; the rollout's token sampler, spec
9.19) start again from their seeds. This hook stores, for every rank, the
Python / NumPy / torch (CPU and CUDA) RNG states and the ``state_dict()`` of
the model's RNG-owning components, and restores them after ``--resume``.

Timing: at the end of every training epoch each rank captures its state (the
ranks' states are gathered, since only rank 0 writes checkpoints), and every
following epoch starts from exactly that state, interrupted or not. Whatever
runs in between (validation, sample grids) therefore cannot make a resumed run
differ from an uninterrupted one. Checkpoints written in the middle of an epoch
carry the state only in single-process runs; a warning says when it is missing.
"""
import logging
import random
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sar_mm.registry import HOOKS

__all__ = ['RNGStateHook']

_CHECKPOINT_KEY = 'rng_states'


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save and restore per-rank RNG states in checkpoints.

    Args:
        components: attribute names of model children with ``state_dict()`` /
            ``load_state_dict()`` holding RNG state; missing attributes are
            ignored (the model may not have them).
    """

    priority = 'LOW'  # after other end-of-epoch hooks, before CheckpointHook (VERY_LOW)

    def __init__(self, components: Sequence[str] = ('scale_schedule', 'rollout')) -> None:
        self.components = tuple(components)
        self._epoch_states: Optional[List[Dict]] = None  # gathered at the last epoch end
        self._epoch_states_iter = -1
        self._pending: Optional[Dict] = None  # to apply at the next epoch start

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

    # --- hook events ---------------------------------------------------------------------
    def after_train_epoch(self, runner) -> None:
        """Capture every rank's state (collective: all ranks call it)."""
        own = self._capture(runner)
        self._epoch_states = all_gather_object(own) if get_world_size() > 1 else [own]
        self._epoch_states_iter = runner.iter
        self._pending = own

    def before_train_epoch(self, runner) -> None:
        """Start the epoch from the pending state (end of the previous epoch)."""
        if self._pending is not None and runner.iter > 0:
            self._apply(runner, self._pending)
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the gathered states (rank 0 only writes checkpoints)."""
        world_size = get_world_size()
        if self._epoch_states is not None and self._epoch_states_iter == runner.iter:
            states = self._epoch_states
        elif world_size == 1:
            states = [self._capture(runner)]
        else:
            print_log('RNGStateHook: checkpoint written outside an epoch end; the RNG states '
                      'of the ranks are not saved, a resumed run will not repeat the '
                      'uninterrupted one exactly', logger='current', level=logging.WARNING)
            return
        checkpoint[_CHECKPOINT_KEY] = dict(world_size=world_size, states=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this rank's saved state; it is applied when the resumed epoch starts.

        ``load_from`` checkpoints pass through here as well; their state is
        dropped at the first epoch start, since a fresh run starts at iteration 0.
        """
        saved = checkpoint.get(_CHECKPOINT_KEY)
        if saved is None:
            self._pending = None
            return
        if saved['world_size'] != get_world_size():
            print_log(f'RNGStateHook: the checkpoint was written by {saved["world_size"]} '
                      f'ranks and this run has {get_world_size()}; RNG states are not '
                      'restored', logger='current', level=logging.WARNING)
            self._pending = None
            return
        self._pending = saved['states'][get_rank()]
