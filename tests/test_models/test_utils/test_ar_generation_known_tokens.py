"""The known-tokens hook of the sampling loop, for both tokenizer families."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.backbones import FlexVARTransformer, VARTransformer
from sar_mm.models.tokenizers import FlexVQVAE, MultiScaleVQVAE
from sar_mm.models.utils import KnownTokens, SamplingConfig, autoregressive_generate
from sar_mm.testing.tiny_components import perturb_weights

PATCH_NUMS = [1, 2, 3, 4]
LABELS = torch.tensor([1, 4, 7])


def perturbed(backbone):
    perturb_weights(backbone)
    return backbone.eval()


def build_pair(family):
    torch.manual_seed(0)
    if family == 'flexvar':
        backbone = FlexVARTransformer(depth=1, num_classes=10, vocab_size=64, cvae=8,
                                      pos_grid_size=4, drop_path_rate=0.0)
        tokenizer = FlexVQVAE(ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
                              vocab_size=64, embed_dim=8, usage_buffer_size=16)
    else:
        backbone = VARTransformer(depth=1, num_classes=10, vocab_size=64, cvae=8,
                                  patch_nums=PATCH_NUMS, drop_path_rate=0.0)
        tokenizer = MultiScaleVQVAE(ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 2),
                                    num_res_blocks=1, patch_nums=PATCH_NUMS)
    return perturbed(backbone), tokenizer


@pytest.fixture(scope='module', params=['flexvar', 'var'])
def pair(request):
    return build_pair(request.param)


@pytest.fixture(scope='module')
def var_pair():
    return build_pair('var')


def sample(pair, known=None, seed=0, **kwargs):
    backbone, tokenizer = pair
    settings = dict(cfg=2.0, top_k=16, top_p=0.9)
    settings.update(kwargs)
    return autoregressive_generate(backbone, tokenizer, LABELS,
                                   SamplingConfig(patch_nums=PATCH_NUMS, **settings),
                                   generator=torch.Generator().manual_seed(seed), known=known)


def input_tokens(pair):
    """Token maps of random images, the known tokens of the tests."""
    g = torch.Generator().manual_seed(1)
    images = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
    return pair[1].img_to_idx(images, PATCH_NUMS)


def masks_like(idx, value):
    return [torch.full_like(m, value, dtype=torch.bool) for m in idx]


def test_all_regenerated_is_ordinary_sampling_bit_for_bit(pair):
    plain = sample(pair)
    idx = input_tokens(pair)
    edited = sample(pair, KnownTokens(idx, masks_like(idx, True)))
    assert all(torch.equal(a, b) for a, b in zip(edited.idx_per_scale, plain.idx_per_scale))
    assert torch.equal(edited.image, plain.image)


def test_nothing_regenerated_is_the_reconstruction(pair):
    idx = input_tokens(pair)
    out = sample(pair, KnownTokens(idx, masks_like(idx, False)))
    assert all(torch.equal(a, b) for a, b in zip(out.idx_per_scale, idx))
    assert torch.equal(out.image, pair[1].decode_idx(idx, PATCH_NUMS)[0])


def test_kept_cells_are_known_and_the_next_inputs_use_the_merged_map(pair):
    """Greedy without guidance: every regenerated token is the arg-max of a teacher-forced
    pass over the merged maps, so each scale was predicted from the merged map before it."""
    backbone, tokenizer = pair
    idx = input_tokens(pair)
    g = torch.Generator().manual_seed(2)
    regen = [torch.rand(m.shape, generator=g) < 0.5 for m in idx]
    out = sample(pair, KnownTokens(idx, regen), cfg=0.0, greedy=True)
    for merged, known, r in zip(out.idx_per_scale, idx, regen):
        assert torch.equal(merged[~r], known[~r])
    with torch.no_grad():
        x = tokenizer.idx_to_next_inputs(out.idx_per_scale, PATCH_NUMS)
        tf_argmax = backbone(LABELS, x, PATCH_NUMS).argmax(-1)  # (B, L)
    regen_all = torch.cat(regen, dim=1)
    merged_all = torch.cat(out.idx_per_scale, dim=1)
    assert torch.equal(merged_all[regen_all], tf_argmax[regen_all])
    assert not torch.equal(merged_all, torch.cat(idx, dim=1))  # something was regenerated


def test_known_tokens_of_another_batch_are_refused(pair):
    idx = input_tokens(pair)
    known = KnownTokens([m[:2] for m in idx], [m[:2] for m in masks_like(idx, True)])
    with pytest.raises(ValueError, match=r'at scale 1 must be \(3, 1\)'):
        sample(pair, known)


def input_images():
    return torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1


def residual_known(pair, regenerate):
    return pair[1].known_tokens(input_images(), regenerate, PATCH_NUMS)


def test_residual_known_tokens_all_regenerated_is_ordinary_sampling(var_pair):
    idx = input_tokens(var_pair)
    edited = sample(var_pair, residual_known(var_pair, masks_like(idx, True)))
    plain = sample(var_pair)
    assert all(torch.equal(a, b) for a, b in zip(edited.idx_per_scale, plain.idx_per_scale))
    assert torch.equal(edited.image, plain.image)


def test_residual_known_tokens_nothing_regenerated_is_the_reconstruction(var_pair):
    idx = input_tokens(var_pair)
    out = sample(var_pair, residual_known(var_pair, masks_like(idx, False)))
    assert all(torch.equal(a, b) for a, b in zip(out.idx_per_scale, idx))
    assert torch.equal(out.image, var_pair[1].decode_idx(idx, PATCH_NUMS)[0])


def test_residual_kept_tokens_encode_what_the_merged_scales_leave(var_pair):
    """Kept cells of scale k hold the nearest codes of area(f - f_hat_{k-1} -> pn_k),
    f_hat of the merged maps before k: VAR's residual encoding of the input continued
    from the tokens actually used."""
    tokenizer = var_pair[1]
    idx = input_tokens(var_pair)
    g = torch.Generator().manual_seed(2)
    regen = [torch.rand(m.shape, generator=g) < 0.5 for m in idx]
    out = sample(var_pair, residual_known(var_pair, regen))
    f = tokenizer.encode_latent(input_images())
    codebook = tokenizer.quantize.embedding.weight  # (V, C)
    differs = False
    for si, (merged, r) in enumerate(zip(out.idx_per_scale, regen)):
        f_hat = (tokenizer.quantize.idx_to_fhat(out.idx_per_scale[:si], PATCH_NUMS)[-1]
                 if si else torch.zeros_like(f))
        z = F.adaptive_avg_pool2d(f - f_hat, PATCH_NUMS[si])  # area resize, (B, C, pn, pn)
        z = z.flatten(2).transpose(1, 2)  # (B, pn * pn, C)
        nearest = torch.cdist(z, codebook[None].expand(3, -1, -1)).argmin(-1)  # (B, pn*pn)
        assert torch.equal(merged[~r], nearest[~r]), si
        differs |= not torch.equal(merged[~r], idx[si][~r])
    assert differs  # the input's up-front tokens are not what is kept
