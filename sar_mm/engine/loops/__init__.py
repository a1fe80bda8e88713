"""Training loops."""
from .mid_epoch_resumable_train_loop import MidEpochResumableTrainLoop

__all__ = ['MidEpochResumableTrainLoop']
