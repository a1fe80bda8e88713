"""Optimizer wrapper that never applies an update with a non-finite loss or gradient.

Configs select it with ``type='SkipNonFiniteOptimWrapper'``;
``type='OptimWrapper'`` stays MMEngine's wrapper, which applies such updates.
:class:`~sar_mm.engine.optim_wrappers.SkipNonFiniteAmpOptimWrapper` derives
from it.

Before every update (after the backward pass, so DDP has already reduced the
gradients), the wrapper checks that the loss and all gradients are finite.
The decision is reduced across ranks: each rank sets its own slot of a
world-size vector of flags and one ``all_reduce`` sums them, so every rank
skips or steps together even when only one rank's loss is non-finite (a
non-finite loss with finite gradients is not spread by DDP; without this the
replicas would diverge), and every rank knows which ranks saw it. A non-finite
update is skipped: the gradients are dropped, the optimizer, its moments and
the lr schedule's optimizer step stay untouched, ``nonfinite_skips`` is
incremented, rank 0 logs one warning naming the iteration and the ranks, and
``train/nonfinite_skip`` (1 for a skipped update, else 0) goes to the log.
What happens next (stop, or skip and continue) is the policy of
:class:`~sar_mm.engine.hooks.NonFiniteLossHook`, which also names the loss
terms.

With float16 loss scaling (``SkipNonFiniteAmpOptimWrapper`` on CUDA),
overflowing gradients are the normal signal of the ``GradScaler`` and stay its
business; only a non-finite loss counts here.
"""
import logging
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper as MMEngineOptimWrapper

from sar_mm.registry import OPTIM_WRAPPERS

__all__ = ['SkipNonFiniteOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(MMEngineOptimWrapper):
    """``mmengine.optim.OptimWrapper`` that skips non-finite updates.

    Arguments as for ``mmengine.optim.OptimWrapper``.

    Attributes:
        nonfinite_skips (int): updates skipped so far in this process.
        last_skip (dict | None): the latest skipped update: ``iter`` (0-based
            training iteration), ``loss`` (float, this rank's), ``nonfinite_grads``
            (names or indices of parameters with non-finite gradients, at most
            10) and ``ranks`` (the ranks whose loss or gradients were non-finite).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        super().__init__(optimizer, accumulative_counts=accumulative_counts, clip_grad=clip_grad)
        self.nonfinite_skips = 0
        self.last_skip: Optional[Dict] = None
        self._param_names: Dict[int, str] = {}

    def _checks_grads(self) -> bool:
        """Whether non-finite gradients count as a fault (not with loss scaling)."""
        return True

    def _params_with_grad(self) -> List[torch.nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group['params']
                if p.grad is not None]

    def _nonfinite_ranks(self, loss: torch.Tensor) -> List[int]:
        """Ranks whose loss or gradients are non-finite (one collective when distributed)."""
        finite = torch.isfinite(loss.detach()).all()
        grads = [p.grad for p in self._params_with_grad()] if self._checks_grads() else []
        if grads:
            # the max-norm is finite exactly when every entry is (no overflow, unlike L2)
            finite = finite & torch.isfinite(
                torch.nn.utils.get_total_norm(grads, norm_type=float('inf')))
        flags = torch.zeros(get_world_size(), device=loss.device)
        flags[get_rank()] = (~finite).float()
        all_reduce(flags)  # a no-op in a single process
        return flags.nonzero().flatten().tolist()

    def _skip_update(self, loss: torch.Tensor, ranks: List[int]) -> None:
        names = [self._param_names.get(id(p), f'param {i}')
                 for i, p in enumerate(self._params_with_grad())
                 if not torch.isfinite(p.grad).all()]
        iteration = self.message_hub.get_info('iter', -1)
        self.nonfinite_skips += 1
        self.last_skip = dict(iter=iteration, loss=float(loss.detach().float().sum()),
                              nonfinite_grads=names[:10], ranks=ranks)
        world_size = get_world_size()
        if get_rank() != 0:
            return
        where = '' if world_size == 1 else (
            f' on all {world_size} ranks (non-finite on rank {", ".join(map(str, ranks))}; '
            'rank 0\'s values follow)')
        print_log(f'non-finite update skipped at iteration {iteration + 1}{where}: loss '
                  f'{self.last_skip["loss"]}, {len(names)} parameter(s) with non-finite '
                  f'gradients; {self.nonfinite_skips} skipped so far', logger='current',
                  level=logging.WARNING)

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """Backward, then step unless the loss or a gradient is non-finite.

        Args:
            loss (Tensor): the scalar training loss.
            step_kwargs (dict, optional): for ``optimizer.step``.
            zero_kwargs (dict, optional): for ``optimizer.zero_grad``.
        """
        loss = self.scale_loss(loss)
        self.backward(loss)
        if self.should_update():
            ranks = self._nonfinite_ranks(loss)
            if ranks:
                self._skip_update(loss, ranks)
            else:
                self.step(**(step_kwargs or {}))
            self.message_hub.update_scalar('train/nonfinite_skip', float(bool(ranks)))
            self.zero_grad(**(zero_kwargs or {}))

    @contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        """MMEngine's context; also learns the parameter names for the skip messages."""
        if not self._param_names:
            self._param_names = {id(p): name.removeprefix('module.')
                                 for name, p in model.named_parameters()}
        with super().optim_context(model):
            yield
