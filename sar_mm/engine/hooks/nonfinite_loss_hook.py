"""What a run does after a training step with a non-finite loss or gradient."""
import logging
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from sar_mm.registry import HOOKS

__all__ = ['NonFiniteLossHook']

_POLICIES = ('stop', 'skip')


def _as_float(value) -> float:
    return float(value.detach().float().mean()) if hasattr(value, 'detach') else float(value)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop, or skip and continue, after a step with a non-finite loss or gradient.

    sar_mm's optim wrappers (``SkipNonFiniteOptimWrapper``,
    ``SkipNonFiniteAmpOptimWrapper``) never apply
    such an update: they drop its gradients, count it and log
    ``train/nonfinite_skip``. After the step this hook reads the step's logged
    values (every ``loss_*`` term, ``acc_*`` ...) and acts by ``policy``:

    - ``'stop'``: raise ``FloatingPointError`` naming the iteration, the loss
      terms and the parameters with non-finite gradients. The weights are those
      before the step, and the last checkpoint is intact: fix the cause and
      ``--resume``.
    - ``'skip'``: log the same and continue; after ``max_consecutive_skips``
      skipped steps in a row (a model that has diverged keeps failing), stop.

    A loss term that is non-finite although the wrapper applied the update
    (an optim wrapper that does not skip) always stops the run: the weights
    are no longer trustworthy.

    Args:
        policy (str): ``'stop'`` or ``'skip'``.
        max_consecutive_skips (int, optional): with ``'skip'``, stop after this
            many skipped steps in a row; ``None``: never.
    """

    priority = 'BELOW_NORMAL'  # after the optimizer step, before logging

    def __init__(self, policy: str = 'stop', max_consecutive_skips: Optional[int] = 100) -> None:
        if policy not in _POLICIES:
            raise ValueError(f'policy must be one of {_POLICIES}, got {policy!r}')
        if max_consecutive_skips is not None and max_consecutive_skips < 1:
            raise ValueError(f'max_consecutive_skips must be >= 1, got {max_consecutive_skips}')
        self.policy = policy
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Act on a skipped or non-finite step of this iteration."""
        terms = {key: _as_float(value) for key, value in (outputs or {}).items()}
        bad_loss_terms = sorted(k for k, v in terms.items() if 'loss' in k and not math.isfinite(v))
        wrapper = runner.optim_wrapper
        skip = getattr(wrapper, 'last_skip', None)
        skipped = skip is not None and skip['iter'] == runner.iter
        if not skipped:
            self.consecutive_skips = 0
            if bad_loss_terms:
                raise FloatingPointError(
                    f'{self._describe(runner, terms)}; {type(wrapper).__name__} applied the '
                    'update, so the weights are no longer trustworthy: resume from the last '
                    'checkpoint with SkipNonFiniteOptimWrapper / SkipNonFiniteAmpOptimWrapper, '
                    'which skip such updates')
            return
        self.consecutive_skips += 1
        message = self._describe(runner, terms, skip['nonfinite_grads'])
        if self.policy == 'stop':
            raise FloatingPointError(
                f'{message}. The update was skipped: the weights and the last checkpoint are '
                "intact (set NonFiniteLossHook's policy='skip' to continue past such steps)")
        if self.max_consecutive_skips is not None and \
                self.consecutive_skips >= self.max_consecutive_skips:
            raise FloatingPointError(f'{message}; {self.consecutive_skips} steps in a row were '
                                     'skipped, the run does not recover')
        print_log(f'{message}; skipped ({wrapper.nonfinite_skips} skipped steps so far)',
                  logger='current', level=logging.WARNING)

    @staticmethod
    def _describe(runner, terms: dict, nonfinite_grads=()) -> str:
        values = ', '.join(f'{key}={value}' for key, value in terms.items())
        grads = (f'; non-finite gradients in {", ".join(nonfinite_grads)}'
                 if nonfinite_grads else '')
        return f'non-finite training step at iteration {runner.iter + 1}: {values}{grads}'
