"""VARTransformer: parity with the official VAR (fixture ``var_small``) and the contract."""
import math

import pytest
import torch

from sar_mm.models.backbones import VARTransformer
from sar_mm.models.backbones.layers import block_causal_bias
from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.registry import BACKBONES


@pytest.fixture(scope='module')
def ref(reference_dir):
    return torch.load(reference_dir / 'var_small.pt', map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def var_model(ref):
    """The fixture's VAR, loaded through the converter's rule table, in eval mode."""
    ckpt = convert_var_checkpoints(ref['var_state_dict'], ref['vqvae_state_dict'],
                                   patch_nums=ref['patch_nums'])
    model = BACKBONES.build(ckpt['meta']['backbone'])
    prefix = 'backbone.'
    model.load_state_dict({k[len(prefix):]: v for k, v in ckpt['state_dict'].items()
                           if k.startswith(prefix)}, strict=True)
    return model.eval()


def _tiny(**kwargs) -> VARTransformer:
    torch.manual_seed(0)
    cfg = dict(depth=1, num_classes=10, vocab_size=32, cvae=4, patch_nums=(1, 2, 3))
    cfg.update(kwargs)
    return VARTransformer(**cfg)


def test_block_causal_bias_hand_case():
    bias = block_causal_bias([1, 2])[0, 0]
    inf = -math.inf
    expected = torch.tensor([[0., inf, inf], [0., 0., 0.], [0., 0., 0.]])
    assert torch.equal(bias, expected)


def test_buffers_match_official_and_are_not_persistent(var_model, ref):
    assert torch.equal(var_model.lvl_1L, ref['var_state_dict']['lvl_1L'])
    assert torch.equal(var_model.attn_bias_for_masking,
                       ref['var_state_dict']['attn_bias_for_masking'])
    keys = var_model.state_dict().keys()
    assert 'lvl_1L' not in keys and 'attn_bias_for_masking' not in keys


@pytest.mark.parametrize('name', ['var_state_dict', 'logits_tf'])
def test_teacher_forcing_parity(parity_rows, name):
    """Weights and ``VAR.forward`` logits of ``var_small`` (``sar_mm.testing.check_var_small``)."""
    row = parity_rows('var_small')[name]
    assert row.passed, row


def test_prefix_schedule_and_errors(var_model, ref):
    pns = ref['patch_nums']
    prefix = pns[:-1]
    L = sum(pn ** 2 for pn in prefix)
    with torch.no_grad():
        full = var_model(ref['label_B'], ref['x_BLCv_wo_first_l'], pns)
        part = var_model(ref['label_B'], ref['x_BLCv_wo_first_l'][:, :L - 1], prefix)
    assert full.dtype == torch.float32
    torch.testing.assert_close(part, full[:, :L], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='prefix'):
        var_model(ref['label_B'], ref['x_BLCv_wo_first_l'], [1, 2, 4, 3])
    with pytest.raises(ValueError, match='input tokens'):
        var_model(ref['label_B'], ref['x_BLCv_wo_first_l'][:, :-1], pns)


def test_derived_sizes_and_init():
    depth = 2
    torch.manual_seed(0)
    model = VARTransformer(depth=depth, num_classes=100, vocab_size=4096, cvae=8,
                           patch_nums=(1, 2, 3))
    C = 64 * depth
    assert (model.embed_dim, model.num_heads, model.blocks[0].attn.head_dim) == (C, depth, 64)
    assert model.blocks[-1].drop_path.drop_prob == pytest.approx(0.1 * depth / 24)
    assert model.cond_drop_rate == 0.1
    std = math.sqrt(1 / (3 * C))  # official init, fixtures README quirk 6
    torch.testing.assert_close(model.class_emb.weight.std().item(), std, rtol=0.05, atol=0)
    torch.testing.assert_close(model.head.weight.std().item(), 0.02 * std, rtol=0.05, atol=0)
    ada = model.blocks[0].ada_lin[1].weight
    torch.testing.assert_close(ada[:2 * C].std().item(), 1e-5 * std, rtol=0.05, atol=0)
    torch.testing.assert_close(ada[2 * C:].std().item(), 0.5 * std, rtol=0.05, atol=0)
    fc2 = model.blocks[0].ffn.fc2.weight
    torch.testing.assert_close(fc2.std().item(), std / math.sqrt(2 * depth), rtol=0.05, atol=0)
    assert model.head.bias.abs().max() == 0 and model.blocks[0].ada_lin[1].bias.abs().max() == 0


def test_label_dropout_only_in_train_mode():
    model = _tiny(cond_drop_rate=1.0)
    x = torch.randn(2, 13, 4)
    labels = torch.tensor([3, 7])
    uncond = torch.full_like(labels, 10)
    model.eval()
    with torch.no_grad():
        cond_logits = model(labels, x, (1, 2, 3))
        uncond_logits = model(uncond, x, (1, 2, 3))
        model.train()  # drop path is 0 for depth 1, so train() only drops labels
        train_logits = model(labels, x, (1, 2, 3))
    assert not torch.allclose(cond_logits, uncond_logits)
    torch.testing.assert_close(train_logits, uncond_logits)


def test_forward_student_is_markovian():
    """Class token (no pos_start, level 0, position 0) + scale si with its level/positions.

    Reference: a two-scale model ``(1, pn_si)`` whose tables are the class-token row
    and scale si's rows of the big model, with ``pos_start = 0``; its teacher-forced
    logits (without the start row) are what the student pass must give.
    """
    model = _tiny(patch_nums=(1, 2, 3)).eval()
    si, pn = 2, 3
    labels = torch.tensor([1, 4])
    x = torch.randn(2, pn * pn, 4)
    small = _tiny(patch_nums=(1, pn)).eval()
    state = model.state_dict()
    state['pos_start'] = torch.zeros_like(state['pos_start'])
    state['pos_1LC'] = torch.cat((model.pos_1LC[:, :1], model.pos_1LC[:, 5:14]), dim=1)
    state['lvl_embed.weight'] = model.lvl_embed.weight[[0, si]]
    small.load_state_dict(state, strict=True)
    with torch.no_grad():
        got = model.forward_student(labels, x, (1, 2, 3), si)
        want = small(labels, x, (1, pn))[:, 1:]
    assert got.shape == (2, pn * pn, 32)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='scale_index'):
        model.forward_student(labels, x[:, :1], (1, 2, 3), 0)
    with pytest.raises(ValueError, match='tokens'):
        model.forward_student(labels, x, (1, 2, 3), 1)
