"""Fixtures of the rollout tests."""
import pytest
import torch

from rollout_helpers import build_tiny_pair


@pytest.fixture
def tiny_flexvar():
    """(tokenizer, backbone, labels, GT token maps, patch_nums)."""
    tokenizer, backbone = build_tiny_pair()
    patch_nums = [1, 2, 3, 4, 6, 8]
    img = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
    idx_list = tokenizer.img_to_idx(img, patch_nums)
    labels = torch.tensor([3, 7])
    return tokenizer, backbone, labels, idx_list, patch_nums
