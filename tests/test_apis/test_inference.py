"""init_generator / sample_images: strict loading, determinism, parity through the API."""
import argparse
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from sar_mm.apis import image_grid, init_generator, sample_images
from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
from sar_mm.models.generators import ScaleWiseAR, to_uint8_images
from sar_mm.models.utils import FLEXVAR_SAMPLED_SCALES
from sar_mm.utils.checkpoint_io import CheckpointMismatchError, CheckpointReadError

TINY = Path(__file__).resolve().parents[1] / 'data' / 'configs' / 'tiny_flexvar_sample.py'


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return init_generator(TINY)


@pytest.fixture(scope='module')
def tiny_ckpt(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=tiny.state_dict(), meta=dict(note='tiny')), path)
    return path


def test_build_from_path_or_config(tiny):
    assert isinstance(tiny, ScaleWiseAR) and not tiny.training
    assert tiny.cfg.model.backbone.depth == 1
    cfg = Config.fromfile(TINY)
    before = copy.deepcopy(cfg._cfg_dict.to_dict())
    generator = init_generator(cfg, cfg_options={'model.test_cfg.cfg': 0.5})
    assert generator.sampling.cfg == 0.5 and tiny.sampling.cfg == cfg.model.test_cfg.cfg
    assert cfg._cfg_dict.to_dict() == before  # the caller's config is left alone
    with pytest.raises(TypeError, match='file path or a Config'):
        init_generator(dict(model=cfg.model))


def test_checkpoint_round_trip(tiny, tiny_ckpt):
    torch.manual_seed(1)  # other random weights, replaced by the checkpoint's
    loaded = init_generator(TINY, str(tiny_ckpt))
    ours, theirs = loaded.state_dict(), tiny.state_dict()
    assert set(ours) == set(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert np.array_equal(sample_images(loaded, [1, 2], seed=3), sample_images(tiny, [1, 2],
                                                                              seed=3))
    # a plain state dict (no 'state_dict' nesting) loads as well
    torch.save(tiny.state_dict(), tiny_ckpt.parent / 'flat.pth')
    init_generator(TINY, str(tiny_ckpt.parent / 'flat.pth'))


@pytest.mark.parametrize('change,message', [
    ('remove', 'missing keys: backbone.head.bias'),
    ('extra', 'unexpected keys: backbone.extra.weight'),
    ('shape', 'shape mismatches: backbone.head.bias: checkpoint (65,) vs model (64,)'),
])
def test_strict_loading_names_the_problem(tiny, tmp_path, change, message):
    state = dict(tiny.state_dict())
    if change == 'remove':
        del state['backbone.head.bias']
    elif change == 'extra':
        state['backbone.extra.weight'] = torch.zeros(2)
    else:
        state['backbone.head.bias'] = torch.zeros(65)
    torch.save(dict(state_dict=state), tmp_path / 'bad.pth')
    with pytest.raises(CheckpointMismatchError, match='bad.pth does not fit the generator') as e:
        init_generator(TINY, str(tmp_path / 'bad.pth'))
    assert message in str(e.value)


def test_pickled_objects_need_trust(tiny, tmp_path):
    path = tmp_path / 'train.pth'
    torch.save(dict(state_dict=tiny.state_dict(), meta=argparse.Namespace(epoch=3)), path)
    with pytest.raises(CheckpointReadError, match=r'train\.pth holds Python objects besides '
                       r'tensors \(argparse\.Namespace\).*trust_checkpoint=True'):
        init_generator(TINY, str(path))
    init_generator(TINY, str(path), trust_checkpoint=True)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_generator(TINY, str(tmp_path / 'missing.pth'))
    torch.save(dict(state_dict=dict(note='not a tensor')), tmp_path / 'odd.pth')
    with pytest.raises(CheckpointMismatchError, match=r"odd\.pth has no state dict of tensors: "
                       r"its \['state_dict'\] .* entries include non-tensors \['note'\]"):
        init_generator(TINY, str(tmp_path / 'odd.pth'))
    (tmp_path / 'noise.pth').write_bytes(bytes(range(256)) * 4)
    for trust in (False, True):
        with pytest.raises(CheckpointReadError, match=r'noise\.pth is not a checkpoint: '):
            init_generator(TINY, str(tmp_path / 'noise.pth'), trust_checkpoint=trust)


def test_sampling_is_deterministic(tiny):
    labels = [1, 2, 3]
    first = sample_images(tiny, labels, seed=7)
    assert first.shape == (3, 8, 8, 3) and first.dtype == np.uint8
    assert np.array_equal(first, sample_images(tiny, labels, seed=7))
    assert not np.array_equal(first, sample_images(tiny, labels, seed=8))
    # per-sample seeds: an image does not depend on the rest of the batch
    batch = sample_images(tiny, labels, seeds=[4, 5, 6])
    assert np.array_equal(batch[1:2], sample_images(tiny, [2], seeds=[5]))
    # the same numbers as ScaleWiseAR.generate, channel-last
    images = tiny.generate(torch.tensor(labels), seeds=[4, 5, 6])['images']
    assert torch.equal(sample_images(tiny, labels, seeds=[4, 5, 6], as_numpy=False),
                       images.permute(0, 2, 3, 1))


def test_scale_images_and_grid(tiny):
    images, scales = sample_images(tiny, [0, 9], seeds=[1, 2], return_scale_images=True)
    pns = tiny.sampling.patch_nums
    side = pns[-1] * tiny.tokenizer.downsample
    assert [s.shape for s in scales] == [(2, pn * tiny.tokenizer.downsample,
                                          pn * tiny.tokenizer.downsample, 3) for pn in pns]
    assert np.array_equal(scales[-1], images)
    grid = image_grid(images, scales)  # one row per scale, 2 px white padding
    assert grid.shape == (len(pns) * (side + 2) + 2, 2 * (side + 2) + 2, 3)
    assert np.array_equal(grid[-side - 2:-2, 2:side + 2], images[0])
    assert (grid[:2] == 255).all()
    assert image_grid(images, nrow=1).shape == (2 * (side + 2) + 2, side + 4, 3)


def test_sampling_argument_errors(tiny):
    num_classes = tiny.backbone.num_classes
    sample_images(tiny, [num_classes], seed=0)  # the unconditional class is allowed
    with pytest.raises(ValueError, match=r'class ids in \[0, 10\]'):
        sample_images(tiny, [num_classes + 1])
    with pytest.raises(ValueError, match='got 1 seeds for 2 labels'):
        sample_images(tiny, [1, 2], seeds=[3])
    with pytest.raises(ValueError, match=r'test_cfg.top_p must be a number in \[0, 1\]'):
        sample_images(tiny, [1, 2], top_p=1.5)
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training"):
        sample_images(tiny, [1, 2], cfg_schedule='sar_rollout')
    with pytest.raises(KeyError, match=r"unknown test_cfg keys \['temp'\]"):
        sample_images(tiny, [1, 2], temp=1.0)


def test_settings_per_call_as_keywords_or_as_one_object(tiny):
    keywords = sample_images(tiny, [1, 2], seeds=[3, 4], cfg=0.0, cfg_schedule='llamagen',
                             top_k=2, patch_nums=[1, 2])
    settings = tiny.sampling.replace(cfg=0.0, cfg_schedule='llamagen', top_k=2,
                                     patch_nums=[1, 2])
    assert np.array_equal(keywords, sample_images(tiny, [1, 2], seeds=[3, 4], sampling=settings))
    assert keywords.shape == (2, 4, 4, 3)  # last scale 2 x downsample 2
    assert tiny.sampling.patch_nums == (1, 2, 4)  # the generator keeps its own settings


def test_converted_release_reproduces_the_official_sample(reference_dir, tmp_path):
    """flexvar_small converted and loaded through the API: the official FlexVAR sample.

    The fixture's ``ar_img`` (raw decoder output of ``autoregressive_infer_cfg``
    with top-k 1) mapped to uint8 like every sar_mm image; one grey level of
    slack for float rounding at the quantisation boundary.
    """
    var = torch.load(reference_dir / 'flexvar_small.pt', map_location='cpu', weights_only=True)
    vae = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    with open(reference_dir / 'flexvar_small.json', encoding='utf-8') as f:
        setting = json.load(f)['config']
    converted = convert_flexvar_checkpoints(var['state_dict'], vae['state_dict'])
    torch.save(converted, tmp_path / 'flexvar_small_sarmm.pth')
    config = Config(dict(model=dict(
        type='ScaleWiseAR', tokenizer=converted['meta']['tokenizer'],
        backbone=converted['meta']['backbone'],
        test_cfg=dict(patch_nums=list(var['patch_nums']), cfg=setting['ar_cfg'],
                      cfg_schedule='flexvar', top_k=1, top_p=0.0, max_pn=16,
                      sampled_scales=FLEXVAR_SAMPLED_SCALES))))
    generator = init_generator(config, str(tmp_path / 'flexvar_small_sarmm.pth'))
    images = sample_images(generator, var['ar_label_B'], seed=setting['ar_seed'],
                           as_numpy=False)
    expected = to_uint8_images(var['ar_img']).permute(0, 2, 3, 1)
    assert (images.int() - expected.int()).abs().max() <= 1
