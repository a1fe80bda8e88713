"""LatentDataset: cached tokenizer latents equal the encoder's output, views and checks."""
import json

import numpy as np
import pytest
import torch
from mmcv.transforms import RandomFlip
from mmengine.dataset import default_collate

from sar_mm.apis import extract_latents, latent_source_config, save_latent_file
from sar_mm.datasets import (LatentDataset, PackGeneratorInputs, RandomLatentFlip,
                             SyntheticShapesDataset)
from sar_mm.models.data_preprocessors import GeneratorDataPreprocessor, to_symmetric_range
from sar_mm.registry import TOKENIZERS

SOURCE = dict(type='SyntheticShapesDataset', num_samples=6, image_size=16, seed=7)
PIPELINE = [dict(type='RandomLatentFlip', prob=0.5), dict(type='PackLatentInputs')]


@pytest.fixture(scope='module')
def tokenizer():
    torch.manual_seed(0)
    return TOKENIZERS.build(dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1),
                                 num_res_blocks=1, vocab_size=32, embed_dim=4,
                                 usage_buffer_size=8))


@pytest.fixture
def latent_file(tokenizer, tmp_path):
    source, pipeline, hflip = latent_source_config(dict(
        SOURCE, pipeline=[dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                          dict(type='PackGeneratorInputs')]))
    assert hflip and source == SOURCE and [t['type'] for t in pipeline] == ['PackGeneratorInputs']
    content = extract_latents(tokenizer, source, pipeline, batch_size=4)
    path = tmp_path / 'latents.npz'
    save_latent_file(str(path), content, dict(source=source))
    return path


def test_file_holds_the_encoder_latents_of_each_image_and_its_mirror(tokenizer, latent_file):
    images = SyntheticShapesDataset(num_samples=6, image_size=16, seed=7,
                                    pipeline=[PackGeneratorInputs()])
    batch = default_collate([images[i] for i in range(6)])
    x = to_symmetric_range(batch['inputs'])  # (6, 3, 16, 16)
    with torch.no_grad():
        expected = torch.stack([tokenizer.encode_latent(x), tokenizer.encode_latent(x.flip(-1))],
                               dim=1)  # (6, 2, 4, 8, 8)
    with np.load(latent_file) as data:
        assert data['latents'].shape == (6, 2, 4, 8, 8) and data['latents'].dtype == np.float32
        torch.testing.assert_close(torch.from_numpy(data['latents']), expected)
        assert data['labels'].tolist() == [i % 10 for i in range(6)]
        assert list(data['views']) == ['identity', 'hflip']
        assert json.loads(str(data['meta']))['source'] == SOURCE


def test_items_pick_a_view_at_random_and_batch_without_images(latent_file):
    dataset = LatentDataset(str(latent_file), source=SOURCE, pipeline=PIPELINE)
    assert len(dataset) == 6
    with np.load(latent_file) as data:
        views = data['latents']
    np.random.seed(0)
    items = [dataset[2] for _ in range(40)]
    picked = [int(np.array_equal(it['data_samples']['latents'].numpy(), views[2, 1]))
              for it in items]
    assert all(np.array_equal(it['data_samples']['latents'].numpy(), views[2, p])
               for it, p in zip(items, picked))
    assert 5 < sum(picked) < 35  # both views, about half each
    data = GeneratorDataPreprocessor()(default_collate([dataset[i] for i in range(4)]), True)
    assert data['inputs'] is None
    assert data['data_samples']['latents'].shape == (4, 4, 8, 8)
    assert data['data_samples']['labels'].tolist() == [0, 1, 2, 3]
    assert len(LatentDataset(str(latent_file), source=SOURCE, pipeline=PIPELINE, indices=3)) == 3


def test_latents_of_other_images_are_refused(latent_file):
    with pytest.raises(ValueError, match='extracted from .*seed.*7.*extract it again'):
        LatentDataset(str(latent_file), source=dict(SOURCE, seed=8), pipeline=PIPELINE)


def test_missing_file_says_how_to_write_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/extract_latents.py'):
        LatentDataset(str(tmp_path / 'none.npz'), pipeline=PIPELINE)


def test_file_without_mirrors_cannot_flip(tokenizer, tmp_path):
    content = extract_latents(tokenizer, SOURCE, [dict(type='PackGeneratorInputs')], hflip=False)
    path = tmp_path / 'latents.npz'
    save_latent_file(str(path), content, dict(source=SOURCE))
    plain = LatentDataset(str(path), pipeline=[dict(type='PackLatentInputs')])
    assert plain[0]['data_samples']['latents'].shape == (4, 8, 8)
    with pytest.raises(KeyError, match='without --no-hflip'):
        LatentDataset(str(path), pipeline=PIPELINE)[0]


def test_random_crops_cannot_be_cached():
    with pytest.raises(ValueError, match='ADMRandomCrop'):
        latent_source_config(dict(SOURCE, pipeline=[dict(type='ADMRandomCrop', size=16),
                                                     dict(type='PackGeneratorInputs')]))
    with pytest.raises(ValueError, match='no `source`'):
        latent_source_config(dict(type='LatentDataset', latent_file='x.npz'))


def test_not_a_latent_file(tmp_path):
    path = tmp_path / 'other.npz'
    np.savez(path, arr_0=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="arrays .*'latents'.* are missing"):
        LatentDataset(str(path))


def test_flip_decisions_equal_those_of_random_flip():
    image_flip = RandomFlip(prob=0.5, direction='horizontal')
    latent_flip = RandomLatentFlip(prob=0.5)
    np.random.seed(3)
    expected = [image_flip(dict(img=np.zeros((4, 4, 3), np.uint8)))['flip'] for _ in range(64)]
    np.random.seed(3)
    got = [latent_flip(dict(latent=0, latent_hflip=1))['flip'] for _ in range(64)]
    assert got == expected and 10 < sum(got) < 54
