"""ClassLabelDataset: labels, seeds and indices independent of ranks and batch size."""
from collections import Counter

import mmengine.dataset.sampler as mm_sampler
import pytest
import torch
from mmengine.dataset import DefaultSampler, default_collate
from torch.utils.data import DataLoader

from sar_mm.datasets import ClassLabelDataset
from sar_mm.registry import DATASETS


def test_labels_seeds_and_indices():
    dataset = DATASETS.build(
        dict(type='ClassLabelDataset', num_classes=4, samples_per_class=3, base_seed=100))
    assert len(dataset) == 12
    # sample 7 is the second sample (7 - 2 * 3 = 1) of class 2
    assert dataset[7] == dict(data_samples=dict(labels=2, seeds=107, sample_idx=7))
    assert dataset[0] == dict(data_samples=dict(labels=0, seeds=100, sample_idx=0))
    assert dataset[11] == dict(data_samples=dict(labels=3, seeds=111, sample_idx=11))
    assert dataset.metainfo == dict(num_classes=4, samples_per_class=3)


def test_shuffled_labels_are_balanced_and_rank_independent():
    settings = dict(num_classes=5, samples_per_class=4, shuffle_labels=True, label_seed=3)
    first = ClassLabelDataset(**settings)
    second = ClassLabelDataset(**settings)
    labels = [first[i]['data_samples']['labels'] for i in range(len(first))]
    assert labels == [second[i]['data_samples']['labels'] for i in range(len(second))]
    assert Counter(labels) == {c: 4 for c in range(5)}
    assert labels != sorted(labels)
    # seeds stay tied to the index, not to the label
    assert [first[i]['data_samples']['seeds'] for i in range(20)] == list(range(20))


def test_indices_subset_keeps_identity():
    full = ClassLabelDataset(num_classes=3, samples_per_class=2, base_seed=7)
    subset = ClassLabelDataset(num_classes=3, samples_per_class=2, base_seed=7, indices=[5, 1])
    assert len(subset) == 2
    assert subset[0] == full[5]
    assert subset[1] == full[1]
    with pytest.raises(IndexError):
        ClassLabelDataset(num_classes=3, samples_per_class=2, indices=[6])
    with pytest.raises(ValueError):
        ClassLabelDataset(num_classes=0)


def items_seen(dataset, world_size: int, batch_size: int, monkeypatch) -> list:
    """(sample_idx, label, seed) of every item all ranks process, padding included."""
    seen = []
    for rank in range(world_size):
        monkeypatch.setattr(mm_sampler, 'get_dist_info', lambda r=rank: (r, world_size))
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=DefaultSampler(dataset, shuffle=False),
            collate_fn=default_collate)
        for batch in loader:
            samples = batch['data_samples']
            assert samples['labels'].dtype == torch.int64
            seen += list(zip(samples['sample_idx'].tolist(), samples['labels'].tolist(),
                             samples['seeds'].tolist()))
    return seen


@pytest.mark.parametrize('world_size,batch_size', [(2, 3), (3, 2), (4, 5)])
def test_generated_set_independent_of_ranks_and_batch_size(world_size, batch_size, monkeypatch):
    dataset = ClassLabelDataset(num_classes=3, samples_per_class=3, base_seed=10,
                                shuffle_labels=True)
    reference = set(items_seen(dataset, 1, 4, monkeypatch))
    assert len(reference) == 9
    seen = items_seen(dataset, world_size, batch_size, monkeypatch)
    assert len(seen) >= 9  # the sampler pads the last ranks with repeated indices
    assert set(seen) == reference  # every (sample_idx, label, seed) once after dedupe
