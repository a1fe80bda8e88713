"""Epoch-based training that resumes in the middle of an epoch.

MMEngine 0.10.7's ``EpochBasedTrainLoop`` restores ``epoch`` and ``iter`` from
a checkpoint but always restarts the interrupted epoch from its first batch:
a run resumed from a checkpoint written inside an epoch (``CheckpointHook``
with ``by_epoch=False``) trains the epoch's first batches twice and runs more
iterations than ``max_epochs * len(dataloader)``, past the end of the lr
schedule, without any warning.

This loop (configs select it with ``type='MidEpochResumableTrainLoop'``;
``type='EpochBasedTrainLoop'`` stays MMEngine's loop) continues the interrupted
epoch at the batch after the checkpoint instead: it draws the epoch's batches as
the uninterrupted run did (same sampler order; the same worker seeds when
``RNGStateHook`` restores the epoch-start RNG state) and discards the ones
already trained, like MMEngine's ``IterBasedTrainLoop`` does on resume. A
checkpoint written after an epoch's last batch ends that epoch without drawing
any of its batches: the epoch's hooks run (``after_train_epoch`` steps the
by-epoch schedules and writes the epoch checkpoint, as in the uninterrupted
run) and training goes on with the next epoch.
"""
import logging

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from sar_mm.registry import LOOPS

__all__ = ['MidEpochResumableTrainLoop']


@LOOPS.register_module()
class MidEpochResumableTrainLoop(EpochBasedTrainLoop):
    """MMEngine's ``EpochBasedTrainLoop``, resuming at the epoch's next untrained batch.

    Arguments as for ``mmengine.runner.EpochBasedTrainLoop``.
    """

    def _trained_batches_of_epoch(self) -> int:
        """Batches of the current epoch already trained (0 unless resumed mid-epoch)."""
        trained = self._iter - self._epoch * len(self.dataloader)
        if not 0 <= trained <= len(self.dataloader):
            raise RuntimeError(
                f'resumed at epoch {self._epoch}, iteration {self._iter}, which does not fit '
                f'{len(self.dataloader)} batches per epoch: was the checkpoint written with '
                'another batch size, dataset or number of processes?')
        return trained

    def run_epoch(self) -> None:
        """Iterate one epoch, skipping the batches a resumed checkpoint already trained."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        trained = self._trained_batches_of_epoch()
        if trained and trained == len(self.dataloader):
            print_log(f'Resumed after the last batch of epoch {self._epoch + 1}: its batches are '
                      f'not read again; continuing with epoch {self._epoch + 2}',
                      logger='current')
        elif trained:
            print_log(f'Resuming inside epoch {self._epoch + 1}: drawing and discarding its '
                      f'first {trained} batches, which were trained before the checkpoint',
                      logger='current', level=logging.WARNING)
        if trained < len(self.dataloader):
            for idx, data_batch in enumerate(self.dataloader):
                if idx >= trained:
                    self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
