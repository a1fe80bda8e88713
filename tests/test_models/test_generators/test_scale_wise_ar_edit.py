"""ScaleWiseAR.encode_scales / edit: zero-shot image-to-image for VAR and FlexVAR."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from sar_mm.models.generators import ScaleWiseAR, to_uint8_images
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.setup_env import register_all_modules

CONFIGS = Path(__file__).resolve().parents[2] / 'data' / 'configs'
LABELS = torch.tensor([1, 4, 7])
SEEDS = [5, 6, 7]


@pytest.fixture(scope='module', params=['tiny_flexvar_sample.py', 'tiny_var_sample.py'])
def model(request) -> ScaleWiseAR:
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(CONFIGS / request.param)).model).eval()
    perturb_weights(model.backbone)
    return model


@pytest.fixture(scope='module')
def images():
    """Three 8 px images in [-1, 1] (the tiny tokenizers' 4 x 4 latent)."""
    return torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1


def box_masks(B=3):
    masks = torch.zeros(B, 8, 8, dtype=torch.bool)
    masks[:, 2:6, 4:8] = True
    return masks


def reconstruction(model, images):
    idx = model.encode_scales(images)
    return to_uint8_images(model.tokenizer.decode_idx(idx, model.sampling.patch_nums)[0])


def test_encode_scales_are_the_tokenizers_maps(model, images):
    idx = model.encode_scales(images)
    assert [tuple(m.shape) for m in idx] == [(3, 1), (3, 4), (3, 16)]
    expected = model.tokenizer.img_to_idx(images, model.sampling.patch_nums)
    assert all(torch.equal(a, b) for a, b in zip(idx, expected))


def kept_tokens(model, images, merged):
    """What the input keeps at every scale: FlexVAR's maps of the input alone; VAR's
    residual encoding of the input continued from the merged maps before each scale."""
    pns = model.sampling.patch_nums
    if not is_var(model):
        return model.tokenizer.img_to_idx(images, pns)
    quantize = model.tokenizer.quantize
    f_rest = model.tokenizer.encode_latent(images)
    kept = []
    for si in range(len(pns)):
        kept.append(quantize.quantize_residual(f_rest, si, pns))
        f_rest = f_rest - quantize.scale_residual(merged[si], si, pns)
    return kept


def is_var(model):
    return model.tokenizer.__class__.__name__ == 'MultiScaleVQVAE'


@pytest.mark.parametrize('batch_invariant', [True, False])
def test_known_tokens_outside_the_mask_are_the_inputs_at_every_scale(model, images,
                                                                     batch_invariant):
    out = model.edit(images, box_masks(), LABELS, seeds=SEEDS, batch_invariant=batch_invariant)
    known = kept_tokens(model, images, out['idx_per_scale'])
    kept_somewhere = regenerated_somewhere = False
    for idx, inp, regen in zip(out['idx_per_scale'], known, out['regenerate_per_scale']):
        assert torch.equal(idx[~regen], inp[~regen])
        kept_somewhere |= bool((~regen).any())
        regenerated_somewhere |= bool((idx[regen] != inp[regen]).any())
    assert kept_somewhere and regenerated_somewhere
    # pixels rows 2-5, columns 4-7 are latent rows 1-2, columns 2-3 of the 4 x 4 grid
    keep, right = [False] * 4, [False, False, True, True]
    assert out['regenerate_per_scale'][2][0].view(4, 4).tolist() == [keep, right, right, keep]
    assert out['images'].shape == (3, 3, 8, 8) and out['images'].dtype == torch.uint8


def test_an_empty_mask_gives_the_reconstruction(model, images):
    out = model.edit(images, torch.zeros(3, 8, 8, dtype=torch.bool), LABELS, seeds=SEEDS)
    assert torch.equal(out['images'], reconstruction(model, images))


@pytest.mark.parametrize('batch_invariant', [True, False])
def test_a_full_mask_is_ordinary_sampling_bit_for_bit(model, images, batch_invariant):
    full = torch.ones(3, 8, 8, dtype=torch.bool)
    edited = model.edit(images, full, LABELS, seeds=SEEDS, batch_invariant=batch_invariant)
    sampled = model.generate(LABELS, seeds=SEEDS, batch_invariant=batch_invariant)
    assert torch.equal(edited['images'], sampled['images'])
    assert all(torch.equal(a, b) for a, b in zip(edited['idx_per_scale'],
                                                 sampled['idx_per_scale']))
    # one generator for the batch, as without seeds
    edited = model.edit(images, full, LABELS, generator=torch.Generator().manual_seed(3))
    sampled = model.generate(LABELS, generator=torch.Generator().manual_seed(3))
    assert torch.equal(edited['images'], sampled['images'])


def test_refinement_keeps_the_first_scales(model, images):
    full = torch.ones(3, 8, 8, dtype=torch.bool)
    out = model.edit(images, full, LABELS, seeds=SEEDS, keep_scales=3)  # all three scales
    assert torch.equal(out['images'], reconstruction(model, images))
    out = model.edit(images, full, LABELS, seeds=SEEDS, keep_scales=1)
    known = model.encode_scales(images)
    assert torch.equal(out['idx_per_scale'][0], known[0])
    assert not torch.equal(out['idx_per_scale'][2], known[2])


def test_scale_images_of_an_edit(model, images):
    out = model.edit(images, box_masks(), LABELS, seeds=SEEDS, return_scale_images=True)
    assert len(out['scale_images']) == 3
    assert torch.equal(out['scale_images'][-1], out['images'])


def test_images_of_another_size_are_refused(model):
    with pytest.raises(ValueError, match=r'needs \(B, 3, 8, 8\); resize the images'):
        model.edit(torch.zeros(3, 3, 16, 16), torch.ones(3, 16, 16, dtype=torch.bool), LABELS)


def test_masks_of_another_size_are_refused(model, images):
    with pytest.raises(ValueError, match=r'masks of shape \(3, 8, 7\) do not match'):
        model.edit(images, torch.ones(3, 8, 7, dtype=torch.bool), LABELS)


def test_a_label_per_image(model, images):
    with pytest.raises(ValueError, match='got 2 labels for 3 images'):
        model.edit(images, box_masks(), LABELS[:2])
    with pytest.raises(ValueError, match=r'class labels \[11\] are outside \[0, 10\]'):
        model.edit(images, box_masks(), torch.tensor([1, 2, 11]))


def test_without_labels_the_edit_is_unconditional(model, images):
    out = model.edit(images, box_masks(), seeds=SEEDS)
    unconditional = model.edit(images, box_masks(), torch.full((3,), 10), seeds=SEEDS)
    assert all(torch.equal(a, b) for a, b in zip(out['idx_per_scale'],
                                                  unconditional['idx_per_scale']))
    assert not torch.equal(out['images'], model.edit(images, box_masks(), LABELS,
                                                     seeds=SEEDS)['images'])


def test_the_var_notebook_protocol_keeps_the_inputs_maps_and_the_first_scale(model, images):
    masks = torch.ones(3, 8, 8, dtype=torch.bool)
    masks[:, :, :2] = False  # latent column 0 kept
    out = model.edit(images, masks, seeds=SEEDS, edit_protocol='var_notebook')
    known = model.encode_scales(images)
    regen = out['regenerate_per_scale']
    assert not regen[0].any() and torch.equal(out['idx_per_scale'][0], known[0])
    assert regen[2].all(dim=1).tolist() == [False] * 3  # the kept column, at 4 x 4
    for idx, inp, r in zip(out['idx_per_scale'], known, regen):
        assert torch.equal(idx[~r], inp[~r])
    coherent = model.edit(images, masks, seeds=SEEDS)
    assert coherent['regenerate_per_scale'][0].all()  # any masked pixel, any scale


def test_an_unknown_edit_protocol_is_named(model, images):
    with pytest.raises(ValueError, match=r"edit_protocol must be one of \['coherent', "
                       r"'var_notebook'\], got 'official'"):
        model.edit(images, box_masks(), LABELS, edit_protocol='official')


def test_a_schedule_the_model_cannot_serve(model, images):
    if is_var(model):
        # 4 px images fit the schedule [1, 2] in size, but VAR's residual tokenizer
        # serves only schedules ending at its latent side (4)
        with pytest.raises(ValueError, match='must equal the latent side 4'):
            model.edit(images[:, :, :4, :4], box_masks()[:, :4, :4], LABELS, patch_nums=[1, 2])
    else:
        with pytest.raises(ValueError, match=r'pos_grid_size=4'):  # the 6 x 6 scale
            model.edit(torch.zeros(3, 3, 12, 12), torch.ones(3, 12, 12, dtype=torch.bool),
                       LABELS, patch_nums=[1, 2, 6])
