"""Analytic FLOP counts: hand-computed cases and torch's FlopCounterMode on tiny models."""
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from sar_mm.benchmarking import (TransformerDims, VQ16Dims, conv2d_flops, sampling_flops,
                                 sar_step_flops, student_pass_flops, teacher_forcing_flops,
                                 transformer_dims, transformer_pass_flops, vq16_decode_flops,
                                 vq16_dims, vq16_encode_flops)
from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.tokenizers import FlexVQVAE

TINY = TransformerDims(embed_dim=2, depth=1, ffn_dim=3, vocab_size=5, cvae=1, cond_dim=2)


def counted(fn) -> int:
    """FLOPs torch counts for ``fn()`` with the math attention kernel (plain matmuls)."""
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def test_one_pass_by_hand():
    # n=2 tokens, m=2 keys, 2 logits, 1 input; C=2, F=3, V=5, Cvae=1, D=2
    ada = 2 * 2 * 12           # 2 D 6C
    qkv = 2 * 2 * 2 * 6        # 2 n C 3C
    attn = 4 * 2 * 2 * 2       # 4 n m C
    proj = 2 * 2 * 2 * 2       # 2 n C C
    ffn = 4 * 2 * 2 * 3        # 4 n C F
    head = 2 * 2 * 4 + 2 * 2 * 2 * 5  # 2 D 2C + 2 n C V
    embed = 2 * 1 * 1 * 2      # 2 n_in Cvae C
    assert transformer_pass_flops(TINY, 2, 2, 2, 1) == ada + qkv + attn + proj + ffn + head + embed
    # two blocks cost the block part twice, head and embedding once
    deeper = TransformerDims(2, 2, 3, 5, 1, 2)
    assert (transformer_pass_flops(deeper, 2, 2, 2, 1)
            == 2 * (ada + qkv + attn + proj + ffn) + head + embed)


def test_schedule_level_counts_compose_the_passes():
    pns = (1, 2, 3)  # L = 14
    assert teacher_forcing_flops(TINY, pns) == transformer_pass_flops(TINY, 14, 14, 14, 13)
    assert student_pass_flops(TINY, 3) == transformer_pass_flops(TINY, 10, 10, 9, 9)
    tf, sf = teacher_forcing_flops(TINY, pns), student_pass_flops(TINY, 3)
    assert sar_step_flops(TINY, pns, (2, ), 'markov', uncond_pass=True) == 3 * (tf + sf) + tf
    assert sar_step_flops(TINY, pns, (2, ), 'markov', uncond_pass=False) == 3 * (tf + sf)
    assert (sar_step_flops(TINY, pns, (1, 2), 'markov', False)
            == 3 * (tf + sf + student_pass_flops(TINY, 2)))
    assert sar_step_flops(TINY, pns, (1, 2), 'full', False) == 6 * tf
    with pytest.raises(ValueError):
        sar_step_flops(TINY, pns, (2, ), 'nope', False)
    # cached steps: 1 token over 1 key, then 4 over 5, then 9 over 14; two rows with CFG
    steps = (transformer_pass_flops(TINY, 1, 1, 1, 0) + transformer_pass_flops(TINY, 4, 5, 4, 4)
             + transformer_pass_flops(TINY, 9, 14, 9, 9))
    steps -= 2 * (2 * 2 * 6 * 2)  # steps 2 and 3 reuse the block's ada_lin(cond): 2 D 6C each
    assert sampling_flops(TINY, pns, cfg=False) == steps
    assert sampling_flops(TINY, pns) == 2 * steps
    assert conv2d_flops(3, 4, 3, 5) == 2 * 3 * 4 * 9 * 25


@pytest.fixture(scope='module')
def tiny_backbone():
    torch.manual_seed(0)
    return FlexVARTransformer(depth=2, num_classes=4, vocab_size=16, cvae=4,
                              pos_grid_size=4).eval()


def test_transformer_counts_match_torch_flop_counter(tiny_backbone):
    bb, pns, B = tiny_backbone, (1, 2, 4), 3
    dims = transformer_dims(bb)
    assert dims == TransformerDims(embed_dim=128, depth=2, ffn_dim=512, vocab_size=16, cvae=4,
                                   cond_dim=128)
    labels = torch.arange(B)
    x = torch.randn(B, 20, 4)
    assert counted(lambda: bb(labels, x, pns)) == B * teacher_forcing_flops(dims, pns)
    x_student = torch.randn(B, 16, 4)
    assert (counted(lambda: bb.forward_student(labels, x_student, pns, 2))
            == B * student_pass_flops(dims, 4))

    def sample_steps():
        labels_2B = torch.cat((labels, torch.full_like(labels, 4)))
        with bb.kv_cache(labels_2B, pns) as cache:
            x_BlC = cache.start()
            for si, pn in enumerate(pns):
                cache.step(x_BlC)
                if si < len(pns) - 1:
                    nxt = pns[si + 1]
                    x_BlC = cache.embed(torch.randn(2 * B, nxt * nxt, 4), si + 1)

    with torch.no_grad():
        assert counted(sample_steps) == B * sampling_flops(dims, pns)


def test_vq16_counts_match_torch_flop_counter():
    torch.manual_seed(0)
    vae = FlexVQVAE(ch=32, z_channels=16, ch_mult=(1, 2, 2), num_res_blocks=1, vocab_size=24,
                    embed_dim=4, usage_buffer_size=8)
    dims = vq16_dims(vae)
    assert dims == VQ16Dims(ch=32, ch_mult=(1, 2, 2), num_res_blocks=1, z_channels=16,
                            embed_dim=4, vocab_size=24, in_channels=3)
    pns, B = (1, 2, 4), 2
    img = torch.rand(B, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert counted(lambda: vae.img_to_idx(img, pns)) == B * vq16_encode_flops(dims, 16, pns)
        idx = vae.img_to_idx(img, pns)
        assert counted(lambda: vae.decode_idx(idx, pns)) == B * vq16_decode_flops(dims, 4)


def test_vq16_dims_of_another_tokenizer_is_none():
    assert vq16_dims(torch.nn.Linear(2, 2)) is None
