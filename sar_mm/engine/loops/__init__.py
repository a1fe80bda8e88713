"""Training loops."""
from .epoch_based_train_loop import EpochBasedTrainLoop

__all__ = ['EpochBasedTrainLoop']
