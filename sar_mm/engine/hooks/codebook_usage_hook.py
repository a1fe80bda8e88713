"""Codebook usage, perplexity and dead codes of a tokenizer being trained.

Counts the codes the trained batches selected (every scale of VAR's residual
quantiser counts towards its one shared codebook; ``FlexVQVAE`` codes are
selected by direction, as its L2-normalised lookup does) over windows of
``interval`` iterations, and writes at the end of each window, through the
message hub, ``codebook/usage`` (% of the ``V`` codes selected at least once),
``codebook/perplexity`` (``exp`` of the entropy of the code frequencies; ``V``
when all codes are used equally) and ``codebook/dead_codes``; ``LoggerHook``
then prints them and sends them to the visualizer. A warning names the
fraction when the usage falls below ``warn_below``. The counts of the open
window are saved in checkpoints, so a resumed run logs what the uninterrupted
one logs.
"""
import logging
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from sar_mm.registry import HOOKS
from .tokenizer_training import tokenizer_trainer

__all__ = ['CodebookUsageHook', 'codebook_stats']

_CHECKPOINT_KEY = 'codebook_usage_hook'


def codebook_stats(hits: torch.Tensor) -> Dict[str, float]:
    """Usage (%), perplexity and dead-code count of per-code hit counts.

    Args:
        hits (Tensor): (V,) how often each code was selected.

    Returns:
        dict: ``usage`` (%), ``perplexity``, ``dead_codes``.
    """
    hits = hits.double()
    used = int((hits > 0).sum())
    total = float(hits.sum())
    if total == 0:
        return dict(usage=0.0, perplexity=0.0, dead_codes=hits.numel())
    p = hits[hits > 0] / total
    return dict(usage=100.0 * used / hits.numel(),
                perplexity=math.exp(float(-(p * p.log()).sum())),
                dead_codes=hits.numel() - used)


@HOOKS.register_module()
class CodebookUsageHook(Hook):
    """Log codebook usage, perplexity and dead codes every ``interval`` iterations.

    Args:
        interval (int): iterations per window; set it to the ``LoggerHook``
            interval so that every logged line shows a fresh window.
        warn_below (float): warn when the fraction of codes used in a window
            is below this (0 disables the warning).
    """

    # before LoggerHook (BELOW_NORMAL), which logs the message hub's scalars
    priority = 'NORMAL'

    def __init__(self, interval: int = 50, warn_below: float = 0.5) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if not 0 <= warn_below <= 1:
            raise ValueError(f'warn_below is a fraction in [0, 1], got {warn_below}')
        self.interval = interval
        self.warn_below = warn_below
        self._hits: Optional[torch.Tensor] = None  # (V,) int64 counts of the open window
        self._loaded: Optional[torch.Tensor] = None

    def before_train(self, runner) -> None:
        model = tokenizer_trainer(runner, type(self).__name__)
        self._hits = torch.zeros(model.codebook.num_embeddings, dtype=torch.long)
        if self._loaded is not None and runner.iter > 0:  # resumed, not ``load_from``
            self._hits.copy_(self._loaded)
        self._loaded = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = tokenizer_trainer(runner, type(self).__name__)
        idx_list, _ = model.last_matched
        idx = torch.cat([idx.flatten() for idx in idx_list]).cpu()
        self._hits += torch.bincount(idx, minlength=self._hits.numel())
        if not self.every_n_train_iters(runner, self.interval):
            return
        stats = codebook_stats(self._hits)
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/codebook/{key}', value)
        fraction = stats['usage'] / 100
        if fraction < self.warn_below:
            print_log(f'codebook usage {fraction:.2f}: {self._hits.numel() - stats["dead_codes"]} '
                      f'of {self._hits.numel()} codes selected in the last {self.interval} '
                      f'iterations (warn_below={self.warn_below})', logger='current',
                      level=logging.WARNING)
        self._hits.zero_()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._hits is not None:
            checkpoint[_CHECKPOINT_KEY] = dict(hits=self._hits.clone())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(_CHECKPOINT_KEY)
        self._loaded = None if saved is None else saved['hits']
