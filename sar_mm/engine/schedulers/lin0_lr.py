"""The ``lin0`` learning-rate schedule of the official VAR / FlexVAR / SAR trainers.

The official trainers set the lr of every iteration from a closed form
(``utils/lr_control.py: lr_wd_annealing`` with ``--sche lin0``) over the whole
pretraining horizon of ``ep`` epochs: a linear warmup from ``wp0 = 0.005`` of
the peak over ``wp = ep / 50`` epochs, a flat 5 % of the remaining iterations,
then a linear decay that reaches ``wpe`` times the peak at the last iteration
of epoch ``ep``. SAR post-training resumes a pretraining checkpoint at epoch
``start_epoch`` and keeps walking that schedule, so its lr is the tail of the
pretraining curve (docs/training_on_a_cluster.md, "Schedules").

:class:`Lin0LR` computes exactly that value for each iteration, from the
optimizer's lr as the peak (``tblr x global batch / 256`` in the official
scripts) and the run's real epoch length, so it stays right when the global
batch, the dataset or ``--auto-scale-lr`` change the numbers.
"""
from typing import List, Optional

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from sar_mm.registry import PARAM_SCHEDULERS

__all__ = ['lin0_lr_factor', 'Lin0LR']


def lin0_lr_factor(cur_it: int, iters_per_epoch: int, total_epochs: float, final_ratio: float,
                   warmup_epochs: Optional[float] = None, warmup_start: float = 0.005,
                   flat_fraction: float = 0.05) -> float:
    """The official ``lin0`` lr of global iteration ``cur_it``, as a fraction of the peak.

    Args:
        cur_it (int): iteration counted from the start of pretraining
            (``epoch x iters_per_epoch + iteration``).
        iters_per_epoch (int): iterations per epoch.
        total_epochs (float): the schedule's horizon (``--ep``).
        final_ratio (float): lr at the last iteration over the peak (``--wpe``).
        warmup_epochs (float, optional): warmup length (``--wp``); default
            ``total_epochs / 50`` as the official argument parser sets it.
        warmup_start (float): lr at iteration 0 over the peak (``wp0``).
        flat_fraction (float): share of the post-warmup iterations held at the
            peak (0.05 for ``lin0``).

    Returns:
        float: the factor; the official code multiplies the peak lr by it.
    """
    if warmup_epochs is None:
        warmup_epochs = total_epochs / 50
    warmup_it = round(warmup_epochs * iters_per_epoch)
    max_it = total_epochs * iters_per_epoch
    if cur_it < warmup_it:
        return warmup_start + (1 - warmup_start) * cur_it / warmup_it
    passed = (cur_it - warmup_it) / (max_it - 1 - warmup_it)  # 0 -> 1
    if passed < flat_fraction:
        return 1.0
    return final_ratio + (1 - final_ratio) * (1 - passed) / (1 - flat_fraction)


@PARAM_SCHEDULERS.register_module()
class Lin0LR(LRSchedulerMixin, _ParamScheduler):
    """The official ``lin0`` lr schedule, resumed at ``start_epoch`` of its horizon.

    The optimizer's lr is the peak. Iteration ``k`` of this scheduler (counted
    from ``begin``) gets ``peak x lin0_lr_factor(start_epoch x E + k, E, ...)``
    with ``E`` the epoch length, so a 10-epoch SAR run from a checkpoint of
    epoch 170 of a 180-epoch schedule walks the last 10 epochs of that curve.
    Use it epoch-based with ``convert_to_iter_based=True`` (the epoch length
    then comes from the train dataloader) and a finite ``end``. A warm-up
    scheduler in front of it (``begin > 0``) delays the walk: iteration
    ``begin`` of the run gets the lin0 value of ``start_epoch x E``.

    Args:
        optimizer: the wrapped optimizer.
        total_epochs (float): horizon of the official schedule (``--ep``).
        start_epoch (int): epochs of the schedule already run by the
            checkpoint that training starts from (0 for pretraining).
        final_ratio (float): ``--wpe``.
        warmup_epochs (float, optional), warmup_start (float),
        flat_fraction (float): as in :func:`lin0_lr_factor`.
        iters_per_epoch (int): epoch length; set by ``build_iter_from_epoch``.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers
            (iteration-based here).
    """

    def __init__(self, optimizer, total_epochs: float, final_ratio: float, start_epoch: int = 0,
                 warmup_epochs: Optional[float] = None, warmup_start: float = 0.005,
                 flat_fraction: float = 0.05, iters_per_epoch: Optional[int] = None,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = False,
                 verbose: bool = False):
        if by_epoch or iters_per_epoch is None:
            raise ValueError('Lin0LR is iteration-based: configure it with by_epoch=True and '
                             'convert_to_iter_based=True so that it learns the epoch length')
        if end == INF:
            raise ValueError('Lin0LR needs a finite end: set end to the epoch the run stops at '
                             '(train_cfg.max_epochs), so that the horizon check sees how far '
                             'it walks the schedule')
        if start_epoch + (end - begin) / iters_per_epoch > total_epochs + 1e-9:
            raise ValueError(
                f'Lin0LR runs past its horizon: start_epoch {start_epoch} + '
                f'{(end - begin) / iters_per_epoch:g} epochs > total_epochs {total_epochs}')
        self.total_epochs = total_epochs
        self.final_ratio = final_ratio
        self.start_epoch = start_epoch
        self.warmup_epochs = warmup_epochs
        self.warmup_start = warmup_start
        self.flat_fraction = flat_fraction
        self.iters_per_epoch = iters_per_epoch
        super().__init__(optimizer, begin=begin, end=end,
                         last_step=last_step, by_epoch=False, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF, by_epoch: bool = True,
                              epoch_length: Optional[int] = None, **kwargs) -> 'Lin0LR':
        """The iteration-based scheduler of an epoch-based config."""
        if not by_epoch or not epoch_length:
            raise ValueError('Lin0LR.build_iter_from_epoch needs by_epoch=True and the epoch '
                             'length')
        end = end if end == INF else int(end * epoch_length)
        return cls(*args, begin=int(begin * epoch_length), end=end, by_epoch=False,
                   iters_per_epoch=epoch_length, **kwargs)

    def _get_value(self) -> List[float]:
        # MMEngine's ``last_step`` is 0 at iteration ``begin``: it counts from ``begin``
        cur_it = self.start_epoch * self.iters_per_epoch + self.last_step
        factor = lin0_lr_factor(cur_it, self.iters_per_epoch, self.total_epochs,
                                self.final_ratio, self.warmup_epochs, self.warmup_start,
                                self.flat_fraction)
        return [base * factor for base in self.base_values]
