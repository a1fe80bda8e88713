import pytest
import torch

from sar_mm.models.data_preprocessors import GeneratorDataPreprocessor, to_symmetric_range
from sar_mm.registry import MODELS


def test_uint8_and_float_images_map_to_symmetric_range():
    u8 = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 3, 1, 1)
    torch.testing.assert_close(to_symmetric_range(u8).flatten(),
                               torch.tensor([-1.0, 1.0, 51 / 127.5 - 1]))
    f = torch.tensor([0.0, 1.0, 0.25]).view(1, 3, 1, 1)
    torch.testing.assert_close(to_symmetric_range(f).flatten(), torch.tensor([-1.0, 1.0, -0.5]))
    with pytest.raises(TypeError):
        to_symmetric_range(torch.zeros(1, 3, 1, 1, dtype=torch.int32))


def test_default_collate_batch():
    pre = MODELS.build(dict(type='GeneratorDataPreprocessor'))
    batch = dict(inputs=torch.full((2, 3, 4, 4), 255, dtype=torch.uint8),
                 data_samples=dict(labels=torch.tensor([3, 4])))
    out = pre(batch, training=True)
    assert out['inputs'].dtype == torch.float32 and torch.all(out['inputs'] == 1.0)
    assert torch.equal(out['data_samples']['labels'], torch.tensor([3, 4]))


def test_pseudo_collate_batch_and_label_only_batch():
    pre = GeneratorDataPreprocessor()
    batch = dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)] * 3,
                 data_samples=[dict(labels=1), dict(labels=2), dict(labels=3)])
    out = pre(batch)
    assert out['inputs'].shape == (3, 3, 4, 4) and torch.all(out['inputs'] == -1.0)
    assert torch.equal(out['data_samples']['labels'], torch.tensor([1, 2, 3]))

    sampling = dict(data_samples=dict(labels=[5, 6], seeds=[10, 11], sample_idx=[0, 1]))
    out = pre(sampling)
    assert out['inputs'] is None
    assert out['data_samples']['seeds'].dtype == torch.int64
    assert torch.equal(out['data_samples']['sample_idx'], torch.tensor([0, 1]))
