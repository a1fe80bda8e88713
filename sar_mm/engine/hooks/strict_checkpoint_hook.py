"""Refuse a checkpoint that does not fit the model, before any weight is loaded."""
import re
from typing import Dict, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sar_mm.registry import HOOKS
from sar_mm.utils.state_dict_conversion import state_dict_problems

__all__ = ['StrictCheckpointHook']


@HOOKS.register_module()
class StrictCheckpointHook(Hook):
    """Load ``load_from`` / ``--resume`` checkpoints only if keys and shapes fit the model.

    MMEngine loads weights with ``strict=False``: a checkpoint of another model
    family or depth loads whatever matches, logs a warning, and training goes on
    with partly random weights. This hook checks the checkpoint's state dict
    (``module.`` prefixes removed, as MMEngine does) against the model's before
    anything is loaded, and raises naming the missing, unexpected and
    mis-shaped keys.

    Args:
        ignore_prefixes (Sequence[str]): key prefixes left out of the check on
            both sides, for deliberate partial loads (e.g. ``('tokenizer.',)``
            to initialise only the backbone).
    """

    priority = 'VERY_HIGH'  # before any other hook looks at the checkpoint

    def __init__(self, ignore_prefixes: Sequence[str] = ()) -> None:
        self.ignore_prefixes = tuple(ignore_prefixes)

    def _kept(self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {k: v for k, v in state.items() if not k.startswith(self.ignore_prefixes)}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise ``ValueError`` if ``checkpoint`` does not fit ``runner.model``."""
        state = checkpoint.get('state_dict', checkpoint)
        state = {re.sub(r'^module\.', '', key): value for key, value in state.items()
                 if key != '_metadata'}
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        problems = state_dict_problems(self._kept(state), self._kept(model.state_dict()))
        if problems:
            source = getattr(runner, '_load_from', None) or 'the checkpoint'
            raise ValueError(f'{source} does not fit {type(model).__name__} (another model '
                             f'family or size?): ' + ' | '.join(problems))
