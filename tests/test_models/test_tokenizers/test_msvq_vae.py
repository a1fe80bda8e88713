"""MultiScaleVQVAE: parity with the official VAR VQVAE (fixture ``var_small``) and contract."""
import json

import pytest
import torch

from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.models.tokenizers import MultiScaleVQVAE
from sar_mm.models.tokenizers.residual_quantizer import (nearest_code_sqdist,
                                                         phi_index_per_scale)
from sar_mm.registry import TOKENIZERS


@pytest.fixture(scope='module')
def ref(reference_dir):
    data = torch.load(reference_dir / 'var_small.pt', map_location='cpu', weights_only=True)
    data['sidecar'] = json.loads((reference_dir / 'var_small.json').read_text())
    return data


@pytest.fixture(scope='module')
def tokenizer(ref):
    """The fixture's VQVAE, loaded through the converter's rule table."""
    ckpt = convert_var_checkpoints(ref['var_state_dict'], ref['vqvae_state_dict'],
                                   patch_nums=ref['patch_nums'])
    tok = TOKENIZERS.build(ckpt['meta']['tokenizer'])
    prefix = 'tokenizer.'
    tok.load_state_dict({k[len(prefix):]: v for k, v in ckpt['state_dict'].items()
                         if k.startswith(prefix)}, strict=True)
    return tok


@pytest.mark.parametrize('num_scales,expected', [
    (10, [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]),  # fixtures README quirk 9 (float64 tie at si=2)
    (5, [0, 1, 2, 2, 3]),
    (4, [0, 1, 2, 3]),
])
def test_phi_index_per_scale_release_ticks(num_scales, expected):
    assert phi_index_per_scale(num_scales, 4) == expected


def test_phi_index_per_scale_other_counts_and_errors(ref):
    assert phi_index_per_scale(len(ref['patch_nums']), 4) == ref['sidecar']['phi_index_per_scale']
    # K = 2: ticks (1/4, 3/4); 3 scales at 0, 0.5 (tie -> first), 1.
    assert phi_index_per_scale(3, 2) == [0, 0, 1]
    with pytest.raises(ValueError, match='at least 2 scales'):
        phi_index_per_scale(1, 4)


def test_nearest_code_sqdist_hand_case():
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.9, 0.1], [0.1, 1.2], [-0.2, 0.1]])
    assert nearest_code_sqdist(z, codebook).tolist() == [1, 2, 0]


@pytest.mark.parametrize('name', [
    'vqvae_state_dict', 'phi_index_per_scale', 'f', 'idx_Bl', 'fhat_per_scale', 'rec_last',
    'rec_all_scales_but_last', 'x_BLCv_wo_first_l'
])
def test_matches_official_vqvae(parity_rows, name):
    """Tokenizer outputs of the ``var_small`` fixture (``sar_mm.testing.check_var_small``)."""
    row = parity_rows('var_small')[name]
    assert row.passed, row


def test_token_maps_are_int64(tokenizer, ref):
    idx = tokenizer.img_to_idx(ref['img'], ref['patch_nums'])
    assert [i.dtype for i in idx] == [torch.int64] * len(ref['patch_nums'])


def test_teacher_forcing_inputs_ignore_the_last_map(tokenizer, ref):
    x = tokenizer.idx_to_next_inputs(ref['idx_Bl'], ref['patch_nums'])
    x_wo_last = tokenizer.idx_to_next_inputs(ref['idx_Bl'][:-1], ref['patch_nums'])
    assert torch.equal(x, x_wo_last)


def test_ar_next_input_matches_teacher_forcing(tokenizer, ref):
    pns = ref['patch_nums']
    blocks, state = [], None
    for si in range(len(pns) - 1):
        block, state = tokenizer.ar_next_input(ref['idx_Bl'][si], si, pns, state)
        assert block.shape == (2, pns[si + 1] ** 2, tokenizer.embed_dim)
        torch.testing.assert_close(state, ref['fhat_per_scale'][si], atol=1e-5, rtol=1e-5)
        blocks.append(block)
    torch.testing.assert_close(torch.cat(blocks, 1), ref['x_BLCv_wo_first_l'], atol=1e-5,
                               rtol=1e-5)
    with pytest.raises(ValueError, match='si <'):
        tokenizer.ar_next_input(ref['idx_Bl'][-1], len(pns) - 1, pns, state)


def test_decode_last_scale_equals_decode_all(tokenizer, ref):
    pns = ref['patch_nums']
    images = tokenizer.decode_idx(ref['idx_Bl'], pns, all_scales=True)
    assert len(images) == len(pns)
    (last, ) = tokenizer.decode_idx(ref['idx_Bl'], pns)
    assert torch.equal(last, images[-1])
    assert last.min() >= -1 and last.max() <= 1


def test_schedule_errors(tokenizer, ref):
    pns = ref['patch_nums']
    with pytest.raises(ValueError, match='latent side'):
        tokenizer.idx_to_next_inputs(ref['idx_Bl'][:2], pns[:2])
    with pytest.raises(ValueError, match='strictly increasing'):
        tokenizer.decode_idx(ref['idx_Bl'], [1, 3, 2, 4])
    with pytest.raises(ValueError, match='one token map per scale'):
        tokenizer.decode_idx(ref['idx_Bl'][:-1], pns)
    with pytest.raises(ValueError, match='serves'):
        tokenizer.img_to_idx(ref['img'][..., :32, :32], pns)


def test_frozen_and_interface():
    tok = MultiScaleVQVAE(ch=32, z_channels=8, vocab_size=16, patch_nums=(1, 2))
    assert (tok.vocab_size, tok.embed_dim, tok.downsample) == (16, 8, 16)
    assert not any(p.requires_grad for p in tok.parameters())
    tok.train()
    assert not tok.training and not tok.encoder.training
    assert 'quantize.ema_vocab_hit_SV' not in tok.state_dict()
    with pytest.raises(ValueError, match='partially shared'):
        MultiScaleVQVAE(ch=32, share_quant_resi=1)
