"""Class labels and seeds for class-conditional sampling (FID protocol, docs/method.md §6.2)."""
from typing import Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from sar_mm.registry import DATASETS

__all__ = ['ClassLabelDataset']


@DATASETS.register_module()
class ClassLabelDataset(Dataset):
    """``samples_per_class`` samples of each of ``num_classes`` classes.

    Sample ``i`` (``0 <= i < num_classes * samples_per_class``) has

    * label ``i // samples_per_class``, or, with ``shuffle_labels``, entry ``i``
      of that label list permuted by ``numpy.random.RandomState(label_seed)``
      (a pure function of ``label_seed``, hence identical on every rank; the
      official ``eval_c2i.py`` shuffles unseeded per rank, docs/method.md §7.32);
    * seed ``base_seed + i``;
    * ``sample_idx`` ``i``.

    The generated set therefore depends neither on the number of GPUs nor on
    the batch size, provided the generator draws each sample from its own seed.
    Items are ``dict(data_samples=dict(labels=int, seeds=int, sample_idx=int))``;
    with ``default_collate`` a batch becomes ``dict(data_samples=dict(labels=
    LongTensor (B,), seeds=(B,), sample_idx=(B,)))``.

    Args:
        num_classes: number of classes (1000 for ImageNet).
        samples_per_class: samples per class (50 for the 50k FID set).
        base_seed: seed of sample 0.
        shuffle_labels: permute the label list (see above).
        label_seed: seed of that permutation.
        indices: optional subset of sample indices to serve (e.g. the samples
            an interrupted run has not written yet); items keep their own
            ``sample_idx``, label and seed.
    """

    def __init__(self,
                 num_classes: int = 1000,
                 samples_per_class: int = 50,
                 base_seed: int = 0,
                 shuffle_labels: bool = False,
                 label_seed: int = 0,
                 indices: Optional[Sequence[int]] = None) -> None:
        if num_classes < 1 or samples_per_class < 1:
            raise ValueError('num_classes and samples_per_class must be positive, got '
                             f'{num_classes} and {samples_per_class}')
        self.num_classes = num_classes
        self.samples_per_class = samples_per_class
        self.base_seed = base_seed
        self.num_total = num_classes * samples_per_class
        labels = np.arange(self.num_total, dtype=np.int64) // samples_per_class
        if shuffle_labels:
            labels = labels[np.random.RandomState(label_seed).permutation(self.num_total)]
        self.labels = labels
        if indices is None:
            self.indices = np.arange(self.num_total, dtype=np.int64)
        else:
            self.indices = np.asarray(list(indices), dtype=np.int64)
            out_of_range = (self.indices < 0) | (self.indices >= self.num_total)  # (len(indices),)
            if out_of_range.any():
                raise IndexError(f'indices must lie in [0, {self.num_total}), got '
                                 f'[{self.indices.min()}, {self.indices.max()}]')

    @property
    def metainfo(self) -> dict:
        """Dataset meta information handed to evaluators and visualizers."""
        return dict(num_classes=self.num_classes, samples_per_class=self.samples_per_class)

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index: int) -> dict:
        sample_idx = int(self.indices[index])
        return dict(
            data_samples=dict(
                labels=int(self.labels[sample_idx]),
                seeds=self.base_seed + sample_idx,
                sample_idx=sample_idx))
