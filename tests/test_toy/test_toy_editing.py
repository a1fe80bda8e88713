"""The class-conditional edits of the embedded pipeline request every other class."""
import torch

from sar_mm.toy.toy_editing import edit_targets


def test_edit_targets_request_every_other_class_equally_often():
    labels = torch.arange(90) % 10
    targets = edit_targets(labels)
    assert not (targets == labels).any()
    assert torch.bincount(targets, minlength=10).tolist() == [9] * 10
    for c in range(10):  # each class is sent to each of the nine others once
        assert sorted(targets[labels == c].tolist()) == [t for t in range(10) if t != c]
