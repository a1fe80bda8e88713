"""FlexVAR's zero-shot schedules (docs/method.md §5.5) on a tiny model with the release's
16x tokenizer and 32 x 32 position grid: 13 steps at 256 px and 15 steps to 512 px."""
import pytest
import torch

from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.utils import FLEXVAR_SAMPLED_SCALES, autoregressive_generate
from sar_mm.testing.tiny_components import perturb_weights

STEPS_13 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16]
STEPS_512 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 23, 32]


@pytest.fixture(scope='module')
def model() -> ScaleWiseAR:
    torch.manual_seed(0)
    model = ScaleWiseAR(
        tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1, 1, 1, 2),
                       num_res_blocks=1, vocab_size=64, embed_dim=8, usage_buffer_size=16),
        backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                      pos_grid_size=32),
        # the release's test_cfg (configs/_base_/models/flexvar_d16.py), smaller top-k
        test_cfg=dict(patch_nums=(1, 2, 3, 4, 5, 6, 8, 10, 13, 16), cfg=2.5,
                      cfg_schedule='flexvar', top_k=32, top_p=0.95, max_pn=16,
                      sampled_scales=FLEXVAR_SAMPLED_SCALES)).eval()
    perturb_weights(model.backbone)
    return model


def sampled_with_logits(model, patch_nums):
    return autoregressive_generate(model.backbone, model.tokenizer, torch.tensor([3]),
                                   model.sampling.replace(patch_nums=tuple(patch_nums)),
                                   generator=torch.Generator().manual_seed(0),
                                   return_logits=True)


def drawn_as_arg_max(out):
    return [bool(torch.equal(idx, logits.argmax(-1)))
            for idx, logits in zip(out.idx_per_scale, out.logits_per_scale)]


def test_13_steps_at_256_px(model):
    out = model.generate(torch.tensor([1, 2]), seeds=[0, 1], patch_nums=STEPS_13)
    assert out['images'].shape == (2, 3, 256, 256)
    assert [m.shape[1] for m in out['idx_per_scale']] == [pn * pn for pn in STEPS_13]
    # the scales FlexVAR does not sample (7, 9, 12, 14) are drawn with top-k 1
    greedy = drawn_as_arg_max(sampled_with_logits(model, STEPS_13))
    assert [pn for pn, g in zip(STEPS_13, greedy) if g and pn > 6] == [7, 9, 12, 14]


def test_15_steps_to_512_px(model):
    out = model.generate(torch.tensor([4]), seeds=[0], patch_nums=STEPS_512)
    assert out['images'].shape == (1, 3, 512, 512)
    assert [m.shape[1] for m in out['idx_per_scale']] == [pn * pn for pn in STEPS_512]
    # above max_pn = 16 the scales are drawn with top-k 1 (and the full cfg)
    greedy = drawn_as_arg_max(sampled_with_logits(model, STEPS_512))
    assert greedy[-2:] == [True, True] and not all(greedy[:-2])


def test_scales_beyond_the_position_grid_are_refused(model):
    with pytest.raises(ValueError, match=r'scales \[48\] .* outside \[1, pos_grid_size=32\]'):
        model.generate(torch.tensor([0]), seeds=[0], patch_nums=STEPS_512 + [48])


def test_edit_on_the_13_step_schedule(model):
    """An edit runs on any schedule the tokenizer serves at the image's size."""
    images = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1
    masks = torch.zeros(1, 256, 256, dtype=torch.bool)
    masks[:, 64:192, 64:192] = True
    out = model.edit(images, masks, torch.tensor([5]), seeds=[0], patch_nums=STEPS_13)
    known = model.encode_scales(images, STEPS_13)
    assert len(out['idx_per_scale']) == 13
    for idx, inp, regen in zip(out['idx_per_scale'], known, out['regenerate_per_scale']):
        assert torch.equal(idx[~regen], inp[~regen])
    with pytest.raises(ValueError, match=r'needs \(B, 3, 512, 512\)'):
        model.edit(images, masks, torch.tensor([5]), seeds=[0], patch_nums=STEPS_512)
