"""seed_worker_from_torch: worker augmentation streams follow the main process's torch RNG."""
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sar_mm.datasets import seed_worker_from_torch


class _Draws(Dataset):
    """Each item: a NumPy and a Python random draw made in the worker."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> tuple:
        return float(np.random.rand()), random.random()


def _epoch(loader: DataLoader) -> list:
    return [tuple(float(v) for v in pair) for batch in loader for pair in zip(*batch)]


def test_streams_follow_the_main_torch_rng():
    loader = DataLoader(_Draws(), batch_size=2, num_workers=2,
                        worker_init_fn=seed_worker_from_torch)
    torch.manual_seed(0)
    first, second = _epoch(loader), _epoch(loader)
    torch.manual_seed(0)
    assert _epoch(loader) == first  # same main state -> same worker streams (resume)
    assert second != first  # a new iterator (epoch) gets new streams
    torch.manual_seed(1)
    assert _epoch(loader) != first
    assert len(set(first)) == 4  # the two workers do not repeat each other
