"""PackGeneratorInputs: layout and dtype of the packed sample."""
import numpy as np
import pytest
import torch

from sar_mm.datasets import PackGeneratorInputs


def test_pack_layout():
    img = np.zeros((4, 5, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 20, 30
    img[1, 2] = (1, 2, 3)
    out = PackGeneratorInputs()(dict(img=img, gt_label=np.int64(7), img_path='x'))
    assert set(out) == {'inputs', 'data_samples'}
    assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape == (3, 4, 5)
    assert out['inputs'][:, 0, 0].tolist() == [10, 20, 30]
    assert out['inputs'][:, 1, 2].tolist() == [1, 2, 3]
    assert out['data_samples'] == dict(labels=7) and type(out['data_samples']['labels']) is int


def test_pack_rejects_float_images():
    with pytest.raises(ValueError, match='uint8'):
        PackGeneratorInputs()(dict(img=np.zeros((4, 4, 3), np.float32), gt_label=0))
