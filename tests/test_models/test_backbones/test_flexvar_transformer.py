"""FlexVARTransformer: official parity (flexvar_small fixture) and hand-checked properties."""
import math

import pytest
import torch

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.backbones.flexvar_transformer import sincos_position_grid
from sar_mm.models.backbones.layers import block_causal_bias
from sar_mm.registry import BACKBONES


def tiny(**kwargs) -> FlexVARTransformer:
    cfg = dict(depth=2, num_classes=10, vocab_size=64, cvae=8, pos_grid_size=8,
               drop_path_rate=0.0)
    cfg.update(kwargs)
    return FlexVARTransformer(**cfg).eval()


# --- parity with the official FlexVAR / SAR forward passes ------------------------------------
@pytest.mark.parametrize('name', ['state_dict', 'logits_tf', 'logits_tf_alt', 'logits_sf'])
def test_forward_passes_match_official(parity_rows, name):
    """``FlexVAR.forward`` on two schedules and SAR's student-forcing pass.

    Rows of ``sar_mm.testing.check_flexvar_small`` (fixture ``flexvar_small``).
    """
    row = parity_rows('flexvar_small')[name]
    assert row.passed, row


# --- masks --------------------------------------------------------------------------------------
def test_block_causal_mask_pattern():
    bias = block_causal_bias([1, 4])  # scales 1x1 and 2x2: L = 1 + 4
    assert tuple(bias.shape) == (1, 1, 5, 5)
    allowed = bias[0, 0] == 0
    expected = torch.tensor([[1, 0, 0, 0, 0]] + [[1, 1, 1, 1, 1]] * 4, dtype=torch.bool)
    assert torch.equal(allowed, expected)
    assert torch.isinf(bias[0, 0][~allowed]).all() and (bias[0, 0][~allowed] < 0).all()
    bias = block_causal_bias([1, 4, 9])  # scale 1 sees 0-1, not 2
    assert (bias[0, 0, 1:5, 5:] == -math.inf).all() and (bias[0, 0, 5:, :] == 0).all()


def test_masks_are_cached_per_schedule_and_never_persisted():
    model = tiny(mask_cache_size=2)
    a = model.attn_bias([1, 2, 3], torch.device('cpu'))
    assert model.attn_bias((1, 2, 3), torch.device('cpu')) is a
    model.attn_bias([1, 2], torch.device('cpu'))
    model.attn_bias([1, 4], torch.device('cpu'))  # evicts [1, 2, 3] (least recently used)
    assert model.attn_bias([1, 2, 3], torch.device('cpu')) is not a
    assert not any('attn_bias' in k for k in model.state_dict())


def test_schedule_checks():
    model = tiny()
    x = torch.zeros(1, 4 + 81, 8)
    with pytest.raises(ValueError, match='pos_grid_size=8'):
        model(torch.tensor([1]), x, [1, 2, 9])
    with pytest.raises(ValueError, match='1x1 scale'):
        model(torch.tensor([1]), torch.zeros(1, 4, 8), [2, 2])
    with pytest.raises(ValueError, match='needs 4'):
        model(torch.tensor([1]), torch.zeros(1, 5, 8), [1, 2])
    with pytest.raises(ValueError, match='needs 9'):
        model.forward_student(torch.tensor([1]), torch.zeros(1, 4, 8), [1, 2, 3], 2)


# --- label dropout ------------------------------------------------------------------------------
def test_label_dropout_only_in_train_mode():
    torch.manual_seed(0)
    model = tiny(cond_drop_rate=1.0)
    labels = torch.tensor([3, 7])
    x = torch.randn(2, 4 + 9, 8)
    with torch.no_grad():
        eval_logits = model(labels, x, [1, 2, 3])
        model.cond_drop_rate = 0.0
        reference = model(labels, x, [1, 2, 3])
        uncond = model(torch.full_like(labels, model.num_classes), x, [1, 2, 3])
        model.cond_drop_rate = 1.0
        model.train()
        train_logits = model(labels, x, [1, 2, 3])
    assert torch.equal(eval_logits, reference)
    assert torch.equal(train_logits, uncond) and not torch.equal(train_logits, reference)


# --- sizes and init -----------------------------------------------------------------------------
def expected_num_params(depth, num_classes, vocab, cvae, grid, mlp_ratio=4.0):
    C = 64 * depth
    hidden = round(C * mlp_ratio)
    per_block = (depth + 2 * C + 3 * C * C + (C * C + C) + (hidden * C + hidden)
                 + (C * hidden + C) + (6 * C * C + 6 * C))
    return ((cvae * C + C) + (num_classes + 1) * C + C + C * grid * grid + depth * per_block
            + (2 * C * C + 2 * C) + (C * vocab + vocab))


@pytest.mark.parametrize('depth', [1, 3])
def test_parameter_count_formula_and_derived_sizes(depth):
    model = tiny(depth=depth)
    assert model.embed_dim == 64 * depth and model.num_heads == depth
    assert model.blocks[0].attn.head_dim == 64
    assert sum(p.numel() for p in model.parameters()) == expected_num_params(depth, 10, 64, 8, 8)


def test_drop_path_default_and_registry_build():
    model = BACKBONES.build(dict(type='FlexVARTransformer', depth=3, vocab_size=64, cvae=8,
                                 num_classes=10, pos_grid_size=8))
    assert model.drop_path_rate == pytest.approx(0.1 * 3 / 24)
    assert model.blocks[-1].drop_path.drop_prob == pytest.approx(0.1 * 3 / 24)
    assert model.no_weight_decay_names() == ('pos_start', 'pos_1LC')
    with pytest.raises(TypeError):
        BACKBONES.build(dict(type='FlexVARTransformer', depth=2, embed_dim=128))


def test_position_grid_is_the_official_sincos_table():
    grid, dim = 5, 8
    table = sincos_position_grid(grid, dim)
    div = [math.exp(k * -(math.log(10000.0) / dim)) for k in range(0, dim, 2)]
    for i in range(grid):
        for j in range(grid):
            for c in range(dim // 2):
                assert table[0, 2 * c, i, j].item() == pytest.approx(math.sin(i * div[c]), abs=1e-6)
                assert table[0, 2 * c + 1, i, j].item() == pytest.approx(math.cos(j * div[c]),
                                                                         abs=1e-6)
    model = tiny(pos_grid_size=grid)
    assert torch.equal(model.pos_1LC.data, sincos_position_grid(grid, model.embed_dim))
    # the 1x1 position of the start token is the mean of the grid
    torch.testing.assert_close(model.scale_positions((1, ), 0)[0, 0],
                               model.pos_1LC.mean(dim=(0, 2, 3)))


@pytest.mark.parametrize('depth,alng', [(4, 1e-3), (24, 1e-4)])
def test_official_init(depth, alng):
    torch.manual_seed(0)
    if depth == 24:  # only the default gamma scale is checked at full depth: build on meta
        with torch.device('meta'):
            assert FlexVARTransformer(depth=depth).init_adaln_gamma == alng
        return
    model = tiny(depth=depth, vocab_size=512)
    C = model.embed_dim
    std = math.sqrt(1 / (3 * C))
    assert model.init_adaln_gamma == alng
    blk = model.blocks[0]
    ada = blk.ada_lin[1].weight
    assert ada[:2 * C].std().item() == pytest.approx(std * alng, rel=0.1)
    assert ada[2 * C:].std().item() == pytest.approx(std * 0.5, rel=0.1)
    assert blk.attn.proj.weight.std().item() == pytest.approx(std / math.sqrt(2 * depth), rel=0.1)
    assert blk.ffn.fc2.weight.std().item() == pytest.approx(std / math.sqrt(2 * depth), rel=0.1)
    assert blk.attn.mat_qkv.weight.std().item() == pytest.approx(std, rel=0.1)
    assert model.head.weight.std().item() == pytest.approx(std * 0.02, rel=0.1)
    assert model.head_nm.ada_lin[1].weight.std().item() == pytest.approx(std * 0.5, rel=0.1)
    assert model.class_emb.weight.std().item() == pytest.approx(std, rel=0.1)
    for bias in (blk.ada_lin[1].bias, blk.attn.proj.bias, model.head.bias, blk.attn.q_bias):
        assert torch.count_nonzero(bias) == 0
    torch.testing.assert_close(blk.attn.scale_mul_1H11.data, torch.full((1, depth, 1, 1),
                                                                        math.log(4.0)))
