"""FlexVQVAE: parity with the official FlexVAE (flexvae_small fixture) and API checks."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.tokenizers import FlexVQVAE
from sar_mm.models.tokenizers.l2norm_quantizer import nearest_code_l2norm
from sar_mm.registry import TOKENIZERS


@pytest.fixture(scope='module')
def ref(flexvar_small):
    return dict(vae=flexvar_small['vae'], tok=flexvar_small['tokenizer'])


@pytest.mark.parametrize('name', [
    'state_dict', 'enc_h', 'latent', 'latent_area_per_scale', 'idx_per_scale', 'gt_idx_BL',
    'quant_per_scale', 'multi_scale_encode_quant', 'x_BLCv_wo_first_l', 'decoded_per_scale'
])
def test_matches_official_flexvae(parity_rows, name):
    """Every output of the ``flexvae_small`` fixture (``sar_mm.testing.check_flexvae_small``)."""
    row = parity_rows('flexvae_small')[name]
    assert row.passed, row


def test_img_to_idx_is_the_pixel_path(ref):
    vae = ref['vae']
    with torch.no_grad():
        from_img = ref['tok'].img_to_idx(vae['img'], vae['patch_nums'])
    assert all(torch.equal(a, b) for a, b in zip(from_img, vae['idx_per_scale'], strict=True))


def test_teacher_forcing_inputs_ignore_the_last_map(ref):
    vae, tok = ref['vae'], ref['tok']
    x = tok.idx_to_next_inputs(vae['idx_per_scale'], vae['patch_nums'])
    x_wo_last = tok.idx_to_next_inputs(vae['idx_per_scale'][:-1], vae['patch_nums'])
    assert torch.equal(x, x_wo_last)


def test_ar_next_input_equals_teacher_forcing_blocks(ref):
    vae, tok = ref['vae'], ref['tok']
    pns, idx = vae['patch_nums'], vae['idx_per_scale']
    x = tok.idx_to_next_inputs(idx, pns)
    start = 0
    for si in range(len(pns) - 1):
        block, state = tok.ar_next_input(idx[si], si, pns, None)
        n = pns[si + 1]**2
        assert state is None
        assert torch.equal(block, x[:, start:start + n])
        start += n


def test_decode_last_scale_equals_decode_all(ref):
    vae, tok = ref['vae'], ref['tok']
    with torch.no_grad():
        images = tok.decode_idx(vae['idx_per_scale'], vae['patch_nums'], all_scales=True)
        last = tok.decode_idx(vae['idx_per_scale'], vae['patch_nums'])
    assert len(images) == len(vae['patch_nums']) and len(last) == 1
    assert torch.equal(last[0], images[-1])
    with pytest.raises(ValueError, match='token maps'):
        tok.decode_idx(vae['idx_per_scale'][:-1], vae['patch_nums'])


def test_schedule_larger_than_latent_is_refused(ref):
    latent = ref['vae']['latent']
    side = latent.shape[-1]
    with pytest.raises(ValueError, match='exceed the latent side'):
        ref['tok'].latent_to_idx(latent, [1, side + 1])
    # any schedule up to the latent side works, e.g. skipping scales
    idx = ref['tok'].latent_to_idx(latent, [1, side])
    assert [i.shape[1] for i in idx] == [1, side * side]


def test_nearest_code_is_cosine_argmax():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 8, generator=g)
    codebook = torch.randn(30, 8, generator=g) * torch.rand(30, 1, generator=g)
    expected = (F.normalize(z, dim=-1) @ F.normalize(codebook, dim=-1).t()).argmax(dim=1)
    assert torch.equal(nearest_code_l2norm(z, codebook), expected)
    # scaling a latent vector does not change its code
    assert torch.equal(nearest_code_l2norm(3.0 * z, codebook), expected)


def test_build_freeze_and_shapes():
    tok = TOKENIZERS.build(
        dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
             vocab_size=64, embed_dim=8, usage_buffer_size=16))
    assert isinstance(tok, FlexVQVAE) and tok.downsample == 2
    assert not tok.training and not any(p.requires_grad for p in tok.parameters())
    tok.train()
    assert not tok.training  # frozen tokenizers stay in eval mode
    assert 'quantize.codebook_used' in tok.state_dict()
    img = torch.rand(2, 3, 8, 8) * 2 - 1
    idx = tok.img_to_idx(img, [1, 2, 4])
    assert [tuple(i.shape) for i in idx] == [(2, 1), (2, 4), (2, 16)]
    assert all(int(i.max()) < 64 for i in idx)
    assert tuple(tok.idx_to_next_inputs(idx, [1, 2, 4]).shape) == (2, 4 + 16, 8)
    # the normalised codebook is what the code maps contain
    code = tok.idx_to_code_map(idx[1], 2)
    assert torch.allclose(code.norm(dim=1), torch.ones(2, 2, 2))
    images = tok.decode_idx(idx, [1, 2, 4], all_scales=True)
    assert [tuple(im.shape) for im in images] == [(2, 3, 2, 2), (2, 3, 4, 4), (2, 3, 8, 8)]
    with pytest.raises(TypeError):
        TOKENIZERS.build(dict(type='FlexVQVAE', codebook_size=8912))
