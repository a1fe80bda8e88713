"""KV-cached sampling loop: FlexVAR parity (flexvar_small fixture) and cache consistency."""
import pytest
import torch

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.tokenizers import FlexVQVAE
from sar_mm.models.utils import (FLEXVAR_SAMPLED_SCALES, SamplingConfig,
                                 autoregressive_generate, greedy_from_logits)
from sar_mm.testing.tiny_components import perturb_weights


@pytest.fixture(scope='module')
def ref(flexvar_small):
    sidecar = flexvar_small['var_sidecar']
    return dict(var=flexvar_small['var'], cfg=sidecar['config'], bb=flexvar_small['backbone'],
                tok=flexvar_small['tokenizer'])


def official_flexvar_sampling(ref, patch_nums, greedy=False, **kwargs):
    """``autoregressive_infer_cfg(top_k=1, top_p=0, max_pn=16)`` as the fixture ran it."""
    cfg = ref['cfg']
    sampling = SamplingConfig(patch_nums=patch_nums, cfg=cfg['ar_cfg'], cfg_schedule='flexvar',
                              top_k=1, top_p=0.0, max_pn=16,
                              sampled_scales=FLEXVAR_SAMPLED_SCALES, greedy=greedy)
    return autoregressive_generate(ref['bb'], ref['tok'], ref['var']['ar_label_B'], sampling,
                                   generator=torch.Generator().manual_seed(cfg['ar_seed']),
                                   **kwargs)


def assert_same_tokens(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


@pytest.mark.parametrize('name', [
    'ar_idx_per_scale', 'ar_cfg_logits_per_scale', 'ar_img',
    'sar_ar_intermediate_imgs_but_last', 'ar_llamagen_cfg_idx_per_scale', 'ar_llamagen_cfg_img',
    'ar_alt_idx_per_scale', 'ar_alt_img'
])
def test_sampling_matches_official(parity_rows, name):
    """``autoregressive_infer_cfg`` with FlexVAR's ramp, LlamaGen guidance and a schedule
    beyond training, and SAR's per-scale images (rows of
    ``sar_mm.testing.check_flexvar_small``)."""
    row = parity_rows('flexvar_small')[name]
    assert row.passed, row


def test_scale_images_end_with_the_image(ref):
    var = ref['var']
    out = official_flexvar_sampling(ref, var['patch_nums'], return_scale_images=True)
    assert len(out.scale_images) == len(var['patch_nums'])
    assert torch.equal(out.scale_images[-1], out.image)
    assert out.logits_per_scale is None


def test_true_greedy_path_equals_top1_sampling(ref):
    var = ref['var']
    out = official_flexvar_sampling(ref, var['patch_nums'], greedy=True)
    assert_same_tokens(out.idx_per_scale, var['ar_idx_per_scale'])
    assert out.logits_per_scale is None and out.scale_images is None


@pytest.fixture(scope='module')
def tiny_pair():
    torch.manual_seed(0)
    backbone = FlexVARTransformer(depth=2, num_classes=10, vocab_size=64, cvae=8,
                                  pos_grid_size=8, drop_path_rate=0.0).eval()
    perturb_weights(backbone)
    tokenizer = FlexVQVAE(ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1, vocab_size=64,
                          embed_dim=8, usage_buffer_size=16)
    return backbone, tokenizer


@pytest.mark.parametrize('cfg', [0.0, 3.0])
def test_kv_cache_matches_teacher_forcing(tiny_pair, cfg):
    """Greedy KV-cached sampling == a block-causal pass over the sampled tokens."""
    backbone, tokenizer = tiny_pair
    labels = torch.tensor([1, 4, 7])
    patch_nums = [1, 2, 3, 5]
    sampling = SamplingConfig(patch_nums=patch_nums, cfg=cfg, cfg_schedule='var', greedy=True)
    out = autoregressive_generate(backbone, tokenizer, labels, sampling, return_logits=True)
    with torch.no_grad():
        x = tokenizer.idx_to_next_inputs(out.idx_per_scale, patch_nums)
        cond = backbone(labels, x, patch_nums)
        uncond = backbone(torch.full_like(labels, backbone.num_classes), x, patch_nums)
    start = 0
    for si, pn in enumerate(patch_nums):
        n = pn * pn
        t = cfg * si / (len(patch_nums) - 1)
        tf_logits = (1 + t) * cond[:, start:start + n] - t * uncond[:, start:start + n]
        torch.testing.assert_close(out.logits_per_scale[si], tf_logits, atol=1e-4, rtol=1e-4)
        assert torch.equal(out.idx_per_scale[si], greedy_from_logits(tf_logits))
        start += n


def test_off_list_scales_are_drawn_greedily(tiny_pair):
    backbone, tokenizer = tiny_pair
    labels = torch.tensor([2, 5])
    # 7 is not in FlexVAR's list and 6 > max_pn=5: both must be arg-max whatever the seed
    patch_nums = [1, 2, 6, 7]
    sampling = SamplingConfig(patch_nums=patch_nums, cfg=1.0, cfg_schedule='flexvar', top_k=0,
                              top_p=0.0, max_pn=5, sampled_scales=FLEXVAR_SAMPLED_SCALES)
    outs = [
        autoregressive_generate(backbone, tokenizer, labels, sampling,
                                generator=torch.Generator().manual_seed(seed), return_logits=True)
        for seed in range(3)
    ]
    for out in outs:
        for si in (2, 3):
            assert torch.equal(out.idx_per_scale[si], greedy_from_logits(out.logits_per_scale[si]))
    # sampled scales do depend on the seed (64 codes, unfiltered softmax)
    assert any(not torch.equal(outs[0].idx_per_scale[1], o.idx_per_scale[1]) for o in outs[1:])
