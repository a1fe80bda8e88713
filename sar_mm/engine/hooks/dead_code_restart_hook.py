"""Re-seed dead codes of a codebook being trained from recent encoder outputs.

Random restarts (Dhariwal et al. 2020, Jukebox, section 3.2): the hook keeps
the last ``buffer_size`` vectors the codes were matched against (every scale of
VAR's residual quantiser; unit vectors for ``FlexVQVAE``'s L2-normalised
codebook) and the hit count of every code since the last restart. Every
``interval`` iterations, each code selected fewer than ``min_hits`` times is
replaced by a distinct buffered vector, and the counts start again. Draws come
from the hook's own generator; its state, the counts and the buffer go into
every checkpoint, so a resumed run restarts exactly the codes, with exactly
the vectors, of the uninterrupted one. With several ranks the counts are
summed, rank 0 draws and its codebook is broadcast.

The optimizer's moments of a restarted row are kept.
"""
from typing import Optional

import torch
from mmengine.dist import all_reduce, broadcast
from mmengine.hooks import Hook
from mmengine.logging import print_log

from sar_mm.models.tokenizers.codebook_seeding import sample_rows
from sar_mm.registry import HOOKS
from .tokenizer_training import tokenizer_trainer

__all__ = ['DeadCodeRestartHook']

_CHECKPOINT_KEY = 'dead_code_restart_hook'


@HOOKS.register_module()
class DeadCodeRestartHook(Hook):
    """Replace codes selected fewer than ``min_hits`` times every ``interval`` iterations.

    Args:
        interval (int): iterations between restarts.
        min_hits (int): a code selected fewer times since the last restart is dead.
        buffer_size (int): recent encoder vectors kept to draw from.
        seed (int): seed of the hook's generator.
    """

    # after the optimizer step, before RNGStateHook (80) and CheckpointHook (VERY_LOW)
    priority = 'NORMAL'

    def __init__(self, interval: int = 100, min_hits: int = 1, buffer_size: int = 16384,
                 seed: int = 0) -> None:
        if interval < 1 or min_hits < 1 or buffer_size < 1:
            raise ValueError('interval, min_hits and buffer_size must be >= 1, got '
                             f'{interval}, {min_hits}, {buffer_size}')
        self.interval = interval
        self.min_hits = min_hits
        self.buffer_size = buffer_size
        self.seed = seed
        self._hits: Optional[torch.Tensor] = None  # (V,) int64 since the last restart
        self._buffer: Optional[torch.Tensor] = None  # (<= buffer_size, C) float32, oldest first
        self._generator = torch.Generator()
        self._loaded: Optional[dict] = None

    def before_train(self, runner) -> None:
        model = tokenizer_trainer(runner, type(self).__name__)
        weight = model.codebook.weight
        self._hits = torch.zeros(weight.shape[0], dtype=torch.long)
        self._buffer = torch.zeros(0, weight.shape[1])
        self._generator.manual_seed(self.seed)
        if self._loaded is not None and runner.iter > 0:  # resumed, not ``load_from``
            self._hits.copy_(self._loaded['hits'])
            self._buffer = self._loaded['buffer'].clone()
            self._generator.set_state(self._loaded['generator'])
        self._loaded = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = tokenizer_trainer(runner, type(self).__name__)
        idx_list, vectors = model.last_matched
        idx = torch.cat([idx.flatten() for idx in idx_list]).cpu()
        self._hits += torch.bincount(idx, minlength=self._hits.numel())
        recent = torch.cat([self._buffer, torch.cat(vectors).float().cpu()])
        self._buffer = recent[-self.buffer_size:]
        if not self.every_n_train_iters(runner, self.interval):
            return
        all_reduce(self._hits, op='sum')
        dead = (self._hits < self.min_hits).nonzero().flatten()
        weight = model.codebook.weight
        if dead.numel():
            new = sample_rows(self._buffer, dead.numel(), self._generator)
            with torch.no_grad():
                weight[dead.to(weight.device)] = new.to(weight.device, weight.dtype)
                broadcast(weight.data, src=0)
        print_log(f'DeadCodeRestartHook: re-seeded {dead.numel()} of {weight.shape[0]} codes '
                  f'(selected < {self.min_hits} times in {self.interval} iterations)',
                  logger='current')
        self._hits.zero_()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._hits is not None:
            checkpoint[_CHECKPOINT_KEY] = dict(hits=self._hits.clone(),
                                               buffer=self._buffer.clone(),
                                               generator=self._generator.get_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get(_CHECKPOINT_KEY)
