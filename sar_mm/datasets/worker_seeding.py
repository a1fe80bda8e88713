"""Seeding of DataLoader workers that a resumed run reproduces.

MMEngine's default ``worker_init_fn`` seeds worker ``w`` of rank ``r`` with the
fixed ``seed + r * num_workers + w``: every new iterator (every epoch without
persistent workers, and every resumed run) replays the same augmentation
stream. ``seed_worker_from_torch`` seeds NumPy and Python from the worker's
torch seed instead. torch draws that seed (``base_seed + w``) from the main
process's torch RNG when an iterator is created, and ``RNGStateHook`` restores
that RNG at every epoch start, so with ``persistent_workers=False`` the
augmentations of a resumed epoch equal those of the uninterrupted run, and
differ from epoch to epoch and from rank to rank (``diff_rank_seed``).

Config::

    train_dataloader = dict(num_workers=8, persistent_workers=False,
                            worker_init_fn=dict(type='seed_worker_from_torch'), ...)
"""
import random

import numpy as np
import torch

from sar_mm.registry import FUNCTIONS

__all__ = ['seed_worker_from_torch']


@FUNCTIONS.register_module()
def seed_worker_from_torch(worker_id: int) -> None:
    """Seed NumPy's and Python's global RNGs from this worker's torch seed.

    Args:
        worker_id (int): index of the worker (its seed already includes it).
    """
    seed = torch.initial_seed()  # base_seed + worker_id, drawn by the main process
    np.random.seed(seed % 2**32)
    random.seed(seed)
