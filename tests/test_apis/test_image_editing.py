"""edit_images: the uint8 editing API over ScaleWiseAR.edit, its errors and its grid."""
from pathlib import Path

import numpy as np
import pytest
import torch

from sar_mm.apis import (as_binary_masks, edit_grid, edit_images, init_generator, known_region,
                         sample_images)
from sar_mm.models.generators import to_uint8_images
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.edit_canvas import box_mask

CONFIGS = Path(__file__).resolve().parents[1] / 'data' / 'configs'


@pytest.fixture(scope='module', params=['tiny_flexvar_sample.py', 'tiny_var_sample.py'])
def tiny(request):
    torch.manual_seed(0)
    generator = init_generator(CONFIGS / request.param)
    perturb_weights(generator.backbone)
    return generator


@pytest.fixture(scope='module')
def images():
    """uint8 (3, 8, 8, 3), as sample_images returns them."""
    return np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)


def test_full_masks_are_sample_images_bit_for_bit(tiny, images):
    full = np.ones((3, 8, 8), dtype=bool)
    assert np.array_equal(edit_images(tiny, images, full, [1, 2, 3], seeds=[4, 5, 6]),
                          sample_images(tiny, [1, 2, 3], seeds=[4, 5, 6]))
    assert np.array_equal(edit_images(tiny, images, None, [1, 2, 3], seed=9),
                          sample_images(tiny, [1, 2, 3], seed=9))


def test_empty_masks_and_full_refinement_give_the_reconstruction(tiny, images):
    inputs = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    idx = tiny.encode_scales(inputs)
    expected = to_uint8_images(tiny.tokenizer.decode_idx(idx, tiny.sampling.patch_nums)[0])
    expected = expected.permute(0, 2, 3, 1).numpy()
    empty = np.zeros((3, 8, 8), dtype=np.uint8)  # 0 / 1 numbers are masks too
    assert np.array_equal(edit_images(tiny, images, empty, 2, seeds=[0, 1, 2]), expected)
    assert np.array_equal(edit_images(tiny, images, None, 2, seeds=[0, 1, 2], keep_scales=3),
                          expected)


def test_in_painting_keeps_the_outside_and_follows_the_seeds(tiny, images):
    masks = np.stack([box_mask(8, 8, (2, 2, 6, 6))] * 3)
    a = edit_images(tiny, images, masks, 4, seeds=[0, 1, 2])
    b = edit_images(tiny, images[:1], masks[:1], 4, seeds=[0])
    assert a.shape == images.shape and a.dtype == np.uint8
    assert np.array_equal(a[:1], b)  # per-sample seeds, whatever the batch
    assert not np.array_equal(a, edit_images(tiny, images, masks, 4, seeds=[3, 4, 5]))


def test_labels_default_to_unconditional_and_the_protocol_reaches_the_edit(tiny, images):
    masks = np.stack([box_mask(8, 8, (0, 0, 8, 6))] * 3)
    assert np.array_equal(edit_images(tiny, images, masks, seeds=[0, 1, 2]),
                          edit_images(tiny, images, masks, 10, seeds=[0, 1, 2]))
    notebook = edit_images(tiny, images, masks, seeds=[0, 1, 2], edit_protocol='var_notebook')
    inputs = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    expected = tiny.edit(inputs, torch.from_numpy(masks), seeds=[0, 1, 2],
                         edit_protocol='var_notebook')['images'].permute(0, 2, 3, 1).numpy()
    assert np.array_equal(notebook, expected)
    assert not np.array_equal(notebook, edit_images(tiny, images, masks, seeds=[0, 1, 2]))


def test_scale_images_and_tensors(tiny, images):
    out, scales = edit_images(tiny, torch.from_numpy(images), torch.ones(3, 8, 8), [1, 2, 3],
                              seeds=[0, 1, 2], return_scale_images=True, as_numpy=False)
    assert torch.is_tensor(out) and len(scales) == 3 and torch.equal(scales[-1], out)


def test_sampling_overrides_reach_the_sampler(tiny, images):
    full = np.ones((3, 8, 8), dtype=bool)
    assert np.array_equal(edit_images(tiny, images, full, 1, seeds=[0, 1, 2], cfg=0.5, top_k=4),
                          sample_images(tiny, [1, 1, 1], seeds=[0, 1, 2], cfg=0.5, top_k=4))


@pytest.mark.parametrize('change,error,message', [
    ('mask_size', ValueError, r'masks of shape \(3, 8, 4\) do not match the images'),
    ('mask_values', ValueError, r'masks must be binary .* found the values \[2\]'),
    ('label', ValueError, r'class labels \[11\] are outside \[0, 10\]'),
    ('label_count', ValueError, 'got 2 labels for 3 images'),
    ('seed_count', ValueError, 'got 2 seeds for 3 images'),
    ('image_dtype', ValueError, r'images must be uint8 \(B, H, W, 3\), got torch.float32'),
    ('image_size', ValueError, r'needs \(B, 3, 8, 8\)'),
    ('keep_scales', ValueError, r'keep_scales must be in \[0, 3\]'),
    ('option', KeyError, r"unknown test_cfg keys \['topk'\]"),
])
def test_bad_input_is_named(tiny, images, change, error, message):
    masks = np.ones((3, 8, 8), dtype=bool)
    kwargs = dict(images=images, masks=masks, labels=[1, 2, 3], seeds=[0, 1, 2])
    if change == 'mask_size':
        kwargs['masks'] = masks[:, :, :4]
    elif change == 'mask_values':
        kwargs['masks'] = masks.astype(np.uint8) * 2
    elif change == 'label':
        kwargs['labels'] = [1, 11, 2]
    elif change == 'label_count':
        kwargs['labels'] = [1, 2]
    elif change == 'seed_count':
        kwargs['seeds'] = [0, 1]
    elif change == 'image_dtype':
        kwargs['images'] = images.astype(np.float32)
    elif change == 'image_size':
        kwargs['images'] = np.zeros((3, 16, 16, 3), dtype=np.uint8)
        kwargs['masks'] = np.ones((3, 16, 16), dtype=bool)
    elif change == 'keep_scales':
        kwargs['keep_scales'] = 4
    else:
        kwargs['topk'] = 3
    with pytest.raises(error, match=message):
        edit_images(tiny, **kwargs)


def test_as_binary_masks():
    assert as_binary_masks(np.array([[0, 1]], dtype=np.uint8)).tolist() == [[False, True]]
    assert as_binary_masks(torch.tensor([[1.0, 0.0]])).tolist() == [[True, False]]
    with pytest.raises(ValueError, match=r'found the values \[0.5, 255.0\]'):
        as_binary_masks(np.array([0, 0.5, 1, 255]))


def test_known_region_and_grid():
    images = np.full((2, 4, 4, 3), 200, dtype=np.uint8)
    masks = np.zeros((2, 4, 4), dtype=bool)
    masks[:, :2] = True
    known = known_region(images, masks)
    assert (known[:, :2] == 128).all() and (known[:, 2:] == 200).all()
    results = np.zeros((2, 3, 4, 4, 3), dtype=np.uint8)
    grid = edit_grid(images, masks, results)
    # 2 rows of input | known region | 3 results, 4 px tiles, 2 px padding
    assert grid.shape == (2 * 6 + 2, 5 * 6 + 2, 3)
    assert (grid[2:6, 2:6] == 200).all() and (grid[2:4, 8:12] == 128).all()
    assert (grid[2:6, 14:18] == 0).all()
    with pytest.raises(ValueError, match=r'results must be \(N, R, H, W, 3\) for 2 inputs'):
        edit_grid(images, masks, results[0])
